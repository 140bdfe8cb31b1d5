// sleepers N [M]: N extra processes that sleep (pause), for benchmark 3.
//
//   sleepers N      N children of this helper, in its own PID namespace
//   sleepers N M    M new PID namespaces holding N processes between them: each is
//                   PID 1 of its namespace (cloned with CLONE_NEWPID) and N/M - 1
//                   children of it that sleep (the first N % M namespaces one more)
//
// Prints "ready" once every process exists ("failed ..." if one could not be made),
// then waits for SIGTERM/SIGINT/SIGHUP or EOF on stdin, kills every child it made
// (SIGKILL; a namespace's init takes its members with it) and reaps them. Every process
// also has PR_SET_PDEATHSIG, so none outlives this helper even if it is SIGKILLed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigset_t stop_signals;

// In a new child: die with the parent `parent` (gone already: exit at once).
static void die_with(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(0);
}

// A child that sleeps until it is killed.
static void sleep_forever(pid_t parent) {
    die_with(parent);
    sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
    for (;;) pause();
}

// Forks `n` sleepers; returns how many were made, their PIDs in `pids` when given.
static int fork_sleepers(int n, pid_t *pids) {
    pid_t self = getpid();
    int made = 0;
    for (; made < n; made++) {
        pid_t p = fork();
        if (p < 0) { perror("sleepers: fork"); break; }
        if (p == 0) sleep_forever(self);
        if (pids) pids[made] = p;
    }
    return made;
}

// PID 1 of a new namespace: forks `members` sleepers, reports on `ready` ('+' all
// made, '-' not), then reaps until it is killed (SIGKILL from the helper, or its
// PR_SET_PDEATHSIG), which makes the kernel kill every member.
static void namespace_init(int members, int ready) {
    // Its parent is outside its namespace, so getppid() is 0 and cannot tell whether
    // the helper died before this prctl. The report does: the helper holds the pipe's
    // only read end, so a dead helper makes the write fail (EPIPE; SIGPIPE is ignored by
    // a namespace's init) and the init exits, taking its members with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    char verdict = fork_sleepers(members, NULL) == members ? '+' : '-';
    if (write(ready, &verdict, 1) != 1) _exit(1);
    close(ready);
    for (;;) if (wait(NULL) < 0 && errno == ECHILD) pause();
}

// clone3(CLONE_NEWPID) as a fork: the child is PID 1 of a new PID namespace.
static pid_t fork_into_new_namespace(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWPID;
    args.exit_signal = SIGCHLD;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

// Makes `m` namespaces holding `n` processes in all, one after another (a namespace
// is filled before the next is made, so each one's PIDs are consecutive: where PIDs
// wrap, at most one namespace has members numbered below its init); returns how many
// inits were made (their PIDs in `pids`), and whether every member was made in
// `complete`.
static int make_namespaces(int n, int m, pid_t *pids, int *complete) {
    int made = 0;
    *complete = 0;
    for (; made < m; made++) {
        // A pipe per namespace: its init holds the only write end, so its report, or
        // its end (EOF), is what the read sees.
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) { perror("sleepers: pipe"); return made; }
        int members = n / m - 1 + (made < n % m ? 1 : 0);
        pid_t p = fork_into_new_namespace();
        if (p < 0) { perror("sleepers: clone3(CLONE_NEWPID)"); close(fds[0]); close(fds[1]); return made; }
        if (p == 0) { close(fds[0]); namespace_init(members, fds[1]); }
        pids[made] = p;
        close(fds[1]);
        char verdict = 0;
        ssize_t r = read(fds[0], &verdict, 1);
        close(fds[0]);
        if (r != 1 || verdict != '+') return made + 1;
    }
    *complete = 1;
    return made;
}

// Until a stop signal or stdin's EOF.
static void wait_for_stop(void) {
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    struct timespec tick = { 0, 100 * 1000 * 1000 };
    for (;;) {
        if (sigtimedwait(&stop_signals, NULL, &tick) > 0) return;
        if (poll(&pfd, 1, 0) > 0) {
            char buf[64];
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0) return;
        }
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    int m = argc > 2 ? atoi(argv[2]) : 0;
    if (n < 0 || m < 0 || (m > 0 && n < m)) {
        fprintf(stderr, "usage: sleepers N [M]   (N >= M: every namespace has its init)\n");
        return 2;
    }
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int wanted = m > 0 ? m : n;
    pid_t *pids = calloc((size_t)wanted + 1, sizeof *pids);
    if (!pids) return 1;
    int complete = 0;
    int made = m > 0 ? make_namespaces(n, m, pids, &complete) : fork_sleepers(n, pids);
    if (m == 0) complete = made == n;
    if (complete) printf("ready\n");
    else printf("failed after %d of %d %s\n", made, wanted, m > 0 ? "namespaces" : "processes");
    fflush(stdout);
    if (complete) wait_for_stop();
    for (int i = 0; i < made; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < made; i++) while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {}
    return complete ? 0 : 1;
}
