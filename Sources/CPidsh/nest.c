// `nest N`: N nested PID namespaces built as multi_pidns builds them. Level k is PID 1
// of its own namespace, mounts its procfs, reports to pidsh and clones level k-1; the
// innermost execs. Reports travel over a SOCK_SEQPACKET socket: a record per level and
// the level's pidfd (SCM_RIGHTS), so pidsh holds every level by pidfd.
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

typedef struct nest_report {
    int level;
    int stage;   // PIDSH_STAGE_NONE: level ready
    int error;
} nest_report;

static void send_report(int sock, int level, int stage, int error, int fd) {
    nest_report r = { level, stage, error };
    // A ready level sends its namespace too (opened here, before a quick innermost
    // program can exit and take the namespace with it), after its pidfd if it has one.
    int fds[PIDSH_MAX_PASSED_FDS];
    int count = 0;
    if (fd >= 0) fds[count++] = fd;
    int nsfd = stage == PIDSH_STAGE_NONE ? open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC) : -1;
    if (nsfd >= 0) fds[count++] = nsfd;
    pidsh_send_with_fds(sock, &r, sizeof r, fds, count);
    if (nsfd >= 0) close(nsfd);
}

static void close_dirfds(const pidsh_nest_request *req) {
    if (!req->proc_dirfds) return;
    for (int i = 0; i < req->levels; i++) close(req->proc_dirfds[i]);
}

// Child side of every level; never returns.
__attribute__((noreturn)) static void nest_level(const pidsh_nest_request *req, int sock, int level);

typedef struct nest_level_args {
    const pidsh_nest_request *req;
    int sock;
    int level;
} nest_level_args;

static int nest_level_entry(void *p) {
    const nest_level_args *a = p;
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
static pid_t clone_next_level(const pidsh_nest_request *req, int sock, int level, int *pidfd) {
    enum { LEVEL_STACK = 64 * 1024 };
    char *stack = mmap(NULL, LEVEL_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    // The arguments live at the top of the child's own stack: this level's frame is
    // reused as soon as it moves on to its init loop.
    nest_level_args *a = (nest_level_args *)(stack + LEVEL_STACK - 64);
    a->req = req;
    a->sock = sock;
    a->level = level;
    // Legacy clone knows CLONE_PIDFD (since 5.2): the pidfd is stored at parent_tid.
    pid_t pid = clone(nest_level_entry, (char *)a, CLONE_VM | CLONE_NEWPID | CLONE_PIDFD | SIGCHLD,
                      a, pidfd, NULL, NULL);
    if (pid < 0) {
        int e = errno;
        munmap(stack, LEVEL_STACK);
        errno = e;
    }
    return pid;
}

__attribute__((noreturn)) static void nest_level(const pidsh_nest_request *req, int sock, int level) {
    if (level == req->levels - 1) {
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
    if (req->proc_dirfds) {
        int e = pidsh_mount_proc_at(req->proc_dirfds[level]);
        if (e != 0) {
            send_report(sock, level, PIDSH_STAGE_MOUNT_PROC, e, -1);
            _exit(127);
        }
    }
    if (level == 0) {
        send_report(sock, level, PIDSH_STAGE_NONE, 0, level == req->levels - 1 ? -1 : (int)syscall(SYS_pidfd_open, getpid(), 0));
        if (req->path == NULL) {
            // Named before the socket closes: pidsh returns on the last EOF.
            prctl(PR_SET_NAME, "pidsh-init", 0, 0, 0);
            close(sock);
            close_dirfds(req);
            pidsh_init_loop();
        }
        // As pidsh_spawn: nothing of pidsh's but stdio survives the exec.
        syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        pidsh_child_restore_nofile();
        execve(req->path, req->argv, req->envp);
        send_report(sock, 0, PIDSH_STAGE_EXEC, errno, -1);
        _exit(127);
    }
    if (level != req->levels - 1) {
        int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
        send_report(sock, level, PIDSH_STAGE_NONE, 0, self);
        close(self);
    } else {
        send_report(sock, level, PIDSH_STAGE_NONE, 0, -1);
    }
    prctl(PR_SET_NAME, "pidsh-init", 0, 0, 0);
    sigset_t saved;
    pidsh_block_signals(&saved);
    int pidfd = -1;
    pid_t child = clone_next_level(req, sock, level - 1, &pidfd);
    if (child < 0) send_report(sock, level - 1, PIDSH_STAGE_CLONE, errno, -1);
    else close(pidfd);
    close(sock);
    close_dirfds(req);
    pidsh_init_loop();
}

/// One report; `fds` gets what came with it (a ready level: [pidfd,] nsfd).
static int receive_report(int sock, nest_report *r, int fds[PIDSH_MAX_PASSED_FDS], int *count) {
    ssize_t n = pidsh_receive_with_fds(sock, r, sizeof *r, fds, count);
    if (n <= 0) return (int)n;
    return n == (ssize_t)sizeof *r ? 1 : 0;
}

int pidsh_nest(const pidsh_nest_request *req, pidsh_nest_level *out, pidsh_nest_result *res) {
    res->error = 0;
    res->stage = PIDSH_STAGE_NONE;
    res->failed_level = -1;
    res->levels_made = 0;
    for (int i = 0; i < req->levels; i++) { out[i].pidfd = -1; out[i].pid = 0; out[i].nsfd = -1; }
    if (req->levels < 1) { res->error = EINVAL; return -1; }

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        res->error = errno;
        res->stage = PIDSH_STAGE_PIPE;
        return -1;
    }
    int restore_fd = -1, stage = 0;
    int join_by_helper = req->join_pid_namespace_fd >= 0 && pidsh_join_through_helper;
    int err = join_by_helper ? 0 : pidsh_enter_pid_ns_for_children(req->join_pid_namespace_fd, &restore_fd, &stage);
    if (err != 0) {
        close(sv[0]); close(sv[1]);
        res->error = err; res->stage = stage; res->failed_level = req->levels - 1;
        return -1;
    }
    sigset_t saved;
    pidsh_block_signals(&saved);
    int outer_pidfd = -1;
    int clone_stage = PIDSH_STAGE_CLONE;
    pid_t outer = join_by_helper || pidsh_children_go_elsewhere()
        ? pidsh_clone_via_helper(join_by_helper ? req->join_pid_namespace_fd : -1, CLONE_NEWPID, &outer_pidfd, &clone_stage)
        : pidsh_clone_with_pidfd(CLONE_NEWPID, &outer_pidfd);
    if (outer == 0) {
        close(sv[0]);
        nest_level(req, sv[1], req->levels - 1);
    }
    int clone_errno = errno;
    pidsh_restore_signals(&saved);
    pidsh_leave_pid_ns_for_children(restore_fd);
    close(sv[1]);
    if (outer < 0) {
        close(sv[0]);
        res->error = clone_errno; res->stage = clone_stage; res->failed_level = req->levels - 1;
        return -1;
    }
    out[req->levels - 1].pidfd = outer_pidfd;
    out[req->levels - 1].pid = outer;

    // Read every report until the last writer is gone (the innermost exec'd). First
    // wait for that moment (POLLRDHUP: every copy of the other end is closed), then
    // read what is queued: one wake-up of pidsh instead of one per level, which
    // otherwise competes with the levels still being made for the CPUs.
    struct pollfd gone = { .fd = sv[0], .events = POLLRDHUP, .revents = 0 };
    while (poll(&gone, 1, -1) < 0 && errno == EINTR) {}
    nest_report r;
    int got;
    int fds[PIDSH_MAX_PASSED_FDS];
    int count;
    while ((got = receive_report(sv[0], &r, fds, &count)) != 0) {
        if (got < 0) { if (res->error == 0) { res->error = errno; res->stage = PIDSH_STAGE_PIPE; } break; }
        if (r.level < 0 || r.level >= req->levels || r.stage != PIDSH_STAGE_NONE) {
            if (r.stage != PIDSH_STAGE_NONE && res->error == 0) {
                res->error = r.error; res->stage = r.stage; res->failed_level = r.level;
            }
            for (int k = 0; k < count; k++) close(fds[k]);
            continue;
        }
        // The outermost sends only its namespace (pidsh has its pidfd from the clone).
        int outermost = r.level == req->levels - 1;
        if (!outermost && count >= 1) out[r.level].pidfd = fds[0];
        if (count == (outermost ? 1 : 2)) out[r.level].nsfd = fds[count - 1];
        res->levels_made += 1;
    }
    close(sv[0]);
    if (res->error != 0 || res->levels_made != req->levels) {
        if (res->error == 0) { res->error = ECHILD; res->stage = PIDSH_STAGE_CLONE; }
        // Killing the outermost init kills every level below it.
        pidsh_pidfd_send_signal(outer_pidfd, SIGKILL);
        siginfo_t info;
        while (waitid(P_PIDFD, (id_t)outer_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
        for (int i = 0; i < req->levels; i++) {
            if (out[i].pidfd >= 0) close(out[i].pidfd);
            if (out[i].nsfd >= 0) close(out[i].nsfd);
            out[i].pidfd = -1;
            out[i].nsfd = -1;
        }
        return -1;
    }
    return 0;
}
