// `nest N`: N nested PID namespaces built as multi_pidns builds them. Level k is PID 1
// of its own namespace, mounts its procfs, reports to pidsh and clones level k-1; the
// innermost execs. Reports travel over a SOCK_SEQPACKET socket: a message per level
// with the level's pidfd, namespace and procfs mount (SCM_RIGHTS), so pidsh holds
// every level by pidfd and every mount by handle. Layer 6: the outermost level is made
// by launch.c; the levels below by this file.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct nest_level_args {
    const pidsh_nest_request *req;
    int sock;
    int other_end;      // pidsh's end: closed by the outermost level
    int level;
} nest_level_args;

// A ready level sends its pidfd (below the outermost: pidsh has the outermost's from
// the clone), its namespace (opened here, before a quick innermost program can exit
// and take the namespace with it), its procfs mount, and pidsh's end of the control
// channel of the init it becomes.
static void send_ready(int sock, pidsh_report *rep, int outermost, int mount_fd, int control) {
    int fds[PIDSH_MAX_PASSED_FDS], count = 0;
    int self = outermost ? -1 : (int)syscall(SYS_pidfd_open, getpid(), 0);
    int nsfd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    int kinds[4] = { PIDSH_FD_PIDFD, PIDSH_FD_NAMESPACE, PIDSH_FD_MOUNT, PIDSH_FD_CONTROL };
    int have[4] = { self, nsfd, mount_fd, control };
    for (int i = 0; i < 4; i++) {
        rep->fd_kinds[i] = PIDSH_FD_NONE;
        if (have[i] >= 0) { rep->fd_kinds[count] = kinds[i]; fds[count++] = have[i]; }
    }
    rep->kind = PIDSH_REPORT_READY;
    pidsh_report_send(sock, rep, fds, count);
    if (self >= 0) close(self);
    if (nsfd >= 0) close(nsfd);
    if (mount_fd >= 0) close(mount_fd);
    if (control >= 0) close(control);
    rep->kind = PIDSH_REPORT_CALLS;
}

static void close_dirfds(const pidsh_nest_request *req) {
    if (!req->proc_dirfds) return;
    for (int i = 0; i < req->levels; i++) close(req->proc_dirfds[i]);
}

__attribute__((noreturn)) static void nest_level(const pidsh_nest_request *req, int sock, int level);

static int nest_level_entry(void *p) {
    const nest_level_args *a = p;
    if (a->other_end >= 0) close(a->other_end);
    nest_level(a->req, a->sock, a->level);
}

// Clones the next level inward: PID 1 of a new namespace, running nest_level(level).
// Every level below the outermost shares the outermost's address space (CLONE_VM; not
// pidsh's: the outermost is a plain fork of pidsh), each on a stack of its own mapped
// here and never unmapped (it goes with the last level). A level only runs raw calls
// and the init loop on that stack, and the innermost's exec gives it an address space
// of its own. Forking instead would copy the whole Swift process at every level, with
// anon_vma chains one link longer per generation: most of the cost of `nest 32`.
// Signals are blocked (the caller's mask), so nothing runs before the reset.
static pid_t clone_next_level(const pidsh_nest_request *req, int sock, int level, pidsh_report *rep) {
    enum { LEVEL_STACK = 64 * 1024 };
    char *stack = mmap(NULL, LEVEL_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    // The arguments live at the top of the child's own stack: this level's frame is
    // reused as soon as it moves on to its init loop.
    nest_level_args *a = (nest_level_args *)(stack + LEVEL_STACK - 64);
    a->req = req;
    a->sock = sock;
    a->other_end = -1;
    a->level = level;
    uint64_t flags = CLONE_VM | CLONE_NEWPID | CLONE_PIDFD | SIGCHLD;
    int pidfd = -1;
    // Legacy clone knows CLONE_PIDFD (since 5.2): the pidfd is stored at parent_tid.
    pid_t pid = clone(nest_level_entry, (char *)a, (int)flags, a, &pidfd, NULL, NULL);
    int e = errno;
    pidsh_call_record r = pidsh_record(PIDSH_CALL_CLONE, PIDSH_ACTOR_LEVEL);
    r.level = level + 1;
    r.flags = flags;
    pidsh_record_result(&r, pid, e);
    pidsh_report_add(rep, &r);
    if (pid < 0) munmap(stack, LEVEL_STACK);
    else close(pidfd);
    errno = e;
    return pid;
}

// The innermost level: runs the program (or the init loop). Never returns.
__attribute__((noreturn)) static void innermost(const pidsh_nest_request *req, int sock, pidsh_report *rep, int control) {
    if (req->path == NULL) {
        // Named before the socket closes: pidsh returns on the last end-of-file.
        prctl(PR_SET_NAME, "pidsh-init", 0, 0, 0);
        close(sock);
        close_dirfds(req);
        pidsh_init_start_plain(control);
    }
    // As spawn: nothing of pidsh's but stdio survives the exec.
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (req->trace) {
        pidsh_call_record r = pidsh_record(PIDSH_CALL_EXECVE, PIDSH_ACTOR_LEVEL);
        r.level = 0;
        pidsh_record_text(&r, req->path);
        pidsh_report_add(rep, &r);
        pidsh_report_send(sock, rep, NULL, 0);
    }
    pidsh_child_restore_nofile();
    execve(req->path, req->argv, req->envp);
    pidsh_report_fail(sock, rep, PIDSH_STAGE_EXEC, errno);
}

__attribute__((noreturn)) static void nest_level(const pidsh_nest_request *req, int sock, int level) {
    int outermost = level == req->levels - 1;
    if (outermost) {
        pidsh_child_tie_to_parent();
        pidsh_child_reset_signals();
    } else {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        // Every disposition is the default already: the level above reset them and
        // this one got a copy. Only the mask blocked around the clone is left to clear
        // (one call instead of one per signal, on the path to the next level).
        sigset_t empty;
        sigemptyset(&empty);
        sigprocmask(SIG_SETMASK, &empty, NULL);
    }
    pidsh_report rep;
    pidsh_report_init(&rep, PIDSH_REPORT_CALLS, level);
    pidsh_report_bind(&rep, req->trace ? sock : -1);
    pidsh_mount_handle mount = { .fd = -1, .mount_id = 0 };
    if (req->proc_dirfds) {
        int e = pidsh_child_mount_proc(req->proc_dirfds[level], req->proc_mount_records[level],
                                       &rep, PIDSH_ACTOR_LEVEL, level, &mount);
        if (e != 0) pidsh_report_fail(sock, &rep, PIDSH_STAGE_MOUNT_PROC, e);
        rep.mount_id = mount.mount_id;
    }
    // Every level but an innermost that execs becomes pidsh's init: pidsh gets one end
    // of its control channel.
    int control[2] = { -1, -1 };
    if ((level > 0 || req->path == NULL) && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) != 0) {
        control[0] = control[1] = -1;
    }
    send_ready(sock, &rep, outermost, mount.fd, control[0]);
    if (level == 0) innermost(req, sock, &rep, control[1]);
    prctl(PR_SET_NAME, "pidsh-init", 0, 0, 0);
    sigset_t saved;
    pidsh_block_signals(&saved);
    pid_t child = clone_next_level(req, sock, level - 1, &rep);
    if (child < 0) {
        rep.kind = PIDSH_REPORT_FAILED;
        rep.level = level - 1;
        rep.stage = PIDSH_STAGE_CLONE;
        rep.error = errno;
        pidsh_report_send(sock, &rep, NULL, 0);
    } else if (req->trace) {
        pidsh_report_send(sock, &rep, NULL, 0);
    }
    close(sock);
    close_dirfds(req);
    pidsh_init_start_plain(control[1]);
}

// ---------------------------------------------------------------------------------
// pidsh's side.

// Keeps a ready level's descriptors in out[level] by what each is.
static void take_level(const pidsh_report *r, const int *fds, int count, pidsh_nest_level *out, int outermost) {
    for (int i = 0; i < count; i++) {
        int kind = i < PIDSH_MAX_PASSED_FDS ? r->fd_kinds[i] : PIDSH_FD_NONE;
        if (kind == PIDSH_FD_PIDFD && !outermost && out->pidfd < 0) out->pidfd = fds[i];
        else if (kind == PIDSH_FD_NAMESPACE && out->nsfd < 0) out->nsfd = fds[i];
        else if (kind == PIDSH_FD_MOUNT && out->mount.fd < 0) { out->mount.fd = fds[i]; out->mount.mount_id = r->mount_id; }
        else if (kind == PIDSH_FD_CONTROL && out->control < 0) out->control = fds[i];
        else close(fds[i]);
    }
}

// Reads every report until the last writer is gone (the innermost exec'd). First
// waits for that moment (POLLRDHUP: every copy of the other end is closed), then reads
// what is queued: one wake-up of pidsh instead of one per level, which otherwise
// competes with the levels still being made for the CPUs.
static void read_reports(int sock, const pidsh_nest_request *req, pidsh_nest_level *out, pidsh_nest_result *res) {
    struct pollfd gone = { .fd = sock, .events = POLLRDHUP, .revents = 0 };
    while (poll(&gone, 1, -1) < 0 && errno == EINTR) {}
    for (;;) {
        pidsh_report r;
        int fds[PIDSH_MAX_PASSED_FDS], count = 0;
        ssize_t n = pidsh_receive_with_fds(sock, &r, sizeof r, fds, &count);
        if (n == 0) break;
        if (n < 0) {
            if (res->error == 0) { res->error = errno; res->stage = PIDSH_STAGE_PIPE; }
            break;
        }
        if (n != (ssize_t)sizeof r || r.level < 0 || r.level >= req->levels) {
            for (int k = 0; k < count; k++) close(fds[k]);
            continue;
        }
        pidsh_trace_add_report(req->trace, &r, 0);
        if (r.kind == PIDSH_REPORT_FAILED) {
            if (res->error == 0) { res->error = r.error; res->stage = r.stage; res->failed_level = r.level; }
            for (int k = 0; k < count; k++) close(fds[k]);
        } else if (r.kind == PIDSH_REPORT_READY) {
            take_level(&r, fds, count, &out[r.level], r.level == req->levels - 1);
            res->levels_made += 1;
        } else {
            for (int k = 0; k < count; k++) close(fds[k]);
        }
    }
}

// Each level's PID (pidsh's view, from its pidfd), also on the records it made.
static void name_level_actors(const pidsh_nest_request *req, pidsh_nest_level *out, int from) {
    for (int i = 0; i < req->levels - 1; i++) {
        if (out[i].pidfd >= 0) out[i].pid = pidsh_pid_of_pidfd(out[i].pidfd);
    }
    pidsh_trace *t = req->trace;
    if (!t || !t->records) return;
    for (int i = from; i < t->count; i++) {
        pidsh_call_record *r = &t->records[i];
        if (r->actor == PIDSH_ACTOR_LEVEL && r->level >= 0 && r->level < req->levels) r->actor_pid = out[r->level].pid;
    }
}

// Killing the outermost init kills every level below it. The mounts stay in `out`.
static void undo_levels(int outer_pidfd, const pidsh_nest_request *req, pidsh_nest_level *out) {
    syscall(SYS_pidfd_send_signal, outer_pidfd, SIGKILL, NULL, 0);
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)outer_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    for (int i = 0; i < req->levels; i++) {
        if (out[i].pidfd >= 0) close(out[i].pidfd);
        if (out[i].nsfd >= 0) close(out[i].nsfd);
        if (out[i].control >= 0) close(out[i].control);
        out[i].pidfd = -1;
        out[i].nsfd = -1;
        out[i].control = -1;
    }
}

int pidsh_nest(const pidsh_nest_request *req, pidsh_nest_level *out, pidsh_nest_result *res) {
    res->error = 0;
    res->stage = PIDSH_STAGE_NONE;
    res->failed_level = -1;
    res->levels_made = 0;
    for (int i = 0; i < req->levels; i++) {
        out[i].pidfd = -1; out[i].pid = 0; out[i].nsfd = -1; out[i].mount.fd = -1; out[i].mount.mount_id = 0;
        out[i].control = -1;
    }
    if (req->levels < 1) { res->error = EINVAL; return -1; }

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        res->error = errno;
        res->stage = PIDSH_STAGE_PIPE;
        return -1;
    }
    nest_level_args outer_args = { .req = req, .sock = sv[1], .other_end = sv[0], .level = req->levels - 1 };
    pidsh_launch l = {
        .join_fd = req->join_pid_namespace_fd, .flags = CLONE_NEWPID, .execs = 0,
        .child = nest_level_entry, .arg = &outer_args, .trace = req->trace,
    };
    pidsh_launched launched;
    int rc = pidsh_launch_child(&l, &launched);
    close(sv[1]);
    if (launched.pid < 0) {
        close(sv[0]);
        res->error = launched.error; res->stage = launched.stage; res->failed_level = req->levels - 1;
        return -1;
    }
    out[req->levels - 1].pidfd = launched.pidfd;
    out[req->levels - 1].pid = launched.pid;
    int from = req->trace ? req->trace->count : 0;
    read_reports(sv[0], req, out, res);
    close(sv[0]);
    name_level_actors(req, out, from);
    pidsh_trace_move_tail(req->trace, from, launched.trace_mark);
    if (rc != 0 && res->error == 0) { res->error = launched.error; res->stage = launched.stage; res->failed_level = req->levels - 1; }
    if (res->error != 0 || res->levels_made != req->levels) {
        if (res->error == 0) { res->error = ECHILD; res->stage = PIDSH_STAGE_CLONE; }
        undo_levels(launched.pidfd, req, out);
        return -1;
    }
    return 0;
}
