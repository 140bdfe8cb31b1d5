// The child side of every fork pidsh makes. Between clone and exec only raw,
// async-signal-safe calls are made: the parent prepared argv, envp, paths and fds.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------
// The life pipe: pidsh holds the only write end; a child that finds it closed right
// after setting PR_SET_PDEATHSIG knows pidsh died before the signal could be armed.
static int life_read_fd = -1;
static int life_write_fd = -1;

int pidsh_ensure_life_pipe(void) {
    if (life_read_fd >= 0) return 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    life_read_fd = fds[0];
    life_write_fd = fds[1];
    return 0;
}

// Arms PR_SET_PDEATHSIG and re-checks that pidsh is still there. Child side only.
void pidsh_child_tie_to_parent(void) {
    if (life_write_fd >= 0) close(life_write_fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (life_read_fd >= 0) {
        struct pollfd p = { .fd = life_read_fd, .events = POLLIN, .revents = 0 };
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN))) _exit(126);
        close(life_read_fd);
    }
}

// Every signal back to its default and an empty mask, so the program (or the init
// loop) starts as if exec'd by a fresh shell. sigaction is async-signal-safe.
void pidsh_child_reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
}

// Reports (stage, errno) to the parent and exits. The pipe is close-on-exec, so a
// successful exec closes it and the parent reads EOF instead.
__attribute__((noreturn)) static void child_fail(int report_fd, int stage, int err) {
    int msg[2] = { stage, err };
    ssize_t ignored = write(report_fd, msg, sizeof msg);
    (void)ignored;
    _exit(127);
}

// dup2 the (target, source) pairs without one clobbering another's source: first move
// every source above the highest target, then place them.
static int child_wire_fds(const int *map, int count) {
    if (count <= 0) return 0;
    int highest = 2;
    for (int i = 0; i < count; i++) if (map[2 * i] > highest) highest = map[2 * i];
    int moved[32];
    if (count > 32) return EINVAL;
    for (int i = 0; i < count; i++) {
        int fd = fcntl(map[2 * i + 1], F_DUPFD_CLOEXEC, highest + 1);
        if (fd < 0) return errno;
        moved[i] = fd;
    }
    for (int i = 0; i < count; i++) {
        if (dup2(moved[i], map[2 * i]) < 0) return errno;
    }
    return 0;
}

// ---------------------------------------------------------------------------------
// Forking. clone3 gives a pidfd atomically with the child; the old clone syscall is
// the fallback for kernels without clone3 (it also knows CLONE_PIDFD since 5.2).
pid_t pidsh_clone_with_pidfd(uint64_t flags, int *pidfd) {
    struct pidsh_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    args.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r < 0 && errno == ENOSYS) {
        r = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), 0, pidfd, 0, 0);
    }
    return (pid_t)r;
}

// Parses "Pid:\t<n>" from /proc/self/fdinfo/<pidfd>: the PID in pidsh's own view.
// Parent side only (it formats and reads a file).
static pid_t pid_of_pidfd(int pidfd) {
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
        if (life_write_fd >= 0) { close(life_write_fd); life_write_fd = -1; }
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
            msg[1] = EPIPE;
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
    pid_t pid = pid_of_pidfd(received);
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

// Whether clone(CLONE_NEWPID) on this thread needs pidsh_clone_via_helper: the
// thread's pid_for_children is a namespace other than its own. (It cannot be opened
// while an `unshare --pid` waits for its first process: then the kernel's EINVAL stands.)
__thread int pidsh_pid_for_children_moved = 0;

int pidsh_children_go_elsewhere(void) {
    // Until this thread called setns/unshare with CLONE_NEWPID (through pidsh's
    // wrappers, which note it), pid_for_children is its own namespace: no need for the
    // two /proc path walks below on every spawn.
    if (!pidsh_pid_for_children_moved) return 0;
    struct stat own, children;
    if (stat("/proc/self/ns/pid", &own) != 0) return 0;
    if (stat("/proc/thread-self/ns/pid_for_children", &children) != 0) return 0;
    return own.st_ino != children.st_ino || own.st_dev != children.st_dev;
}

// Blocks every signal around the fork so no Swift-side handler can run in the child
// before it has reset dispositions.
void pidsh_block_signals(sigset_t *saved) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, saved);
}

void pidsh_restore_signals(const sigset_t *saved) {
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

// Moves this thread's pid_for_children into `join_fd`, remembering where it was.
// Returns 0 or errno with *stage set. *restore_fd is -1 when nothing was changed.
int pidsh_enter_pid_ns_for_children(int join_fd, int *restore_fd, int *stage) {
    *restore_fd = -1;
    if (join_fd < 0) return 0;
    pidsh_pid_for_children_moved = 1;
    int own = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if (own < 0) {
        *stage = PIDSH_STAGE_OPEN_OWN_NS;
        return errno;
    }
    if (setns(join_fd, CLONE_NEWPID) != 0) {
        int e = errno;
        close(own);
        *stage = PIDSH_STAGE_SETNS;
        return e;
    }
    *restore_fd = own;
    return 0;
}

int pidsh_leave_pid_ns_for_children(int restore_fd) {
    if (restore_fd < 0) return 0;
    int r = setns(restore_fd, CLONE_NEWPID) == 0 ? 0 : errno;
    close(restore_fd);
    return r;
}

// Whether /proc/self is the calling process (raw calls only: used in the child).
static int proc_shows_self(void) {
    char link[32], mine[32];
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    if (n <= 0) return 0;
    link[n] = 0;
    // Decimal PID by hand: snprintf is not async-signal-safe.
    pid_t pid = (pid_t)syscall(SYS_getpid);
    int len = 0;
    char rev[16];
    do { rev[len++] = (char)('0' + pid % 10); pid /= 10; } while (pid > 0 && len < 15);
    for (int i = 0; i < len; i++) mine[i] = rev[len - 1 - i];
    mine[len] = 0;
    return strcmp(link, mine) == 0;
}

// The child side of pidsh_spawn: raw calls only, then exec (or the init loop). Used
// by both ways of forking below.
__attribute__((noreturn)) static void spawn_child(const pidsh_spawn_request *req, int report_read, int report_write) {
    close(report_read);
    pidsh_child_tie_to_parent();
    pidsh_child_reset_signals();
    if (req->new_process_group) setpgid(0, 0);
    if (req->remount_proc) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            child_fail(report_write, PIDSH_STAGE_REMOUNT_PROC, errno);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
            // Rootless in the host's PID namespace a new procfs of it needs privilege
            // over the host's user namespace; but when /proc already shows this
            // process's namespace (its /proc/self is itself) there is nothing to redo.
            int e = errno;
            if (e != EPERM || !proc_shows_self()) child_fail(report_write, PIDSH_STAGE_REMOUNT_PROC, e);
        }
    }
    if (req->proc_mount_dirfd >= 0) {
        int e = pidsh_mount_proc_at(req->proc_mount_dirfd);
        if (e != 0) child_fail(report_write, PIDSH_STAGE_MOUNT_PROC, e);
        close(req->proc_mount_dirfd);
    }
    int e = child_wire_fds(req->fd_map, req->fd_map_count);
    if (e != 0) child_fail(report_write, PIDSH_STAGE_CHILD_SETUP, e);
    // Nothing of pidsh's but stdio survives the exec, whoever forgot O_CLOEXEC.
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (req->working_directory && chdir(req->working_directory) != 0)
        child_fail(report_write, PIDSH_STAGE_CHILD_SETUP, errno);
    if (req->path == NULL) {
        // Named before the report pipe closes: pidsh returns on that EOF.
        if (req->init_name) prctl(PR_SET_NAME, req->init_name, 0, 0, 0);
        close(report_write);
        pidsh_init_loop();
    }
    execve(req->path, req->argv, req->envp);
    child_fail(report_write, PIDSH_STAGE_EXEC, errno);
}

typedef struct spawn_child_args {
    const pidsh_spawn_request *req;
    int report_read, report_write;
} spawn_child_args;

static int spawn_child_entry(void *p) {
    const spawn_child_args *a = p;
    spawn_child(a->req, a->report_read, a->report_write);
}

// Forks without copying pidsh's address space, as posix_spawn does: the child shares
// it (CLONE_VM) on a stack of its own, and this thread sleeps until the child execs or
// exits (CLONE_VFORK), so nothing else of pidsh runs on memory the child uses. Copying
// the page tables of a Swift process and then tearing them down at exec is most of a
// fork's cost. The child still has its own fd table and signal dispositions, and it
// makes only raw calls with every signal blocked until it has reset them. Only for
// children that exec: the init loop never would, so pidsh would never resume.
static pid_t clone_vfork_with_pidfd(uint64_t flags, int (*fn)(void *), void *arg, int *pidfd) {
    enum { CHILD_STACK = 64 * 1024 };
    _Alignas(64) char stack[CHILD_STACK];
    // Legacy clone knows CLONE_PIDFD (since 5.2): the pidfd is stored at parent_tid.
    return clone(fn, stack + CHILD_STACK,
                 (int)(flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD), arg, pidfd, NULL, NULL);
}

// ---------------------------------------------------------------------------------
int pidsh_spawn(const pidsh_spawn_request *req, pidsh_spawn_result *res) {
    res->pid = -1;
    res->pidfd = -1;
    res->error = 0;
    res->stage = PIDSH_STAGE_NONE;

    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        res->error = errno;
        res->stage = PIDSH_STAGE_PIPE;
        return -1;
    }

    int restore_fd = -1;
    int stage = 0;
    int join_by_helper = req->join_pid_namespace_fd >= 0 && pidsh_join_through_helper;
    int err = join_by_helper ? 0 : pidsh_enter_pid_ns_for_children(req->join_pid_namespace_fd, &restore_fd, &stage);
    if (err != 0) {
        close(report[0]);
        close(report[1]);
        res->error = err;
        res->stage = stage;
        return -1;
    }

    uint64_t flags = 0;
    if (req->new_pid_namespace) flags |= CLONE_NEWPID;
    if (req->remount_proc) flags |= CLONE_NEWNS;

    sigset_t saved;
    pidsh_block_signals(&saved);
    int pidfd = -1;
    pid_t pid;
    int by_helper = join_by_helper || (req->new_pid_namespace && pidsh_children_go_elsewhere());
    int vforked = req->path != NULL && !by_helper;
    int clone_stage = PIDSH_STAGE_CLONE;
    if (vforked) {
        spawn_child_args args = { req, report[0], report[1] };
        pid = clone_vfork_with_pidfd(flags, spawn_child_entry, &args, &pidfd);
    } else {
        pid = by_helper
            ? pidsh_clone_via_helper(join_by_helper ? req->join_pid_namespace_fd : -1, flags, &pidfd, &clone_stage)
            : pidsh_clone_with_pidfd(flags, &pidfd);
        if (pid == 0) spawn_child(req, report[0], report[1]);
    }
    int clone_errno = errno;
    pidsh_restore_signals(&saved);
    int restore_err = pidsh_leave_pid_ns_for_children(restore_fd);
    close(report[1]);

    if (pid < 0) {
        close(report[0]);
        res->error = clone_errno;
        res->stage = clone_stage;
        return -1;
    }

    // Wait for exec (EOF) or the child's report of what failed. After a vfork there is
    // nothing to wait for: the kernel lets this thread go only once the child has
    // either exited (having written its report first) or passed exec's point of no
    // return; so look at the pipe without blocking, which spares pidsh one more sleep
    // and wake-up per spawn (the child closes its end a little later in the exec).
    int msg[2] = { 0, 0 };
    ssize_t n = 0;
    if (vforked) {
        struct pollfd p = { .fd = report[0], .events = POLLIN, .revents = 0 };
        if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
            do {
                n = read(report[0], msg, sizeof msg);
            } while (n < 0 && errno == EINTR);
        }
    } else {
        do {
            n = read(report[0], msg, sizeof msg);
        } while (n < 0 && errno == EINTR);
    }
    close(report[0]);
    if (n == (ssize_t)sizeof msg) {
        // The child exits at once; reap it so no zombie remains.
        siginfo_t info;
        while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
        close(pidfd);
        res->error = msg[1];
        res->stage = msg[0];
        return -1;
    }
    res->pid = pid;
    res->pidfd = pidfd;
    if (restore_err != 0) {
        // The child exists, but pidsh could not return its own children to where they
        // went before: report it, the caller kills the child.
        res->error = restore_err;
        res->stage = PIDSH_STAGE_RESTORE_NS;
        return -1;
    }
    return 0;
}
