// bench/run's C reference for `spawn --enter`: N times, fork, setns into each of the
// target's namespaces in the child (descriptors opened once, as nsenter holds them),
// chroot/chdir to its root and cwd, exec /bin/true, wait.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: ref_enter N PID\n"); return 2; }
    int n = atoi(argv[1]);
    const char *types[] = { "user", "mnt", "uts", "ipc", "net", "cgroup", "pid" };
    int fds[7];
    char path[64];
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "/proc/%s/ns/%s", argv[2], types[i]);
        if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) { perror(path); return 1; }
    }
    snprintf(path, sizeof path, "/proc/%s/root", argv[2]);
    int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%s/cwd", argv[2]);
    int cwd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int k = 0; k < n; k++) {
        pid_t p = fork();
        if (p == 0) {
            // The PID namespace is for children: this process forks once more, as
            // nsenter -a does for pid.
            for (int i = 0; i < 7; i++) if (setns(fds[i], 0) != 0) { perror(types[i]); _exit(1); }
            if (fchdir(root) != 0 || chroot(".") != 0 || fchdir(cwd) != 0) _exit(1);
            pid_t q = fork();
            if (q == 0) { execl("/bin/true", "true", (char *)NULL); _exit(127); }
            int st;
            waitpid(q, &st, 0);
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
        }
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "child failed\n"); return 1; }
    }
    return 0;
}
