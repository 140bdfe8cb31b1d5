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
void pidsh_drop_life_pipe_writer(void) {
    if (life_write_fd >= 0) { close(life_write_fd); life_write_fd = -1; }
}

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
__attribute__((noreturn)) void pidsh_spawn_child(const pidsh_spawn_request *req, int report_read, int report_write) {
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
    pidsh_child_restore_nofile();
    execve(req->path, req->argv, req->envp);
    child_fail(report_write, PIDSH_STAGE_EXEC, errno);
}

typedef struct spawn_child_args {
    const pidsh_spawn_request *req;
    int report_read, report_write;
} spawn_child_args;

static int spawn_child_entry(void *p) {
    const spawn_child_args *a = p;
    pidsh_spawn_child(a->req, a->report_read, a->report_write);
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
    int helper_join = join_by_helper ? req->join_pid_namespace_fd : -1;
    // A child that execs costs no copy of pidsh's address space (see helper.c), but
    // for a new namespace below a joined one (two hops: the forked helper).
    int vforked = req->path != NULL && !(helper_join >= 0 && (flags & CLONE_NEWPID));
    int clone_stage = PIDSH_STAGE_CLONE;
    if (vforked && by_helper) {
        pid = pidsh_spawn_via_shared_helper(req, report[0], report[1], helper_join, flags, &pidfd, &clone_stage);
    } else if (vforked) {
        spawn_child_args args = { req, report[0], report[1] };
        pid = clone_vfork_with_pidfd(flags, spawn_child_entry, &args, &pidfd);
    } else {
        pid = by_helper
            ? pidsh_clone_via_helper(helper_join, flags, &pidfd, &clone_stage)
            : pidsh_clone_with_pidfd(flags, &pidfd);
        if (pid == 0) pidsh_spawn_child(req, report[0], report[1]);
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
