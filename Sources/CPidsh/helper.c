// Helper processes that clone on pidsh's behalf, for what the interpreter thread cannot
// do itself. Two kinds: a forked helper for any child (it may run the init loop, which
// never execs), and one that shares pidsh's memory and descriptors for children that
// exec (pidsh_clone_via_shared_helper), which spares the copies of pidsh's page tables
// that make a fork expensive. Each records the calls it makes. Layer 4: calls clone.c,
// fdpass.c, report.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Parses "Pid:\t<n>" from /proc/self/fdinfo/<pidfd>: the PID in pidsh's own view.
// Parent side only (it formats and reads a file).
pid_t pidsh_pid_of_pidfd(int pidfd) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *line = strstr(buf, "Pid:");
    return line ? (pid_t)strtol(line + 4, NULL, 10) : -1;
}

static void reap_pidfd(int pidfd) {
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    close(pidfd);
}

// A record of a setns or clone3 made by a helper.
static pidsh_call_record helper_record(int call, int fd, uint64_t flags, long result, int error) {
    pidsh_call_record r = pidsh_record(call, PIDSH_ACTOR_HELPER);
    r.fd = fd;
    r.flags = flags;
    if (call == PIDSH_CALL_SETNS) r.target = pidsh_ns_inode(fd);
    pidsh_record_result(&r, result, error);
    return r;
}

// clone3 with CLONE_PARENT | CLONE_PIDFD from a helper: the new process is pidsh's
// child. exit_signal is 0 with CLONE_PARENT (the parent's own is used).
static long clone_as_sibling(uint64_t flags, int *pidfd, pidsh_report *rep) {
    struct pidsh_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_PARENT | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r != 0) {
        pidsh_call_record rec = helper_record(PIDSH_CALL_CLONE3, -1, args.flags, r, errno);
        pidsh_report_add(rep, &rec);
    }
    return r;
}

// ---------------------------------------------------------------------------------
// The forked helper, for two things the calling thread cannot do itself; it makes the
// clone with CLONE_PARENT, so the new process is still pidsh's child (wait,
// PR_SET_PDEATHSIG), sends its pidfd back over a socket (SCM_RIGHTS) and exits.
// - A new PID namespace while setns/unshare pointed pid_for_children elsewhere: the
//   kernel makes one only as a child of the caller's *active* namespace (copy_pid_ns:
//   EINVAL otherwise). The helper is born in pid_for_children, so its clone nests there.
// - Joining `join_fd` (>= 0) when pidsh could not come back afterwards: a rootless pidsh
//   in the host's PID namespace (setns back there needs CAP_SYS_ADMIN over the host's
//   user namespace). The helper does the setns, and pidsh's threads never move.

// The helper's side; returns only in the new process (0).
static pid_t helper_side(int join_fd, uint64_t flags, int sock) {
    // Drop the helper's copy of the life pipe's write end, so the new process's check
    // in pidsh_child_tie_to_parent sees only pidsh's.
    pidsh_drop_life_pipe_writer();
    pidsh_report rep;
    pidsh_report_init(&rep, PIDSH_REPORT_CLONED, -1);
    if (join_fd >= 0) {
        int r = setns(join_fd, CLONE_NEWPID);
        pidsh_call_record rec = helper_record(PIDSH_CALL_SETNS, join_fd, CLONE_NEWPID, r, errno);
        pidsh_report_add(&rep, &rec);
        if (r != 0) { rep.kind = PIDSH_REPORT_FAILED; rep.stage = PIDSH_STAGE_SETNS; rep.error = rec.error; pidsh_report_send(sock, &rep, NULL, 0); _exit(0); }
    }
    if (join_fd >= 0 && (flags & CLONE_NEWPID)) {
        // A new namespace below the joined one needs a clone from inside it (the
        // EINVAL rule above): one more hop, a second helper born there, also pidsh's
        // child, whose pidfd goes to pidsh so it reaps it.
        int hop_pidfd = -1;
        long h = clone_as_sibling(0, &hop_pidfd, &rep);
        if (h != 0) {
            rep.kind = h > 0 ? PIDSH_REPORT_HOP : PIDSH_REPORT_FAILED;
            rep.stage = PIDSH_STAGE_CLONE;
            rep.error = h > 0 ? 0 : rep.records[rep.count - 1].error;
            pidsh_report_send(sock, &rep, &hop_pidfd, h > 0 ? 1 : 0);
            _exit(0);
        }
        pidsh_report_init(&rep, PIDSH_REPORT_CLONED, -1);
    }
    int child_pidfd = -1;
    long r = clone_as_sibling(flags, &child_pidfd, &rep);
    if (r == 0) {
        close(sock);
        return 0;  // the new process continues as the caller's child side
    }
    if (r < 0) { rep.kind = PIDSH_REPORT_FAILED; rep.stage = PIDSH_STAGE_CLONE; rep.error = rep.records[rep.count - 1].error; }
    pidsh_report_send(sock, &rep, &child_pidfd, r > 0 ? 1 : 0);
    _exit(0);
}

// pidsh's side: the helper's reports (a hop's pidfd first, when there was one).
static int receive_clone(int sock, pid_t helper, int *hop_pidfd, int *stage, pidsh_trace *trace) {
    for (;;) {
        pidsh_report rep;
        int fds[PIDSH_MAX_PASSED_FDS], count = 0;
        ssize_t n = pidsh_receive_with_fds(sock, &rep, sizeof rep, fds, &count);
        int first = count > 0 ? fds[0] : -1;
        for (int k = 1; k < count; k++) close(fds[k]);
        if (n != (ssize_t)sizeof rep) {
            if (first >= 0) close(first);
            *stage = PIDSH_STAGE_PIPE;
            errno = n < 0 ? errno : EPIPE;
            return -1;
        }
        pidsh_trace_add_report(trace, &rep, helper);
        if (rep.kind == PIDSH_REPORT_HOP && *hop_pidfd < 0) {
            // What follows comes from the second helper.
            *hop_pidfd = first;
            helper = pidsh_pid_of_pidfd(first);
            continue;
        }
        if (rep.kind == PIDSH_REPORT_CLONED && first >= 0) return first;
        if (first >= 0) close(first);
        *stage = rep.kind == PIDSH_REPORT_FAILED ? rep.stage : PIDSH_STAGE_PIPE;
        errno = rep.error != 0 ? rep.error : EPIPE;
        return -1;
    }
}

// The PID behind a received pidfd; a process whose PID pidsh cannot read is killed.
static pid_t adopt_pidfd(int received, int *pidfd) {
    pid_t pid = pidsh_pid_of_pidfd(received);
    if (pid <= 0) {
        syscall(SYS_pidfd_send_signal, received, SIGKILL, NULL, 0);
        reap_pidfd(received);
        errno = ESRCH;
        return -1;
    }
    *pidfd = received;
    return pid;
}

pid_t pidsh_clone_via_helper(int join_fd, uint64_t flags, int *pidfd, int *stage, pidsh_trace *trace) {
    *stage = PIDSH_STAGE_CLONE;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int helper_pidfd = -1;
    pidsh_call_record rec;
    pid_t helper = pidsh_clone_with_pidfd(0, &helper_pidfd, &rec);
    if (helper == 0) {
        close(sv[0]);
        return helper_side(join_fd, flags, sv[1]);
    }
    pidsh_trace_add(trace, &rec);
    close(sv[1]);
    if (helper < 0) {
        int e = errno;
        close(sv[0]);
        errno = e;
        return -1;
    }
    int hop_pidfd = -1;
    int received = receive_clone(sv[0], helper, &hop_pidfd, stage, trace);
    int e = errno;
    close(sv[0]);
    reap_pidfd(helper_pidfd);
    if (hop_pidfd >= 0) reap_pidfd(hop_pidfd);
    if (received < 0) { errno = e; return -1; }
    return adopt_pidfd(received, pidfd);
}

// ---------------------------------------------------------------------------------
// The same for a child that execs, without a fork: the helper is cloned with CLONE_VM
// | CLONE_VFORK | CLONE_FILES (pidsh's memory and descriptor table, as posix_spawn's
// child has them) on a stack of its own; it joins, then clones the child the same way
// (CLONE_VM | CLONE_VFORK | CLONE_PARENT, its own descriptor table) and records the
// child's pidfd, which lands in pidsh's table, in shared memory. Each clone's caller
// sleeps until its child has exec'd or exited, so at most one of them runs at a time
// on pidsh's memory, making raw calls only. (A new namespace below a joined one, which needs a
// second hop, goes through the forked helper.)

typedef struct shared_helper {
    int join_fd;
    uint64_t flags;
    int (*fn)(void *);
    void *arg;
    char *child_stack;
    int child_pidfd;
    int error, stage;
    pidsh_call_record calls[2];   // the helper's setns and clone, for pidsh to trace
    int call_count;
} shared_helper;

enum { HELPER_STACK = 16 * 1024, SPAWNED_STACK = 64 * 1024 };

static int shared_helper_entry(void *p) {
    shared_helper *h = p;
    if (h->join_fd >= 0) {
        int r = setns(h->join_fd, CLONE_NEWPID);
        pidsh_call_record rec = helper_record(PIDSH_CALL_SETNS, h->join_fd, CLONE_NEWPID, r, errno);
        h->calls[h->call_count++] = rec;
        if (r != 0) { h->error = rec.error; h->stage = PIDSH_STAGE_SETNS; return 0; }
    }
    int fd = -1;
    uint64_t all = h->flags | CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD;
    pid_t pid = clone(h->fn, h->child_stack, (int)all, h->arg, &fd, NULL, NULL);
    pidsh_call_record rec = helper_record(PIDSH_CALL_CLONE, -1, all, pid, errno);
    h->calls[h->call_count++] = rec;
    if (pid < 0) { h->error = rec.error; h->stage = PIDSH_STAGE_CLONE; return 0; }
    h->child_pidfd = fd;
    return 0;
}

pid_t pidsh_clone_via_shared_helper(int join_fd, uint64_t flags, int (*fn)(void *), void *arg,
                                    int *pidfd, int *stage, pidsh_trace *trace) {
    _Alignas(64) char helper_stack[HELPER_STACK];
    _Alignas(64) char child_stack[SPAWNED_STACK];
    shared_helper h = {
        .join_fd = join_fd, .flags = flags, .fn = fn, .arg = arg,
        .child_stack = child_stack + SPAWNED_STACK, .child_pidfd = -1,
        .error = 0, .stage = PIDSH_STAGE_NONE, .call_count = 0,
    };
    int helper_pidfd = -1;
    pidsh_call_record rec;
    pid_t helper = pidsh_clone_vfork(CLONE_FILES, shared_helper_entry, &h, helper_stack, HELPER_STACK, &helper_pidfd, &rec);
    int e = errno;
    pidsh_trace_add(trace, &rec);
    for (int i = 0; i < h.call_count; i++) {
        h.calls[i].actor_pid = helper;
        pidsh_trace_add(trace, &h.calls[i]);
    }
    *stage = PIDSH_STAGE_CLONE;
    if (helper < 0) { errno = e; return -1; }
    // The helper has exited (CLONE_VFORK): reap it.
    reap_pidfd(helper_pidfd);
    if (h.child_pidfd < 0) {
        *stage = h.stage;
        errno = h.error != 0 ? h.error : EPIPE;
        return -1;
    }
    return adopt_pidfd(h.child_pidfd, pidfd);
}
