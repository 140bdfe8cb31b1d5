// Reference for benchmark 2, built as multi_pidns builds its chain: N nested PID
// namespaces; level k is PID 1 of its own namespace, mounts a procfs of it at
// DIR/proc<k>, and clones level k-1; the innermost execs `sleep infinity`. As pidsh
// does, it works in a private mount namespace, waits until the innermost has exec'd
// (EOF on a close-on-exec pipe), then SIGKILLs the outermost level, reaps it,
// unmounts and removes the directories. Usage: ref_nest [N] [DIR]  (32, /tmp)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char paths[64][256];
static int ready[2];

static void level(int k) {
    for (;;) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (mount("proc", paths[k], "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
            perror("mount proc");
            _exit(1);
        }
        if (k == 0) {
            execl("/bin/sleep", "sleep", "infinity", (char *)NULL);
            _exit(127);
        }
        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
        if (pid == 0) { k -= 1; continue; }
        if (pid < 0) { perror("clone"); _exit(1); }
        close(ready[1]);
        for (;;) pause();   // an init: the parent's SIGKILL ends it and everything below
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 32;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (n < 1 || n > 64) return 2;
    if (unshare(CLONE_NEWNS) != 0) { perror("unshare(CLONE_NEWNS)"); return 1; }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { perror("make / private"); return 1; }
    for (int k = 0; k < n; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/benchref%d.proc%d", dir, (int)getpid(), k);
        if (mkdir(paths[k], 0755) != 0) { perror(paths[k]); return 1; }
    }
    if (pipe2(ready, O_CLOEXEC) != 0) return 1;
    pid_t outer = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
    if (outer == 0) { close(ready[0]); level(n - 1); }
    close(ready[1]);
    char c;
    ssize_t r;
    do { r = read(ready[0], &c, 1); } while (r < 0 && errno == EINTR);
    kill(outer, SIGKILL);
    waitpid(outer, NULL, 0);
    int status = 0;
    for (int k = n - 1; k >= 0; k--) {
        umount2(paths[k], MNT_DETACH);
        if (rmdir(paths[k]) != 0) { perror(paths[k]); status = 1; }
    }
    return status;
}
