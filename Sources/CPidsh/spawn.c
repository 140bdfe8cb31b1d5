// `spawn` (and `ns new`): a child made where pidsh's children go, or joining a
// namespace, or as PID 1 of a new one (launch.c), which runs the child side (child.c)
// and tells pidsh over its report channel what it did. Layer 6.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Reaps a child that gave up (it exits at once), so no zombie remains.
static void reap_failed(int pidfd, pid_t pid, pidsh_trace *trace) {
    siginfo_t info;
    int r;
    while ((r = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED)) != 0 && errno == EINTR) {}
    pidsh_call_record rec = pidsh_record(PIDSH_CALL_WAITID, PIDSH_ACTOR_PIDSH);
    rec.fd = pidfd;
    rec.flags = WEXITED;
    rec.flags2 = P_PIDFD;
    rec.target = (uint64_t)pid;
    pidsh_record_result(&rec, r, errno);
    pidsh_trace_add(trace, &rec);
    close(pidfd);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// A child that waits for pidsh (its user namespace's maps), or makes or joins a time
// namespace, is a plain fork, not a child sharing pidsh's memory: a vfork'd child
// would keep pidsh asleep while it waits, and setns(CLONE_NEWTIME) fails EUSERS in a
// process whose memory another shares (timens_install: current_is_single_threaded).
// A mount or user namespace is joined fine by a vfork'd child: the kernel checks that
// the joiner shares neither its fs_struct nor its thread group (mntns_install,
// userns_install), and this child shares only the memory (verified here).
static int needs_own_memory(const pidsh_spawn_request *req) {
    uint64_t joins = req->join_types;
    for (int i = 0; i < req->join_fd_count; i++) joins |= req->join_fd_types[i];
    return (req->new_namespaces & CLONE_NEWUSER) || req->new_time_namespace || (joins & CLONE_NEWTIME)
        || req->init_forwards;   // pidsh's init never execs: it runs on in its own memory
}

static int write_file(const char *dir_path, const char *text) {
    int fd = open(dir_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int e = n == (ssize_t)len ? 0 : (n < 0 ? errno : EIO);
    close(fd);
    return e;
}

// pidsh's side of a new user namespace: its maps (setgroups first when asked), then
// the byte that lets the child go on. Parent side (it formats paths).
static int write_id_maps(const pidsh_spawn_request *req, pid_t pid, int sock, pidsh_trace *trace) {
    (void)trace;
    char path[64];
    int e = 0;
    if (req->deny_setgroups) {
        snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
        e = write_file(path, "deny");
    }
    if (e == 0 && req->uid_map) {
        snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
        e = write_file(path, req->uid_map);
    }
    if (e == 0 && req->gid_map) {
        snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
        e = write_file(path, req->gid_map);
    }
    if (e == 0) {
        char go = 1;
        if (send(sock, &go, 1, MSG_NOSIGNAL) != 1) e = errno;
    }
    return e;
}

// One above the highest descriptor the child uses: the report socket, what it wires
// to 0-2 and beyond, the directories and namespaces it opens through, the channels of
// an init, the janitor's socket and the life pipe. pidsh keeps its long-lived
// descriptors (a pidfd per process, a fd per namespace) above all those
// (HighDescriptors), so the child's table holds only these, however many processes
// are alive: with 2,000 children, copying and then closing 2,000 pidfds at every
// spawn made it cost half as much again.
static int keep_below(const pidsh_spawn_request *req, int report) {
    int m = report;
#define KEEP(fd) do { if ((fd) > m) m = (fd); } while (0)
    KEEP(req->proc_mount_dirfd);
    KEEP(req->init_control_fd);
    KEEP(req->join_pidfd);
    KEEP(req->root_fd);
    KEEP(req->cwd_fd);
    KEEP(pidsh_janitor_socket);
    KEEP(pidsh_life_pipe_read_fd());
    for (int i = 0; i < req->fd_map_count; i++) KEEP(req->fd_map[2 * i + 1]);
    for (int i = 0; i < req->join_fd_count; i++) KEEP(req->join_fds[i]);
#undef KEEP
    return m + 1;
}

// Where the child reports. A child that runs in pidsh's memory and hands over no
// descriptor (no procfs mount) writes to a mailbox there: no socket pair to make and
// close at every spawn. Otherwise a socket pair: `parent` is pidsh's end.
typedef struct channel {
    int in_memory;
    int parent, child;
    pidsh_mailbox box;
    pidsh_call_record records[PIDSH_MAILBOX_RECORDS];
} channel;

static int open_channel(const pidsh_spawn_request *req, const pidsh_launch *l, channel *c) {
    c->in_memory = req->proc_mount_dirfd < 0 && pidsh_launch_runs_in_memory(l);
    if (c->in_memory) {
        c->parent = -1;
        c->child = PIDSH_CHANNEL_MEMORY;
        pidsh_mailbox_init(&c->box, req->trace ? c->records : NULL, PIDSH_MAILBOX_RECORDS);
        return 0;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return errno;
    c->parent = sv[0];
    c->child = sv[1];
    return 0;
}

// What the child reported. After a vfork-style clone it has exec'd or exited, so
// everything is there already (no wait for the close-on-exec end-of-file, which spares
// pidsh a sleep and a wake-up per spawn); otherwise the socket is read to the end.
static void collect_reports(const channel *c, const pidsh_launched *out, pidsh_trace *trace, pidsh_outcome *outcome) {
    if (c->in_memory) {
        pidsh_drain_mailbox(&c->box, out->pid, trace, outcome);
        return;
    }
    pidsh_drain_reports(c->parent, !out->shared_memory, out->pid, trace, outcome);
    close(c->parent);
}

int pidsh_spawn(const pidsh_spawn_request *req, pidsh_spawn_result *res) {
    res->pid = -1;
    res->pidfd = -1;
    res->error = 0;
    res->stage = PIDSH_STAGE_NONE;
    res->mount.fd = -1;
    res->mount.mount_id = 0;

    pidsh_child_args args;
    pidsh_launch l = {
        .join_fd = req->join_pid_namespace_fd,
        .flags = (req->new_pid_namespace ? CLONE_NEWPID : 0) | (req->remount_proc ? CLONE_NEWNS : 0) | req->new_namespaces,
        .execs = req->path != NULL && !needs_own_memory(req),
        .share_files = 1,
        .child = pidsh_spawn_child, .arg = &args, .trace = req->trace,
    };
    channel c;
    int e = open_channel(req, &l, &c);
    if (e != 0) {
        res->error = e;
        res->stage = PIDSH_STAGE_PIPE;
        return -1;
    }
    l.mailbox = c.in_memory ? &c.box : NULL;
    args = (pidsh_child_args){ .req = req, .report = c.child, .other_end = c.parent, .keep_below = keep_below(req, c.child) };
    pidsh_launched out;
    int rc = pidsh_launch_child(&l, &out);
    if (!c.in_memory) close(c.child);
    if (out.pid >= 0 && (req->new_namespaces & CLONE_NEWUSER)) {
        e = write_id_maps(req, out.pid, c.parent, req->trace);
        if (e != 0) {
            // The child waits for the maps for ever: it goes (the caller reaps it).
            syscall(SYS_pidfd_send_signal, out.pidfd, SIGKILL, NULL, 0);
            if (rc == 0) { rc = -1; out.error = e; out.stage = PIDSH_STAGE_ID_MAPS; }
        }
    }
    if (out.pid < 0) {
        if (!c.in_memory) close(c.parent);
        res->error = out.error;
        res->stage = out.stage;
        return -1;
    }
    int from = req->trace ? req->trace->count : 0;
    pidsh_outcome outcome;
    collect_reports(&c, &out, req->trace, &outcome);
    pidsh_trace_move_tail(req->trace, from, out.trace_mark);
    res->mount = outcome.mount;
    if (outcome.failed) {
        reap_failed(out.pidfd, out.pid, req->trace);
        res->error = outcome.error;
        res->stage = outcome.stage;
        return -1;
    }
    res->pid = out.pid;
    res->pidfd = out.pidfd;
    if (rc != 0) {
        // The child exists, but pidsh could not return its own children to where they
        // went before: report it, the caller kills the child.
        res->error = out.error;
        res->stage = out.stage;
        return -1;
    }
    return 0;
}
