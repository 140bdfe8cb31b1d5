// Recording what the C layer did (see pidsh_call_record in cpidsh.h). Inline helpers
// only, so every file may use them without calling another file of CPidsh; they make no
// system call and are safe between fork and exec.
#ifndef CPIDSH_TRACE_H
#define CPIDSH_TRACE_H
#include "cpidsh.h"
#include <string.h>

/// A record of `call` made by `actor`, everything else unknown until set.
static inline pidsh_call_record pidsh_record(int call, int actor) {
    pidsh_call_record r;
    memset(&r, 0, sizeof r);
    r.call = call;
    r.actor = actor;
    r.level = -1;
    r.fd = -1;
    return r;
}

/// Sets the result: `result` as returned, `error` the errno when it is -1.
static inline void pidsh_record_result(pidsh_call_record *r, long result, int error) {
    r->result = result;
    r->error = result < 0 ? error : 0;
}

static inline void pidsh_record_text(pidsh_call_record *r, const char *text) {
    if (!text) return;
    size_t n = 0;
    while (text[n] && n < sizeof r->text - 1) { r->text[n] = text[n]; n++; }
    r->text[n] = 0;
}

/// Appends to the trace (NULL: not tracing). A full trace counts what it lost.
static inline void pidsh_trace_add(pidsh_trace *t, const pidsh_call_record *r) {
    if (!t || !t->records) return;
    if (t->count < t->capacity) t->records[t->count++] = *r;
    else t->lost++;
}

/// Moves the records from `from` to the end so they start at `to` (to <= from): a
/// child's records, read after pidsh's later calls, shown where the child ran.
static inline void pidsh_trace_move_tail(pidsh_trace *t, int from, int to) {
    if (!t || !t->records || to >= from || from >= t->count) return;
    for (int i = from; i < t->count; i++) {
        pidsh_call_record moved = t->records[i];
        for (int k = i; k > to + (i - from); k--) t->records[k] = t->records[k - 1];
        t->records[to + (i - from)] = moved;
    }
}
#endif
