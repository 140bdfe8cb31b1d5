// One thin wrapper per syscall Swift cannot reach through Glibc. Each returns the
// syscall's result; errno is left for the Swift side to read.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <time.h>

int pidsh_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

void pidsh_occupy_closed_stdio(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        // The lowest free descriptor: this one, as the ones below it are open.
        int placeholder = open("/dev/null", O_PATH);
        if (placeholder >= 0 && placeholder != fd) {
            dup2(placeholder, fd);
            close(placeholder);
        }
    }
}

int pidsh_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int pidsh_pidfd_send_signal(int pidfd, int sig, pid_t pid, pidsh_call_record *rec) {
    int r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_PIDFD_SEND_SIGNAL, PIDSH_ACTOR_PIDSH);
        rec->fd = pidfd;
        rec->target = (uint64_t)pid;
        rec->flags2 = (uint64_t)sig;
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r;
}

int pidsh_ns_get_parent(int nsfd) { return ioctl(nsfd, NS_GET_PARENT); }
int pidsh_ns_get_nstype(int nsfd) { return ioctl(nsfd, NS_GET_NSTYPE); }
int pidsh_ns_get_userns(int nsfd) { return ioctl(nsfd, NS_GET_USERNS); }

int pidsh_setns(int fd, int nstype, pidsh_call_record *rec) {
    if (nstype == 0 || (nstype & CLONE_NEWPID)) pidsh_pid_for_children_moved = 1;
    int r = setns(fd, nstype);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_SETNS, PIDSH_ACTOR_PIDSH);
        rec->fd = fd;
        rec->flags = (uint64_t)(unsigned)nstype;
        rec->target = pidsh_ns_inode(fd);
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r;
}

int pidsh_unshare(int flags, pidsh_call_record *rec) {
    if (flags & CLONE_NEWPID) pidsh_pid_for_children_moved = 1;
    int r = unshare(flags);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_UNSHARE, PIDSH_ACTOR_PIDSH);
        rec->flags = (uint64_t)(unsigned)flags;
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r;
}

// ---------------------------------------------------------------------------------
// pidsh's own signals: a flag the interpreter polls between statements and while it
// waits. No SA_RESTART, so a blocking wait returns EINTR and can look at the flag.
// Which signals, and what pidsh makes of each, is decided in Swift (OwnSignals).
static volatile sig_atomic_t pending_signal = 0;
// How many have come: a wait compares it with the count it started from, so one that
// came between the caller's look at the flag and the wait itself ends the wait too.
static volatile sig_atomic_t signals_received = 0;
static volatile sig_atomic_t signal_wake_fd = -1;
static sigset_t handled_signals;
static int handled_signals_ready = 0;

static void remember_signal(int sig) {
    pending_signal = sig;
    signals_received = signals_received + 1;
    // A thread that waits in poll() (the REPL's prompt) may not be the one the kernel
    // interrupts: it polls this pipe too.
    int fd = signal_wake_fd;
    if (fd >= 0) {
        int saved = errno;
        unsigned char byte = (unsigned char)sig;
        ssize_t ignored = write(fd, &byte, 1);
        (void)ignored;
        errno = saved;
    }
}

void pidsh_handle_signal(int sig) {
    if (!handled_signals_ready) { sigemptyset(&handled_signals); handled_signals_ready = 1; }
    sigaddset(&handled_signals, sig);
    struct sigaction sa;
    sa.sa_handler = remember_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(sig, &sa, NULL);
    pidsh_dispositions_changed();
}

void pidsh_set_signal_wake_fd(int fd) { signal_wake_fd = fd; }

int pidsh_take_pending_signal(void) {
    int s = pending_signal;
    pending_signal = 0;
    return s;
}

int pidsh_peek_pending_signal(void) { return pending_signal; }

int pidsh_signals_received(void) { return signals_received; }

int pidsh_poll_unless_signalled(struct pollfd *fds, int count, int timeout_ms, int seen) {
    // Every signal blocked from the comparison to the sleep, and let in by ppoll
    // itself: one that comes in between ends the ppoll at once (EINTR), where a plain
    // poll would sleep through it (and a wait for a program for as long as it runs).
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    int n;
    if (seen >= 0 && signals_received != seen) {
        n = -1;
        errno = EINTR;
    } else {
        struct timespec limit = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };
        n = ppoll(fds, (nfds_t)count, timeout_ms >= 0 ? &limit : NULL, &saved);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    errno = e;
    return n;
}

ssize_t pidsh_write_unless_interrupted(int fd, const void *buf, size_t len) {
    // At most PIPE_BUF bytes once the fd is writable: such a write never blocks on a
    // pipe. The fast path: writable now (always, for files and /dev/null).
    size_t chunk = len > PIPE_BUF ? PIPE_BUF : len;
    struct pollfd p = { .fd = fd, .events = POLLOUT, .revents = 0 };
    if (!pending_signal && poll(&p, 1, 0) == 1) {
        ssize_t r = write(fd, buf, chunk);
        if (r >= 0 || errno != EINTR) return r;
    }
    // The reader is slow. The signals stay blocked except inside ppoll, so one that
    // arrives before the wait is not lost: ppoll returns EINTR at once. Once a signal
    // is pending, only what can be written without waiting is (a message pidsh prints
    // about the signal itself still goes out when the fd can take it).
    sigset_t stop, saved;
    if (handled_signals_ready) stop = handled_signals; else sigemptyset(&stop);
    pthread_sigmask(SIG_BLOCK, &stop, &saved);
    ssize_t r;
    const struct timespec now = { 0, 0 };
    for (;;) {
        p.revents = 0;
        int n = ppoll(&p, 1, pending_signal ? &now : NULL, &saved);
        if (n < 0) {
            if (errno == EINTR) continue;
            r = -1;
            break;
        }
        if (n == 0) { errno = EINTR; r = -1; break; }
        r = write(fd, buf, chunk);
        if (r < 0 && errno == EINTR) continue;
        break;
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    errno = e;
    return r;
}

pid_t pidsh_wait_any(int nohang, pidsh_call_record *rec) {
    siginfo_t info;
    info.si_pid = 0;
    int options = WEXITED | WNOWAIT | (nohang ? WNOHANG : 0);
    int r = waitid(P_ALL, 0, &info, options);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_WAITID, PIDSH_ACTOR_PIDSH);
        rec->flags = (uint64_t)options;
        rec->flags2 = P_ALL;
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r != 0 ? -1 : info.si_pid;
}

int pidsh_reap_child(pid_t pid, int *code, int *signal_number, pidsh_call_record *rec) {
    siginfo_t info;
    info.si_pid = 0;
    int r;
    while ((r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG)) != 0 && errno == EINTR) {}
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_WAITID, PIDSH_ACTOR_PIDSH);
        rec->flags = WEXITED | WNOHANG;
        rec->flags2 = P_PID;
        rec->target = (uint64_t)pid;
        pidsh_record_result(rec, r, errno);
    }
    if (r != 0) return -1;
    if (info.si_pid == 0) return 1;
    *code = info.si_code == CLD_EXITED ? info.si_status : 0;
    *signal_number = info.si_code == CLD_EXITED ? 0 : info.si_status;
    return 0;
}

int pidsh_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno;
}

// ---------------------------------------------------------------------------------
// Mount points shared between sessions (see MountLog): each session using one holds a
// shared flock on it; the session that made it removes it only under an exclusive one.

int pidsh_lock_directory_shared(int dirfd, int timeout_ms) {
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    for (int waited = 0;; waited += 10) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0) return fd;
        if (errno != EWOULDBLOCK || waited >= timeout_ms) break;
        struct timespec ten = { 0, 10 * 1000 * 1000 };
        nanosleep(&ten, NULL);
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int pidsh_try_lock_exclusive(int fd) {
    return flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
}

const char *pidsh_errno_name(int e) { return strerrorname_np(e); }

int pidsh_umount(const char *path, int flags, pidsh_call_record *rec) {
    int r = umount2(path, flags | UMOUNT_NOFOLLOW);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_UMOUNT2, PIDSH_ACTOR_PIDSH);
        rec->flags = (uint64_t)(flags | UMOUNT_NOFOLLOW);
        pidsh_record_text(rec, path);
        pidsh_record_result(rec, r, e);
    }
    return r == 0 ? 0 : e;
}

int pidsh_open_tree_nofollow(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int pidsh_open_path_dir(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int pidsh_open_path_nofollow(const char *path) {
    return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int pidsh_openat_path_nofollow(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int pidsh_mount_make_private_tree(const char *path) {
    return mount(NULL, path, NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : errno;
}

int pidsh_kill(pid_t pid, int sig, pidsh_call_record *rec) {
    int r = kill(pid, sig);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_KILL, PIDSH_ACTOR_PIDSH);
        rec->target = (uint64_t)(int64_t)pid;
        rec->flags2 = (uint64_t)sig;
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r;
}
