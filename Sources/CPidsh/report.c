// The report channel between pidsh and a process it made (a child before exec, a
// helper, a nest level): a SOCK_SEQPACKET socket carrying pidsh_report messages, each
// with the calls the process made, a failure (stage, errno), or descriptors (a procfs
// mount, a pidfd, a namespace); or, for a child that runs in pidsh's memory and hands
// over no descriptor, a mailbox in that memory. The sending side runs between fork and
// exec: raw calls only. Layer 2: calls fdpass.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

void pidsh_report_init(pidsh_report *rep, int kind, int level) {
    memset(rep, 0, offsetof(pidsh_report, records));
    rep->kind = kind;
    rep->level = level;
    rep->channel = -1;
}

void pidsh_report_bind(pidsh_report *rep, int sock) { rep->channel = sock; }

// ---------------------------------------------------------------------------------
// The mailbox: a child in pidsh's memory writes its reports there. A thread variable,
// because the child runs on the cloning thread's memory and thread block while that
// thread sleeps (CLONE_VFORK): no other thread sees it, nothing races.
static __thread pidsh_mailbox *mailbox;

void pidsh_mailbox_init(pidsh_mailbox *box, pidsh_call_record *records, int capacity) {
    memset(box, 0, sizeof *box);
    box->records = records;
    box->capacity = records ? capacity : 0;
}

void pidsh_report_mailbox_set(pidsh_mailbox *box) { mailbox = box; }

static void post_to_mailbox(const pidsh_report *rep, int fd_count) {
    pidsh_mailbox *box = mailbox;
    if (!box) return;
    int n = rep->count < PIDSH_REPORT_RECORDS ? rep->count : PIDSH_REPORT_RECORDS;
    for (int i = 0; i < n; i++) {
        if (box->count < box->capacity) box->records[box->count++] = rep->records[i];
        else if (box->records) box->lost++;
    }
    // A descriptor cannot go through memory (pidsh_spawn never asks it to): a report
    // that carries one says the child's outcome cannot be known.
    int failed = rep->kind == PIDSH_REPORT_FAILED || fd_count > 0;
    if (failed && !box->failed) {
        box->failed = 1;
        box->stage = rep->kind == PIDSH_REPORT_FAILED ? rep->stage : PIDSH_STAGE_PIPE;
        box->error = rep->kind == PIDSH_REPORT_FAILED ? rep->error : EINVAL;
    }
}

// Sends a report over its socket, or posts it to the mailbox. 0 or errno.
static int deliver(int channel, const pidsh_report *rep, const int *fds, int count) {
    if (channel != PIDSH_CHANNEL_MEMORY) return pidsh_send_with_fds(channel, rep, sizeof *rep, fds, count);
    post_to_mailbox(rep, count);
    return 0;
}

void pidsh_report_add(pidsh_report *rep, const pidsh_call_record *r) {
    if (rep->count == PIDSH_REPORT_RECORDS && rep->channel != -1) {
        int kind = rep->kind;
        rep->kind = PIDSH_REPORT_CALLS;
        deliver(rep->channel, rep, NULL, 0);
        rep->kind = kind;
        rep->count = 0;
    }
    if (rep->count < PIDSH_REPORT_RECORDS) rep->records[rep->count++] = *r;
}

void pidsh_report_add_calls(pidsh_report *rep, const pidsh_calls *calls, int actor, int level) {
    for (int i = 0; i < calls->n; i++) {
        pidsh_call_record r = calls->r[i];
        r.actor = actor;
        r.level = level;
        pidsh_report_add(rep, &r);
    }
}

int pidsh_report_send(int sock, pidsh_report *rep, const int *fds, int count) {
    int e = deliver(sock, rep, fds, count);
    rep->count = 0;
    return e;
}

void pidsh_report_fail(int sock, pidsh_report *rep, int stage, int err) {
    rep->kind = PIDSH_REPORT_FAILED;
    rep->stage = stage;
    rep->error = err;
    deliver(sock, rep, NULL, 0);
    _exit(127);
}

// ---------------------------------------------------------------------------------
// Parent side.

void pidsh_trace_add_report(pidsh_trace *t, const pidsh_report *rep, pid_t actor_pid) {
    int n = rep->count < PIDSH_REPORT_RECORDS ? rep->count : PIDSH_REPORT_RECORDS;
    for (int i = 0; i < n; i++) {
        pidsh_call_record r = rep->records[i];
        if (r.actor_pid == 0 && r.actor != PIDSH_ACTOR_LEVEL) r.actor_pid = actor_pid;
        pidsh_trace_add(t, &r);
    }
}

// The execve record a child sends before exec'ing (result 0 provisionally).
static int last_execve(const pidsh_trace *t, int from) {
    if (!t) return -1;
    for (int i = t->count - 1; i >= from; i--) if (t->records[i].call == PIDSH_CALL_EXECVE) return i;
    return -1;
}

// The exec's outcome: a successful exec closed the channel (or let pidsh go on), a
// failed one was reported with its errno.
static void settle_execve(pidsh_trace *trace, int first, const pidsh_outcome *out) {
    int exec = last_execve(trace, first);
    if (exec >= 0 && out->failed && out->stage == PIDSH_STAGE_EXEC) {
        trace->records[exec].result = -1;
        trace->records[exec].error = out->error;
    }
}

static int report_queued(int sock) {
    struct pollfd p = { .fd = sock, .events = POLLIN, .revents = 0 };
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR) {}   // a signal, not an answer
    return n > 0 && (p.revents & (POLLIN | POLLHUP));
}

void pidsh_drain_reports(int sock, int wait, pid_t pid, pidsh_trace *trace, pidsh_outcome *out) {
    memset(out, 0, sizeof *out);
    out->mount.fd = -1;
    int first = trace ? trace->count : 0;
    for (;;) {
        if (!wait && !report_queued(sock)) break;
        pidsh_report rep;
        int fds[PIDSH_MAX_PASSED_FDS];
        int count = 0;
        ssize_t n = pidsh_receive_with_fds(sock, &rep, sizeof rep, fds, &count);
        if (n == 0) break;
        if (n < 0) {
            // A report lost (no room for its descriptors): the child's outcome is unknown.
            if (!out->failed) { out->failed = 1; out->stage = PIDSH_STAGE_PIPE; out->error = errno; }
            break;
        }
        if ((size_t)n < offsetof(pidsh_report, records)) { for (int i = 0; i < count; i++) close(fds[i]); continue; }
        pidsh_trace_add_report(trace, &rep, pid);
        int keep = -1;
        if (rep.kind == PIDSH_REPORT_FAILED && !out->failed) {
            out->failed = 1;
            out->stage = rep.stage;
            out->error = rep.error;
        } else if (rep.kind == PIDSH_REPORT_MOUNTED && count > 0) {
            out->mount.fd = fds[0];
            out->mount.mount_id = rep.mount_id;
            keep = 0;
        }
        for (int i = 0; i < count; i++) if (i != keep) close(fds[i]);
    }
    settle_execve(trace, first, out);
}

void pidsh_drain_mailbox(const pidsh_mailbox *box, pid_t pid, pidsh_trace *trace, pidsh_outcome *out) {
    memset(out, 0, sizeof *out);
    out->mount.fd = -1;
    int first = trace ? trace->count : 0;
    for (int i = 0; i < box->count; i++) {
        pidsh_call_record r = box->records[i];
        if (r.actor_pid == 0 && r.actor != PIDSH_ACTOR_LEVEL) r.actor_pid = pid;
        pidsh_trace_add(trace, &r);
    }
    if (trace) trace->lost += box->lost;
    out->failed = box->failed;
    out->stage = box->stage;
    out->error = box->error;
    settle_execve(trace, first, out);
}
