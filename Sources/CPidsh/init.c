// pidsh's init: PID 1 of the namespaces pidsh makes (`ns new`, `spawn --newpid --init
// reaper|forwarder`, the levels of `nest`). It reaps the orphans re-parented to it and
// never exits on its own (a forwarder exits with its program's status). It logs the
// siginfo of every signal it catches: the kernel gives an init only the signals it has
// a handler for (from an ancestor namespace, SIGKILL and SIGSTOP too), so what it
// catches is what it received. pidsh steers it over its control channel: one fixed
// binary command in, one reply out, with the kernel's result and, when pidsh traces,
// the calls made.
//
// The levels of `nest` share one address space (CLONE_VM), so nothing here lives in
// static memory: a handler writes the siginfo it got into a pipe at a fixed descriptor
// (each process has its own descriptor table), and the loop keeps its log on its own
// stack. Raw, async-signal-safe calls only: this is a fork of pidsh. Layer 2: calls
// clone.c and fdpass.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Signals logged and not yet answered for are kept here (the oldest go first).
#define INIT_LOG 256

typedef struct init_state {
    int control;                // PIDSH_INIT_CONTROL_FD, or -1 once pidsh is gone
    pid_t forward_to;           // a forwarder's program (PID 2), 0 for a reaper
    uint64_t forwarding;        // which signals the forwarder passes on
    uint32_t total;             // signals logged since the start
    pidsh_init_signal log[INIT_LOG];
} init_state;

static inline uint64_t bit_of(int sig) { return 1ULL << (sig - 1); }

static void set_of(uint64_t mask, sigset_t *set) {
    sigemptyset(set);
    for (int sig = 1; sig <= 64; sig++) if (mask & bit_of(sig)) sigaddset(set, sig);
}

// ---------------------------------------------------------------------------------
// Set-up (the caller's child side, before the loop).

static void log_signal(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    int saved = errno;
    // One siginfo is far below PIPE_BUF: written whole or not at all (a full pipe,
    // which only a flood of hundreds of signals between two wake-ups fills).
    ssize_t ignored = write(PIDSH_INIT_LOG_WRITE_FD, info, sizeof *info);
    (void)ignored;
    errno = saved;
}

int pidsh_init_descriptors(int control, int *keep) {
    int c = -1, p[2];
    if (control >= 0) {
        if ((c = fcntl(control, F_DUPFD_CLOEXEC, 10)) < 0) return errno;
        close(control);
    }
    if (keep && *keep >= 0) {
        int k = fcntl(*keep, F_DUPFD_CLOEXEC, 10);
        if (k < 0) return errno;
        close(*keep);
        *keep = k;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
    int r = fcntl(p[0], F_DUPFD_CLOEXEC, 10), w = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
    close(p[0]);
    close(p[1]);
    if (r < 0 || w < 0) return EMFILE;
    if (dup3(r, PIDSH_INIT_LOG_READ_FD, O_CLOEXEC) < 0 || dup3(w, PIDSH_INIT_LOG_WRITE_FD, O_CLOEXEC) < 0) return errno;
    close(r);
    close(w);
    if (c >= 0) {
        if (dup3(c, PIDSH_INIT_CONTROL_FD, O_CLOEXEC) < 0) return errno;
        close(c);
    } else {
        close(PIDSH_INIT_CONTROL_FD);
    }
    return 0;
}

int pidsh_init_set_disposition(int sig, int how, pidsh_call_record *rec) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (how == PIDSH_DISPOSITION_CATCH) {
        sa.sa_sigaction = log_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
    } else {
        sa.sa_handler = how == PIDSH_DISPOSITION_IGNORE ? SIG_IGN : SIG_DFL;
    }
    int r = sigaction(sig, &sa, NULL);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_RT_SIGACTION, PIDSH_ACTOR_CHILD);
        rec->target = (uint64_t)sig;
        rec->flags = (uint64_t)(unsigned)sa.sa_flags;
        rec->flags2 = (uint64_t)how;
        pidsh_record_result(rec, r, e);
    }
    errno = e;
    return r == 0 ? 0 : e;
}

// ---------------------------------------------------------------------------------
// The loop.

static void keep_signal(init_state *st, const siginfo_t *si) {
    pidsh_init_signal *e = &st->log[st->total % INIT_LOG];
    e->signo = si->si_signo;
    e->code = si->si_code;
    e->pid = si->si_pid;
    e->uid = si->si_uid;
    e->status = si->si_signo == SIGCHLD ? si->si_status : 0;
    e->unused = 0;
    st->total++;
    if (st->forward_to > 0 && si->si_signo != SIGCHLD && (st->forwarding & bit_of(si->si_signo))) {
        kill(st->forward_to, si->si_signo);
    }
}

// Moves what the handlers wrote into the log.
static void drain_log(init_state *st) {
    siginfo_t batch[8];
    for (;;) {
        ssize_t n = read(PIDSH_INIT_LOG_READ_FD, batch, sizeof batch);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        for (ssize_t i = 0; i < n / (ssize_t)sizeof batch[0]; i++) keep_signal(st, &batch[i]);
    }
}

// Reaps every child that has ended; a forwarder ends with its program.
static void reap(init_state *st) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0 || (pid < 0 && errno == EINTR)) {
        if (pid > 0 && pid == st->forward_to) {
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}

static void add_call(pidsh_init_reply *reply, const pidsh_call_record *rec, int trace) {
    if (!trace || reply->ncalls >= PIDSH_INIT_REPLY_CALLS) return;
    pidsh_call_record r = *rec;
    r.actor = PIDSH_ACTOR_INIT;
    reply->calls[reply->ncalls++] = r;
}

static void settle(pidsh_init_reply *reply, long result, int error) {
    reply->result = result;
    if (result < 0 && reply->error == 0) reply->error = error;
}

static void change_mask(const pidsh_init_command *cmd, pidsh_init_reply *reply) {
    sigset_t set;
    set_of(cmd->signals, &set);
    int how = cmd->action == PIDSH_INIT_BLOCK ? SIG_BLOCK : SIG_UNBLOCK;
    int r = sigprocmask(how, &set, NULL);
    int e = errno;
    pidsh_call_record rec = pidsh_record(PIDSH_CALL_RT_SIGPROCMASK, PIDSH_ACTOR_INIT);
    rec.flags = (uint64_t)how;
    rec.flags2 = cmd->signals;
    pidsh_record_result(&rec, r, e);
    add_call(reply, &rec, cmd->trace);
    settle(reply, r, e);
}

static void change_dispositions(const pidsh_init_command *cmd, pidsh_init_reply *reply) {
    int how = cmd->action == PIDSH_INIT_CATCH ? PIDSH_DISPOSITION_CATCH
            : cmd->action == PIDSH_INIT_IGNORE ? PIDSH_DISPOSITION_IGNORE : PIDSH_DISPOSITION_DEFAULT;
    for (int sig = 1; sig <= 64; sig++) {
        if (!(cmd->signals & bit_of(sig))) continue;
        pidsh_call_record rec;
        int e = pidsh_init_set_disposition(sig, how, &rec);
        pidsh_dispositions_changed();
        add_call(reply, &rec, cmd->trace);
        settle(reply, e == 0 ? 0 : -1, e);
    }
}

static void send_kill(const pidsh_init_command *cmd, pidsh_init_reply *reply) {
    int r = kill(cmd->target, cmd->signal);
    int e = errno;
    pidsh_call_record rec = pidsh_record(PIDSH_CALL_KILL, PIDSH_ACTOR_INIT);
    rec.target = (uint64_t)(int64_t)cmd->target;
    rec.flags2 = (uint64_t)cmd->signal;
    pidsh_record_result(&rec, r, e);
    add_call(reply, &rec, cmd->trace);
    settle(reply, r, e);
}

static void list_received(const init_state *st, const pidsh_init_command *cmd, pidsh_init_reply *reply) {
    reply->total = st->total;
    reply->oldest = st->total > INIT_LOG ? st->total - INIT_LOG : 0;
    uint32_t first = cmd->from > reply->oldest ? cmd->from : reply->oldest;
    reply->first = first;
    for (uint32_t i = first; i < st->total && reply->count < PIDSH_INIT_REPLY_SIGNALS; i++) {
        reply->signals[reply->count++] = st->log[i % INIT_LOG];
    }
}

// One command from pidsh, answered. A signal the command lets in (an unblocked one
// pending, one the init sent itself) has run its handler before the call returned, so
// the log is read again before answering: `signals received` then shows it.
static void handle_command(init_state *st) {
    pidsh_init_command cmd;
    ssize_t n;
    do { n = recv(st->control, &cmd, sizeof cmd, 0); } while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        // pidsh has gone (its death signal is on its way): nobody will ask again.
        close(st->control);
        st->control = -1;
        return;
    }
    if (n != (ssize_t)sizeof cmd) return;
    pidsh_init_reply reply;
    memset(&reply, 0, offsetof(pidsh_init_reply, signals));
    reply.action = cmd.action;
    reply.sequence = cmd.sequence;
    switch (cmd.action) {
    case PIDSH_INIT_BLOCK: case PIDSH_INIT_UNBLOCK: change_mask(&cmd, &reply); break;
    case PIDSH_INIT_CATCH: case PIDSH_INIT_IGNORE: case PIDSH_INIT_DEFAULT: change_dispositions(&cmd, &reply); break;
    case PIDSH_INIT_KILL: send_kill(&cmd, &reply); break;
    case PIDSH_INIT_RECEIVED: break;
    default: settle(&reply, -1, EINVAL); break;
    }
    drain_log(st);
    reap(st);
    if (cmd.action == PIDSH_INIT_RECEIVED) list_received(st, &cmd, &reply);
    pidsh_send_with_fds(st->control, &reply, sizeof reply, NULL, 0);
}

void pidsh_init_loop(pid_t forward_to, uint64_t forwarding) {
    // Nothing of pidsh's stays open but stdio, the control channel and the log pipe.
    syscall(SYS_close_range, (unsigned)PIDSH_INIT_LOG_WRITE_FD + 1, ~0U, 0U);
    init_state st;
    st.control = fcntl(PIDSH_INIT_CONTROL_FD, F_GETFD) >= 0 ? PIDSH_INIT_CONTROL_FD : -1;
    st.forward_to = forward_to;
    st.forwarding = forwarding;
    st.total = 0;
    for (;;) {
        drain_log(&st);
        reap(&st);
        struct pollfd p[2] = {
            { .fd = PIDSH_INIT_LOG_READ_FD, .events = POLLIN, .revents = 0 },
            { .fd = st.control, .events = POLLIN, .revents = 0 },
        };
        // A handler interrupts the wait (EINTR) and has written to the log: both wake it.
        if (poll(p, st.control >= 0 ? 2 : 1, -1) <= 0) continue;
        if (st.control >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) handle_command(&st);
    }
}

void pidsh_init_start_plain(int control) {
    if (pidsh_init_descriptors(control, NULL) != 0) control = -1;
    pidsh_init_set_disposition(SIGCHLD, PIDSH_DISPOSITION_CATCH, NULL);
    pidsh_dispositions_changed();
    // A level comes here with every signal still blocked from cloning the next: the
    // init's mask starts empty, as `ns new`'s (and is then what `ns init` makes it).
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    pidsh_init_loop(0, 0);
}
