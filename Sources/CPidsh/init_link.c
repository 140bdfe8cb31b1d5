// pidsh's side of an init's control channel (the init is init.c): one command record
// out, its reply in. Replies carry the command's sequence number, so a reply that
// arrives after pidsh stopped waiting for it (a signal, a time-out) is never taken for
// the answer to a later command. Layer 2: calls fdpass.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int pidsh_init_request(int control, const pidsh_init_command *cmd, pidsh_init_reply *reply, int timeout_ms, int send) {
    if (send) {
        int e = pidsh_send_with_fds(control, cmd, sizeof *cmd, NULL, 0);
        if (e != 0) return e;
    }
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) return ETIMEDOUT;
        struct pollfd p = { .fd = control, .events = POLLIN, .revents = 0 };
        int n = poll(&p, 1, (int)left);
        if (n < 0) return errno;          // EINTR: pidsh decides whether to go on
        if (n == 0) return ETIMEDOUT;
        ssize_t got = recv(control, reply, sizeof *reply, 0);
        if (got == 0) return EPIPE;
        if (got < 0) {
            if (errno == EINTR) continue;
            return errno == ECONNRESET ? EPIPE : errno;
        }
        if (got != (ssize_t)sizeof *reply) return EPROTO;
        if (reply->sequence == cmd->sequence) return 0;
        // The late answer to a command pidsh gave up on: skip it.
    }
}

int pidsh_init_channel(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : errno;
}
