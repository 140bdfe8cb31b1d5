// A second thread for work that reads and computes only (a listing's /proc reads), so
// two CPUs share it. Layer 0: calls nothing else in CPidsh.
//
// pidsh's interpreter runs on one thread by design, and makes its namespace calls
// there: unshare and setns act on the calling thread, unshare(CLONE_NEWUSER) refuses
// a process with two threads, and
// unshare/setns of a mount namespace refuse one whose filesystem context (fs_struct)
// is shared, as a thread's is. pthread_join returns once the thread has left its
// memory (the kernel clears its tid at exit_mm), before it has let go of that fs_struct
// and left the thread group; so pidsh_side_thread_join waits for that too, and the
// process is single-threaded again, to the kernel, when it returns.
#define _GNU_SOURCE
#include "cpidsh.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct side_thread {
    pthread_t thread;
    void (*work)(void *);
    void *arg;
    volatile pid_t tid;
} side_thread;

static void *side_thread_main(void *p) {
    side_thread *t = p;
    t->tid = (pid_t)syscall(SYS_gettid);
    t->work(t->arg);
    return NULL;
}

int pidsh_usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

void *pidsh_side_thread_start(void (*work)(void *), void *arg) {
    side_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->work = work;
    t->arg = arg;
    // Every signal stays with the thread that was there: the new one starts with all
    // of them blocked, so pidsh's handlers never run on it.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    int e = pthread_create(&t->thread, NULL, side_thread_main, t);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (e != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void pidsh_side_thread_join(void *handle) {
    side_thread *t = handle;
    pthread_join(t->thread, NULL);
    // Gone from the thread group (tgkill fails, ESRCH) means its exit is complete, fs_struct
    // and all. The last steps of an exit take microseconds; the bound only guards
    // against waiting for ever on a kernel that answers otherwise.
    pid_t tid = t->tid;
    for (int i = 0; tid > 0 && i < 100000; i++) {
        if (syscall(SYS_tgkill, getpid(), tid, 0) != 0) break;   // ESRCH: gone
        sched_yield();
    }
    free(t);
}
