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

int pidsh_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int pidsh_ns_get_parent(int nsfd) { return ioctl(nsfd, NS_GET_PARENT); }
int pidsh_ns_get_nstype(int nsfd) { return ioctl(nsfd, NS_GET_NSTYPE); }
int pidsh_setns(int fd, int nstype) {
    if (nstype == 0 || (nstype & CLONE_NEWPID)) pidsh_pid_for_children_moved = 1;
    return setns(fd, nstype);
}
int pidsh_unshare(int flags) {
    if (flags & CLONE_NEWPID) pidsh_pid_for_children_moved = 1;
    return unshare(flags);
}

int pidsh_wait_pidfd(int pidfd, int nohang, int nowait, int *exited, int *code, int *signal_number) {
    siginfo_t info;
    info.si_pid = 0;
    int options = WEXITED | (nohang ? WNOHANG : 0) | (nowait ? WNOWAIT : 0);
    if (waitid(P_PIDFD, (id_t)pidfd, &info, options) != 0) return -1;
    *exited = info.si_pid != 0;
    *code = 0;
    *signal_number = 0;
    if (info.si_pid == 0) return 0;
    if (info.si_code == CLD_EXITED) *code = info.si_status;
    else *signal_number = info.si_status;
    return 0;
}

// ---------------------------------------------------------------------------------
// pidsh's own signals: a flag the interpreter polls between statements and while it
// waits. No SA_RESTART, so a blocking wait returns EINTR and can look at the flag.
// Which signals, and what pidsh makes of each, is decided in Swift (OwnSignals).
static volatile sig_atomic_t pending_signal = 0;
static volatile sig_atomic_t signal_wake_fd = -1;
static sigset_t handled_signals;
static int handled_signals_ready = 0;

static void remember_signal(int sig) {
    pending_signal = sig;
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
}

void pidsh_set_signal_wake_fd(int fd) { signal_wake_fd = fd; }

int pidsh_take_pending_signal(void) {
    int s = pending_signal;
    pending_signal = 0;
    return s;
}

int pidsh_peek_pending_signal(void) { return pending_signal; }

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

pid_t pidsh_peek_ended_child(void) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 0;
    return info.si_pid;
}

void pidsh_reap_pid(pid_t pid) {
    int status;
    while (waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR) {}
}

int pidsh_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno;
}
