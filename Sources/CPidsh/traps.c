// pidsh's own signals that a script traps (`trap SIG { ... }`): the handler only notes
// the signal and wakes whoever waits (a pipe, since the thread the kernel interrupts
// need not be the one that waits); the interpreter runs the trap's block between
// statements. What was installed before the first trap (pidsh's stop-on-signal handler,
// or the default) is kept and put back by `trap SIG -`. And the one wait that a trapped
// signal, a signal that stops pidsh, or a time-out ends: `wait --timeout` and `wait
// --any` poll their pidfds through it. Beside the layers: calls syscalls.c only.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TRAP_SIGNALS 65

static volatile sig_atomic_t trapped[TRAP_SIGNALS];
static volatile sig_atomic_t any_trapped = 0;
static volatile sig_atomic_t wake_write = -1;
static int wake_read = -1;
static struct sigaction before[TRAP_SIGNALS];
static int have_before[TRAP_SIGNALS];

static void note_trapped(int sig) {
    if (sig <= 0 || sig >= TRAP_SIGNALS) return;
    trapped[sig] = 1;
    any_trapped = 1;
    int fd = wake_write;
    if (fd >= 0) {
        int saved = errno;
        ssize_t ignored = write(fd, "", 1);
        (void)ignored;
        errno = saved;
    }
}

static int ensure_wake_pipe(void) {
    if (wake_read >= 0) return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
    wake_read = p[0];
    wake_write = p[1];
    return 0;
}

int pidsh_trap_signal(int sig) {
    if (sig <= 0 || sig >= TRAP_SIGNALS) return EINVAL;
    int e = ensure_wake_pipe();
    if (e != 0) return e;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = note_trapped;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   // no SA_RESTART: a blocking call returns EINTR and looks
    if (sigaction(sig, &sa, &old) != 0) return errno;
    pidsh_dispositions_changed();
    if (!have_before[sig]) { before[sig] = old; have_before[sig] = 1; }
    return 0;
}

int pidsh_untrap_signal(int sig) {
    if (sig <= 0 || sig >= TRAP_SIGNALS) return EINVAL;
    if (!have_before[sig]) return 0;
    if (sigaction(sig, &before[sig], NULL) != 0) return errno;
    pidsh_dispositions_changed();
    have_before[sig] = 0;
    trapped[sig] = 0;
    return 0;
}

int pidsh_take_trapped_signal(void) {
    if (!any_trapped) return 0;
    any_trapped = 0;
    for (int sig = 1; sig < TRAP_SIGNALS; sig++) {
        if (trapped[sig]) {
            trapped[sig] = 0;
            // More may be noted: look again next time.
            for (int other = sig + 1; other < TRAP_SIGNALS; other++) if (trapped[other]) any_trapped = 1;
            return sig;
        }
    }
    return 0;
}

int pidsh_peek_trapped_signal(void) {
    if (!any_trapped) return 0;
    for (int sig = 1; sig < TRAP_SIGNALS; sig++) if (trapped[sig]) return sig;
    return 0;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drain_wake_pipe(void) {
    char buf[64];
    while (wake_read >= 0 && read(wake_read, buf, sizeof buf) > 0) {}
}

int pidsh_wait_for_events(const int *fds, int count, long long timeout_ms, short *revents) {
    enum { MAX_WAITED = 255 };
    if (count > MAX_WAITED) { errno = EINVAL; return -1; }
    struct pollfd p[MAX_WAITED + 1];
    for (int i = 0; i < count; i++) { p[i].fd = fds[i]; p[i].events = POLLIN; p[i].revents = 0; }
    p[count].fd = wake_read;
    p[count].events = POLLIN;
    p[count].revents = 0;
    // Every signal stays blocked but inside ppoll, so one that comes just before the
    // wait is not missed: ppoll returns EINTR at once.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int result;
    for (;;) {
        if (any_trapped || pidsh_peek_pending_signal()) { errno = EINTR; result = -1; break; }
        struct timespec left, *limit = NULL;
        if (deadline >= 0) {
            long long ms = deadline - now_ms();
            if (ms < 0) ms = 0;
            left.tv_sec = ms / 1000;
            left.tv_nsec = (ms % 1000) * 1000000;
            limit = &left;
        }
        int n = ppoll(p, (nfds_t)count + 1, limit, &saved);
        if (n < 0 && errno == EINTR) continue;    // the loop looks at the flags
        if (n < 0) { result = -1; break; }
        if (p[count].revents) { drain_wake_pipe(); p[count].revents = 0; continue; }
        result = n;
        break;
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    for (int i = 0; i < count && result >= 0; i++) revents[i] = p[i].revents;
    errno = e;
    return result;
}
