// Making a child where it must be born, written once for spawn, `mount proc --ns` and
// nest: enter the namespace it joins (setns on this thread, or in a helper when pidsh
// may not move) -> block signals -> clone (directly, vfork-style for a child that
// execs, or through a helper) -> restore signals -> leave the namespace. A failed
// leave is reported with the child made, so the caller can kill it. Layer 5: calls
// clone.c and helper.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>

// Clones on this thread or through a helper; in a forked child, runs l->child.
static pid_t clone_child(const pidsh_launch *l, int by_helper, int helper_join, int vfork, int *pidfd, int *stage) {
    enum { CHILD_STACK = 64 * 1024 };
    _Alignas(64) char stack[CHILD_STACK];   // the vfork child's, while this frame sleeps
    pidsh_call_record rec;
    pid_t pid;
    *stage = PIDSH_STAGE_CLONE;
    if (vfork && by_helper) {
        return pidsh_clone_via_shared_helper(helper_join, l->flags, l->child, l->arg, pidfd, stage, l->trace);
    }
    if (vfork) {
        // Sharing pidsh's descriptor table spares the kernel copying it whole (and the
        // exec closing every copy): the child unshares just the part it needs.
        uint64_t flags = l->flags | (l->share_files ? CLONE_FILES : 0);
        pidsh_report_mailbox_set(l->mailbox);
        pid = pidsh_clone_vfork(flags, l->child, l->arg, stack, CHILD_STACK, pidfd, &rec);
        pidsh_report_mailbox_set(NULL);
    } else if (by_helper) {
        pid = pidsh_clone_via_helper(helper_join, l->flags, pidfd, stage, l->trace);
        if (pid == 0) l->child(l->arg);
        return pid;
    } else {
        pid = pidsh_clone_with_pidfd(l->flags, pidfd, &rec);
        if (pid == 0) l->child(l->arg);
    }
    int e = errno;
    pidsh_trace_add(l->trace, &rec);
    errno = e;
    return pid;
}

// How a child is made: through a helper (joining where pidsh may not move, or a new
// PID namespace while pidsh's children go elsewhere: the kernel's EINVAL rule), and
// whether it shares the memory of the process that clones it (it execs, and is not a
// new namespace below a joined one, which takes two hops: the forked helper).
typedef struct route {
    int by_helper, helper_join, vfork;
} route;

// Decided once pidsh has entered the namespace its children join (when it may).
static route route_now(const pidsh_launch *l) {
    int join_by_helper = l->join_fd >= 0 && pidsh_join_through_helper;
    route r;
    r.by_helper = join_by_helper || ((l->flags & CLONE_NEWPID) && pidsh_children_go_elsewhere());
    r.helper_join = join_by_helper ? l->join_fd : -1;
    r.vfork = l->execs && !(r.helper_join >= 0 && (l->flags & CLONE_NEWPID));
    return r;
}

int pidsh_launch_runs_in_memory(const pidsh_launch *l) {
    // Without a join nothing is entered first, so the route is the one taken.
    if (l->join_fd >= 0) return 0;
    route r = route_now(l);
    return r.vfork && !r.by_helper;
}

int pidsh_launch_child(const pidsh_launch *l, pidsh_launched *out) {
    out->pid = -1;
    out->pidfd = -1;
    out->error = 0;
    out->stage = PIDSH_STAGE_NONE;
    out->trace_mark = 0;
    out->shared_memory = 0;
    int join_by_helper = l->join_fd >= 0 && pidsh_join_through_helper;
    int restore_fd = -1, stage = PIDSH_STAGE_NONE;
    int err = join_by_helper ? 0 : pidsh_enter_pid_ns_for_children(l->join_fd, &restore_fd, &stage, l->trace);
    if (err != 0) {
        out->error = err;
        out->stage = stage;
        return -1;
    }
    route r = route_now(l);
    int by_helper = r.by_helper, helper_join = r.helper_join, vfork = r.vfork;
    if (l->mailbox && !(vfork && !by_helper)) {
        // A child elsewhere could not write to the mailbox: its outcome would be lost.
        pidsh_leave_pid_ns_for_children(restore_fd, l->trace);
        out->error = EINVAL;
        out->stage = PIDSH_STAGE_PIPE;
        return -1;
    }

    sigset_t saved;
    pidsh_block_signals(&saved);
    int pidfd = -1;
    pid_t pid = clone_child(l, by_helper, helper_join, vfork, &pidfd, &stage);
    int clone_errno = errno;
    pidsh_restore_signals(&saved);
    out->trace_mark = l->trace ? l->trace->count : 0;
    out->shared_memory = vfork;
    int restore_err = pidsh_leave_pid_ns_for_children(restore_fd, l->trace);
    if (pid < 0) {
        out->error = clone_errno;
        out->stage = stage;
        return -1;
    }
    out->pid = pid;
    out->pidfd = pidfd;
    if (restore_err != 0) {
        out->error = restore_err;
        out->stage = PIDSH_STAGE_RESTORE_NS;
        return -1;
    }
    return 0;
}
