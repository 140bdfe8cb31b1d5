// sleepers N: forks N processes that sleep (pause) for benchmark 3, prints "ready" when
// all exist, and on SIGTERM/SIGINT/SIGHUP or EOF on stdin kills and reaps every one of
// them. Each also has PR_SET_PDEATHSIG, so none outlives this process even if it is
// SIGKILLed.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t self = getpid();
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) return 1;
    int made = 0;
    for (; made < n; made++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); break; }
        if (p == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            if (getppid() != self) _exit(0);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            for (;;) pause();
        }
        pids[made] = p;
    }
    if (made == n) { printf("ready\n"); fflush(stdout); }
    else { printf("failed after %d\n", made); fflush(stdout); }
    // Wait for a signal or stdin's EOF.
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    struct timespec tick = { 0, 100 * 1000 * 1000 };
    for (;;) {
        if (sigtimedwait(&set, NULL, &tick) > 0) break;
        if (poll(&pfd, 1, 0) > 0) {
            char buf[64];
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0) break;
        }
    }
    for (int i = 0; i < made; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < made; i++) while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {}
    return made == n ? 0 : 1;
}
