// Reference for benchmark 1: N x (clone(CLONE_NEWPID) + exec /bin/true + wait), in
// plain C, one process after another. Usage: ref_clone [N]   (default 200)
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    char *const child_argv[] = { "true", NULL };
    for (int i = 0; i < n; i++) {
        // clone without a new stack behaves as fork, here with a new PID namespace.
        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
        if (pid < 0) { perror("clone(CLONE_NEWPID)"); return 1; }
        if (pid == 0) {
            execve("/bin/true", child_argv, environ);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "ref_clone: child failed\n");
            return 1;
        }
    }
    return 0;
}
