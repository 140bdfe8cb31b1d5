// Clone primitives: the life pipe, clone3/clone with a pidfd, the signal mask around a
// clone, and moving this thread's pid_for_children in and out of a namespace. This file
// calls only cgroup_place.c (where a child is born; see cpidsh_internal.h).
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------
// The life pipe: pidsh holds the only write end; a child that finds it closed right
// after setting PR_SET_PDEATHSIG knows pidsh died before the signal could be armed.
static int life_read_fd = -1;
static int life_write_fd = -1;

int pidsh_ensure_life_pipe(void) {
    if (life_read_fd >= 0) return 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    life_read_fd = fds[0];
    life_write_fd = fds[1];
    return 0;
}

int pidsh_life_pipe_read_fd(void) { return life_read_fd; }

void pidsh_drop_life_pipe_writer(void) {
    if (life_write_fd >= 0) { close(life_write_fd); life_write_fd = -1; }
}

void pidsh_child_tie_to_parent(void) {
    if (life_write_fd >= 0) close(life_write_fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (life_read_fd >= 0) {
        struct pollfd p = { .fd = life_read_fd, .events = POLLIN, .revents = 0 };
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN))) _exit(126);
        close(life_read_fd);
    }
}

// ---------------------------------------------------------------------------------
// Signals around a clone. Every signal is blocked so no Swift-side handler can run in
// the child before it has reset dispositions; the child then resets them.
//
// Which to reset: a handler or SIG_IGN left in place would run pidsh's code in the
// child (a vfork child shares pidsh's memory) or pass to the program (SIG_IGN survives
// exec); a default one needs nothing. pidsh's own are about a dozen of the 64, so they
// are learnt from the kernel (one query each, in pidsh, before a clone) and the child
// resets only those, as musl's posix_spawn does with its set of installed handlers.
// Whatever changes a disposition in pidsh's C layer, or through its Swift callers,
// says so (pidsh_dispositions_changed) and the next clone asks again.
typedef struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } kernel_sigaction;

static uint64_t nondefault_dispositions = ~0ULL;
static int nondefault_known = 0;

void pidsh_dispositions_changed(void) { nondefault_known = 0; }

static void learn_nondefault_dispositions(void) {
    if (nondefault_known) return;
    uint64_t set = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        kernel_sigaction old;
        // A query the kernel refused counts as a disposition to reset.
        long r = syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask);
        if (r != 0 || old.handler != SIG_DFL) set |= 1ULL << (sig - 1);
    }
    nondefault_dispositions = set;
    nondefault_known = 1;
}

void pidsh_block_signals(sigset_t *saved) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, saved);
    learn_nondefault_dispositions();
}

void pidsh_restore_signals(const sigset_t *saved) {
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

// Every signal back to its default and an empty mask, so the program (or the init
// loop) starts as if exec'd by a fresh shell. sigaction is async-signal-safe. In a
// process whose dispositions changed since the last clone (an init that catches some),
// every signal is reset.
void pidsh_child_reset_signals(void) {
    // The raw call: glibc's sigaction refuses 32 and 33 (its own), yet a SIG_IGN pidsh
    // was started with would pass to every program; and it copies and converts each
    // action first, on the path pidsh waits on.
    kernel_sigaction kdfl = { SIG_DFL, 0, NULL, 0 };
    uint64_t reset = nondefault_known ? nondefault_dispositions : ~0ULL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || !(reset & (1ULL << (sig - 1)))) continue;
        syscall(SYS_rt_sigaction, sig, &kdfl, NULL, sizeof kdfl.mask);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
}

// ---------------------------------------------------------------------------------
// Cloning. Each records its call in *rec (actor: pidsh; the caller sets another).
// clone3 gives a pidfd atomically with the child; the old clone syscall is
// the fallback for kernels without clone3 (it also knows CLONE_PIDFD since 5.2).
pid_t pidsh_clone_with_pidfd(uint64_t flags, int *pidfd, pidsh_call_record *rec) {
    struct pidsh_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    args.exit_signal = SIGCHLD;
    int cgroup = pidsh_children_cgroup();
    if (cgroup >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup;
    }
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) return 0;
    if (r < 0 && errno == ENOSYS) {
        r = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), 0, pidfd, 0, 0);
        if (r == 0) return 0;
        if (rec) {
            *rec = pidsh_record(PIDSH_CALL_CLONE, PIDSH_ACTOR_PIDSH);
            rec->flags = flags | CLONE_PIDFD | SIGCHLD;
        }
    } else if (rec) {
        *rec = pidsh_record(PIDSH_CALL_CLONE3, PIDSH_ACTOR_PIDSH);
        rec->flags = args.flags;
        rec->flags2 = SIGCHLD;
        if (cgroup >= 0) rec->fd = cgroup;
    }
    if (rec) pidsh_record_result(rec, r, errno);
    return (pid_t)r;
}

// Forks without copying pidsh's address space, as posix_spawn does: the child shares
// it (CLONE_VM) on a stack of its own, and this thread sleeps until the child execs or
// exits (CLONE_VFORK), so nothing else of pidsh runs on memory the child uses. Copying
// the page tables of a Swift process and then tearing them down at exec is most of a
// fork's cost. The child still has its own fd table and signal dispositions, and it
// makes only raw calls with every signal blocked until it has reset them. Only for
// children that exec or exit: one that never did would never let pidsh go. A child to
// be born in the session's cgroup is cloned with clone3 (the old clone has no
// CLONE_INTO_CGROUP).
pid_t pidsh_clone_vfork(uint64_t flags, int (*fn)(void *), void *arg, char *stack, size_t size, int *pidfd,
                        pidsh_call_record *rec) {
    uint64_t all = flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD;
    int cgroup = pidsh_children_cgroup();
    pid_t pid;
    if (cgroup >= 0) {
        struct pidsh_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = all | CLONE_INTO_CGROUP;
        args.pidfd = (uint64_t)(uintptr_t)pidfd;
        args.exit_signal = SIGCHLD;
        args.stack = (uint64_t)(uintptr_t)stack;
        args.stack_size = size;
        args.cgroup = (uint64_t)cgroup;
        pid = (pid_t)pidsh_clone3_running(&args, fn, arg);
        all = args.flags;
    } else {
        // Legacy clone knows CLONE_PIDFD (since 5.2): the pidfd is stored at parent_tid.
        all |= SIGCHLD;
        pid = clone(fn, stack + size, (int)all, arg, pidfd, NULL, NULL);
    }
    int e = errno;
    if (rec) {
        *rec = pidsh_record(cgroup >= 0 ? PIDSH_CALL_CLONE3 : PIDSH_CALL_CLONE, PIDSH_ACTOR_PIDSH);
        rec->flags = all;
        if (cgroup >= 0) { rec->flags2 = SIGCHLD; rec->fd = cgroup; }
        pidsh_record_result(rec, pid, e);
    }
    errno = e;
    return pid;
}

#if PIDSH_HAVE_CLONE3_RUNNING
// The child starts on its own stack at the instruction after the syscall, with no frame
// of this function under it: it calls fn(arg) and exits with the result, all in
// registers (the ones a syscall keeps: not rax, rcx, r11). 16-byte stack alignment at
// the call comes from the stack's top (the callers' arrays are 64-byte aligned).
long pidsh_clone3_running(struct pidsh_clone_args *args, int (*fn)(void *), void *arg) {
    register long nr __asm__("rax") = SYS_clone3;
    register struct pidsh_clone_args *a __asm__("rdi") = args;
    register unsigned long n __asm__("rsi") = sizeof *args;
    register int (*f)(void *) __asm__("r12") = fn;
    register void *p __asm__("r13") = arg;
    __asm__ volatile(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xorl %%ebp, %%ebp\n\t"
        "movq %%r13, %%rdi\n\t"
        "callq *%%r12\n\t"
        "movl %%eax, %%edi\n\t"
        "movl %[exit], %%eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "+r"(nr)
        : "r"(a), "r"(n), "r"(f), "r"(p), [exit] "i"(SYS_exit)
        : "rcx", "r11", "memory", "cc");
    if (nr < 0 && nr > -4096) {
        errno = (int)-nr;
        return -1;
    }
    return nr;
}
#else
long pidsh_clone3_running(struct pidsh_clone_args *args, int (*fn)(void *), void *arg) {
    (void)args; (void)fn; (void)arg;
    errno = ENOSYS;
    return -1;
}
#endif

// ---------------------------------------------------------------------------------
// Where this thread's children go.

// Set once at start-up by a rootless pidsh that stays in the host's PID namespace: it
// joins other namespaces only through a helper process.
int pidsh_join_through_helper = 0;

// Whether clone(CLONE_NEWPID) on this thread needs a helper: the thread's
// pid_for_children is a namespace other than its own. (It cannot be opened while an
// `unshare --pid` waits for its first process: then the kernel's EINVAL stands.)
__thread int pidsh_pid_for_children_moved = 0;

int pidsh_children_go_elsewhere(void) {
    // Until this thread called setns/unshare with CLONE_NEWPID (through pidsh's
    // wrappers, which note it), pid_for_children is its own namespace: no need for the
    // two /proc path walks below on every spawn.
    if (!pidsh_pid_for_children_moved) return 0;
    struct stat own, children;
    if (stat("/proc/self/ns/pid", &own) != 0) return 0;
    if (stat("/proc/thread-self/ns/pid_for_children", &children) != 0) return 0;
    return own.st_ino != children.st_ino || own.st_dev != children.st_dev;
}

uint64_t pidsh_ns_inode(int nsfd) {
    struct stat st;
    return fstat(nsfd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void record_setns(pidsh_trace *trace, int fd, int result, int error) {
    pidsh_call_record r = pidsh_record(PIDSH_CALL_SETNS, PIDSH_ACTOR_PIDSH);
    r.fd = fd;
    r.flags = CLONE_NEWPID;
    r.target = pidsh_ns_inode(fd);
    pidsh_record_result(&r, result, error);
    pidsh_trace_add(trace, &r);
}

int pidsh_enter_pid_ns_for_children(int join_fd, int *restore_fd, int *stage, pidsh_trace *trace) {
    *restore_fd = -1;
    if (join_fd < 0) return 0;
    pidsh_pid_for_children_moved = 1;
    int own = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if (own < 0) {
        *stage = PIDSH_STAGE_OPEN_OWN_NS;
        return errno;
    }
    int r = setns(join_fd, CLONE_NEWPID);
    int e = errno;
    record_setns(trace, join_fd, r, e);
    if (r != 0) {
        close(own);
        *stage = PIDSH_STAGE_SETNS;
        return e;
    }
    *restore_fd = own;
    return 0;
}

int pidsh_leave_pid_ns_for_children(int restore_fd, pidsh_trace *trace) {
    if (restore_fd < 0) return 0;
    int r = setns(restore_fd, CLONE_NEWPID);
    int e = errno;
    record_setns(trace, restore_fd, r, e);
    close(restore_fd);
    return r == 0 ? 0 : e;
}
