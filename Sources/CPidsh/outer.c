// Rootless start-up: the outer process waits for pidsh (PID 1 of its own namespace),
// forwards SIGTERM, SIGHUP, SIGUSR1/2, SIGALRM to it (a terminal's ^C reaches pidsh directly), waits for the
// janitor to finish, and exits with pidsh's status. The janitor is forked by the outer
// process *before* the new PID namespace exists, so it lives outside it: it survives
// pidsh's death (a member of pidsh's namespace would be killed with its PID 1), and a
// SIGKILL to the outer process — the PID the user's shell knows — kills pidsh through
// its death signal while the janitor, reparented, still undoes what pidsh recorded.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t outer_child = -1;

static void forward_signal(int sig) {
    if (outer_child > 0) kill(outer_child, sig);
}

__attribute__((noreturn)) static void outer_main(pid_t child, pid_t janitor) {
    outer_child = child;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    // The signals pidsh stops on that a user sends to the PID they know (OwnSignals).
    static const int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    prctl(PR_SET_NAME, "pidsh-outer", 0, 0, 0);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    // pidsh is gone, and with it the janitor's only peer: the janitor undoes what is
    // left and exits. Wait for it, so whoever waits for pidsh sees a clean machine.
    if (janitor > 0) {
        int ignored;
        while (waitpid(janitor, &ignored, 0) < 0 && errno == EINTR) {}
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

int pidsh_enter_own_pid_namespace(void) {
    int e = pidsh_start_janitor();
    if (e != 0) return e;
    if (unshare(CLONE_NEWPID) != 0) return errno;
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid > 0) {
        // Only pidsh may hold the janitor's socket: its death is the janitor's end.
        close(pidsh_janitor_socket);
        pidsh_janitor_socket = -1;
        outer_main(pid, pidsh_janitor_process);
    }
    // pidsh is PID 1 here; if the outer process dies, so does pidsh (and its namespace).
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        _exit(70);
    }
    // The janitor is the outer process's child, not pidsh's: pidsh does not wait for it.
    pidsh_janitor_process = -1;
    return 0;
}
