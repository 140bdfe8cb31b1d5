// Helper processes that clone on pidsh's behalf, for what the interpreter thread cannot
// do itself (see pidsh_clone_via_helper). Two kinds: a forked helper for any child (it
// may run the init loop, which never execs), and one that shares pidsh's memory and
// descriptors for children that exec (pidsh_spawn_via_shared_helper), which spares the
// copies of pidsh's page tables that make a fork expensive.
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

// Two things the calling thread cannot do itself, so a short-lived helper process does
// them and makes the clone with CLONE_PARENT: the new process is still pidsh's child
// (wait, PR_SET_PDEATHSIG), and the helper sends its pidfd back over a socket
// (SCM_RIGHTS) and exits.
// - A new PID namespace while setns/unshare pointed pid_for_children elsewhere: the
//   kernel makes one only as a child of the caller's *active* namespace (copy_pid_ns:
//   EINVAL otherwise). The helper is born in pid_for_children, so its clone nests there.
// - Joining `join_fd` (>= 0) when pidsh could not come back afterwards: a rootless pidsh
//   in the host's PID namespace (setns back there needs CAP_SYS_ADMIN over the host's
//   user namespace). The helper does the setns, and pidsh's threads never move.
// Returns like clone: 0 in the new process, its PID (pidsh's view) in pidsh, -1 with
// errno and *stage. Signals must be blocked.
// The helper's report that a second helper took over (see below): not a pidsh_stage.
enum { HELPER_HOP = -1 };

pid_t pidsh_clone_via_helper(int join_fd, uint64_t flags, int *pidfd, int *stage) {
    *stage = PIDSH_STAGE_CLONE;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int helper_pidfd = -1;
    pid_t helper = pidsh_clone_with_pidfd(0, &helper_pidfd);
    if (helper < 0) {
        int e = errno;
        close(sv[0]); close(sv[1]);
        errno = e;
        return -1;
    }
    if (helper == 0) {
        // ---- helper: raw calls only ----
        // Drop the helper's copy of the life pipe's write end, so the new process's
        // check in pidsh_child_tie_to_parent sees only pidsh's.
        pidsh_drop_life_pipe_writer();
        int msg[2] = { PIDSH_STAGE_SETNS, 0 };
        if (join_fd >= 0 && setns(join_fd, CLONE_NEWPID) != 0) {
            msg[1] = errno;
            pidsh_send_with_fds(sv[1], msg, sizeof msg, NULL, 0);
            _exit(0);
        }
        if (join_fd >= 0 && (flags & CLONE_NEWPID)) {
            // A new namespace below the joined one needs a clone from inside it (the
            // EINVAL rule above): one more hop, a second helper born there, also
            // pidsh's child, whose pidfd goes to pidsh so it reaps it.
            struct pidsh_clone_args hop;
            memset(&hop, 0, sizeof hop);
            int hop_pidfd = -1;
            hop.flags = CLONE_PARENT | CLONE_PIDFD;
            hop.pidfd = (uint64_t)(uintptr_t)&hop_pidfd;
            long h = syscall(SYS_clone3, &hop, sizeof hop);
            if (h != 0) {
                msg[0] = h > 0 ? HELPER_HOP : PIDSH_STAGE_CLONE;
                msg[1] = h > 0 ? 0 : errno;
                pidsh_send_with_fds(sv[1], msg, sizeof msg, &hop_pidfd, h > 0 ? 1 : 0);
                _exit(0);
            }
        }
        struct pidsh_clone_args args;
        memset(&args, 0, sizeof args);
        int child_pidfd = -1;
        args.flags = flags | CLONE_PARENT | CLONE_PIDFD;
        args.pidfd = (uint64_t)(uintptr_t)&child_pidfd;
        args.exit_signal = 0;  // clone3 wants 0 with CLONE_PARENT: the parent's is used
        long r = syscall(SYS_clone3, &args, sizeof args);
        if (r == 0) {
            close(sv[0]);
            close(sv[1]);
            return 0;  // the new process continues as the caller's child side
        }
        msg[0] = PIDSH_STAGE_CLONE;
        msg[1] = r < 0 ? errno : 0;
        pidsh_send_with_fds(sv[1], msg, sizeof msg, &child_pidfd, r > 0 ? 1 : 0);
        _exit(0);
    }
    close(sv[1]);
    int msg[2] = { PIDSH_STAGE_PIPE, EPIPE };
    int received = -1;
    int hop_pidfd = -1;
    for (;;) {
        int fds[PIDSH_MAX_PASSED_FDS];
        int count = 0;
        ssize_t n = pidsh_receive_with_fds(sv[0], msg, sizeof msg, fds, &count);
        int first = count > 0 ? fds[0] : -1;
        for (int k = 1; k < count; k++) close(fds[k]);
        if (n != (ssize_t)sizeof msg) {
            if (first >= 0) close(first);
            msg[0] = PIDSH_STAGE_PIPE;
            msg[1] = n < 0 ? errno : EPIPE;
            break;
        }
        if (msg[0] == HELPER_HOP && hop_pidfd < 0) { hop_pidfd = first; continue; }
        received = first;
        break;
    }
    close(sv[0]);
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)helper_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    close(helper_pidfd);
    if (hop_pidfd >= 0) {
        while (waitid(P_PIDFD, (id_t)hop_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
        close(hop_pidfd);
    }
    if (received < 0) {
        *stage = msg[0];
        errno = msg[1] != 0 ? msg[1] : EPIPE;
        return -1;
    }
    pid_t pid = pidsh_pid_of_pidfd(received);
    if (pid <= 0) {
        pidsh_pidfd_send_signal(received, SIGKILL);
        while (waitid(P_PIDFD, (id_t)received, &info, WEXITED) != 0 && errno == EINTR) {}
        close(received);
        errno = ESRCH;
        return -1;
    }
    *pidfd = received;
    return pid;
}

// Set once at start-up by a rootless pidsh that stays in the host's PID namespace: it
// joins other namespaces only through pidsh_clone_via_helper.
int pidsh_join_through_helper = 0;

// ---------------------------------------------------------------------------------
// The same for a child that execs, without a fork: the helper is cloned with CLONE_VM
// | CLONE_VFORK | CLONE_FILES (pidsh's memory and descriptor table, as posix_spawn's
// child has them) on a stack of its own; it joins, then clones the child the same way
// (CLONE_VM | CLONE_VFORK | CLONE_PARENT, its own descriptor table) and records the
// child's pidfd, which lands in pidsh's table, in shared memory. Each clone's caller
// sleeps until its child has exec'd or exited, so at most one of them runs at a time
// on pidsh's memory, making raw calls only. (A new namespace below a joined one, which
// needs a second hop, goes through the forked helper.)

typedef struct shared_helper {
    const pidsh_spawn_request *req;
    int report_read, report_write;
    int join_fd;
    uint64_t flags;
    char *child_stack;
    int child_pidfd;
    int error, stage;
} shared_helper;

enum { HELPER_STACK = 16 * 1024, SPAWNED_STACK = 64 * 1024 };

static int spawned_entry(void *p) {
    const shared_helper *h = p;
    pidsh_spawn_child(h->req, h->report_read, h->report_write);
}

// Clones the program's process as pidsh's child, from wherever this helper is.
static int clone_spawned(shared_helper *h) {
    int fd = -1;
    pid_t pid = clone(spawned_entry, h->child_stack,
                      (int)(h->flags | CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD), h, &fd, NULL, NULL);
    if (pid < 0) { h->error = errno; h->stage = PIDSH_STAGE_CLONE; return 0; }
    h->child_pidfd = fd;
    return 0;
}

static int helper_entry(void *p) {
    shared_helper *h = p;
    if (h->join_fd >= 0 && setns(h->join_fd, CLONE_NEWPID) != 0) {
        h->error = errno;
        h->stage = PIDSH_STAGE_SETNS;
        return 0;
    }
    return clone_spawned(h);
}

pid_t pidsh_spawn_via_shared_helper(const pidsh_spawn_request *req, int report_read, int report_write,
                                    int join_fd, uint64_t flags, int *pidfd, int *stage) {
    _Alignas(64) char helper_stack[HELPER_STACK];
    _Alignas(64) char child_stack[SPAWNED_STACK];
    shared_helper h = {
        .req = req, .report_read = report_read, .report_write = report_write,
        .join_fd = join_fd, .flags = flags, .child_stack = child_stack + SPAWNED_STACK,
        .child_pidfd = -1, .error = 0, .stage = PIDSH_STAGE_NONE,
    };
    int helper_pidfd = -1;
    pid_t helper = clone(helper_entry, helper_stack + HELPER_STACK,
                         CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | SIGCHLD, &h, &helper_pidfd, NULL, NULL);
    *stage = PIDSH_STAGE_CLONE;
    if (helper < 0) return -1;
    // The helper has exited (CLONE_VFORK): reap it.
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)helper_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    close(helper_pidfd);
    if (h.child_pidfd < 0) {
        *stage = h.stage;
        errno = h.error != 0 ? h.error : EPIPE;
        return -1;
    }
    pid_t pid = pidsh_pid_of_pidfd(h.child_pidfd);
    if (pid <= 0) {
        pidsh_pidfd_send_signal(h.child_pidfd, SIGKILL);
        while (waitid(P_PIDFD, (id_t)h.child_pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
        close(h.child_pidfd);
        errno = ESRCH;
        return -1;
    }
    *pidfd = h.child_pidfd;
    return pid;
}
