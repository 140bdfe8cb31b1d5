// `spawn` (and `ns new`): a child made where pidsh's children go, or joining a
// namespace, or as PID 1 of a new one (launch.c), which runs the child side (child.c)
// and tells pidsh over its report channel what it did. Layer 6.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
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

int pidsh_spawn(const pidsh_spawn_request *req, pidsh_spawn_result *res) {
    res->pid = -1;
    res->pidfd = -1;
    res->error = 0;
    res->stage = PIDSH_STAGE_NONE;
    res->mount.fd = -1;
    res->mount.mount_id = 0;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        res->error = errno;
        res->stage = PIDSH_STAGE_PIPE;
        return -1;
    }
    pidsh_child_args args = { .req = req, .report = sv[1], .other_end = sv[0] };
    pidsh_launch l = {
        .join_fd = req->join_pid_namespace_fd,
        .flags = (req->new_pid_namespace ? CLONE_NEWPID : 0) | (req->remount_proc ? CLONE_NEWNS : 0),
        .execs = req->path != NULL && !req->init_forwards,   // pidsh's init never execs
        .child = pidsh_spawn_child, .arg = &args, .trace = req->trace,
    };
    pidsh_launched out;
    int rc = pidsh_launch_child(&l, &out);
    close(sv[1]);
    if (out.pid < 0) {
        close(sv[0]);
        res->error = out.error;
        res->stage = out.stage;
        return -1;
    }
    // What the child reported: after a vfork-style clone it has exec'd or exited, so
    // everything is queued already (no wait for the close-on-exec end-of-file, which
    // spares pidsh a sleep and a wake-up per spawn); otherwise read to the end.
    int from = req->trace ? req->trace->count : 0;
    pidsh_outcome outcome;
    pidsh_drain_reports(sv[0], !out.shared_memory, out.pid, req->trace, &outcome);
    close(sv[0]);
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
