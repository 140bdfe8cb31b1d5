// Sending a small record with up to two descriptors over a SOCK_SEQPACKET socket
// (SCM_RIGHTS), as the nest chain and the CLONE_PARENT helper report to pidsh. Only
// raw calls: the sending side runs in a child between fork and exec.
#define _GNU_SOURCE
#include "cpidsh_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void pidsh_send_with_fds(int sock, const void *record, size_t size, const int *fds, int count) {
    struct iovec iov = { .iov_base = (void *)record, .iov_len = size };
    union { char buf[CMSG_SPACE(PIDSH_MAX_PASSED_FDS * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (count > PIDSH_MAX_PASSED_FDS) count = PIDSH_MAX_PASSED_FDS;
    if (count > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)count * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)count * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)count * sizeof(int));
    }
    ssize_t ignored = sendmsg(sock, &msg, MSG_NOSIGNAL);
    (void)ignored;
}

ssize_t pidsh_receive_with_fds(int sock, void *record, size_t size, int fds[PIDSH_MAX_PASSED_FDS], int *count) {
    *count = 0;
    struct iovec iov = { .iov_base = record, .iov_len = size };
    union { char buf[CMSG_SPACE(PIDSH_MAX_PASSED_FDS * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            if (k > PIDSH_MAX_PASSED_FDS) k = PIDSH_MAX_PASSED_FDS;
            memcpy(fds, CMSG_DATA(c), (size_t)k * sizeof(int));
            *count = k;
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        // The kernel could not give this process every descriptor sent (the buffer
        // holds all a sender sends): RLIMIT_NOFILE was reached (or the system's
        // file-max). A report without its descriptors is no report: fail, keep none.
        for (int k = 0; k < *count; k++) close(fds[k]);
        *count = 0;
        errno = EMFILE;
        return -1;
    }
    return n;
}
