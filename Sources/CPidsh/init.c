// pidsh's minimal init: PID 1 of a namespace made by `ns new` (and each outer level of
// `nest`). It reaps orphans re-parented to it and never exits on its own; it catches
// no signal, so the kernel drops every signal sent to it except SIGKILL/SIGSTOP from
// an ancestor namespace: killing it tears the namespace down.
#define _GNU_SOURCE
#include "cpidsh.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

void pidsh_init_loop(void) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    // SIGCHLD stays blocked (hence queued, never dropped) and is taken synchronously.
    sigprocmask(SIG_BLOCK, &chld, NULL);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
        siginfo_t info;
        sigwaitinfo(&chld, &info);
    }
}
