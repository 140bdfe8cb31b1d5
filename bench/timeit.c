// timeit: runs one command once and prints "<wall ms> <peak RSS KiB> <exit status>".
// Wall time is measured around posix_spawn + wait4 with CLOCK_MONOTONIC; the peak RSS
// is wait4's ru_maxrss (the largest of the command and the descendants it reaped).
// The command's stdout goes to /dev/null, stdin comes from /dev/null, stderr is kept.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: timeit CMD [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ);
    if (e != 0) {
        fprintf(stderr, "timeit: cannot run %s\n", argv[1]);
        return 2;
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {}
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%.3f %ld %d\n", ms, ru.ru_maxrss, code);
    return 0;
}
