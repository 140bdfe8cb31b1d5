// Knowing which of pidsh's children have ended without asking about all of them:
// waitid(P_ALL) walks every child of the caller in the kernel (do_wait), so with
// thousands alive each call costs tens of microseconds, and a spawn made several.
// Instead the pidfds of the children pidsh holds sit in one epoll set (a pidfd is
// readable once its process has exited), and a SIGCHLD handler notes that some child
// changed state, which is how an exit of a child pidsh holds no pidfd of (an orphan it
// adopted as subreaper, a helper) is learnt. Beside the layers: calls nothing in CPidsh.
#define _GNU_SOURCE
#include "cpidsh.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>

static volatile sig_atomic_t child_exit_noted = 0;

static void note_child_exit(int sig) {
    (void)sig;
    child_exit_noted = 1;
}

int pidsh_watch_child_exits(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = note_child_exit;
    sigemptyset(&sa.sa_mask);
    // Restarting: pidsh's reads and writes go on; poll and ppoll still return EINTR.
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0) return -1;
    pidsh_dispositions_changed();
    return epoll_create1(EPOLL_CLOEXEC);
}

int pidsh_child_exit_noted(void) { return child_exit_noted; }

void pidsh_clear_child_exit_note(void) { child_exit_noted = 0; }

int pidsh_watch_child(int epfd, int pidfd, pid_t pid) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t)(uint32_t)pid;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev) == 0 ? 0 : errno;
}

void pidsh_unwatch_child(int epfd, int pidfd) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, NULL);
}

int pidsh_ended_children(int epfd, pid_t *pids, int max) {
    enum { BATCH = 64 };
    struct epoll_event ev[BATCH];
    int n;
    // Even a wait of 0 ms fails with EINTR when a signal arrives meanwhile; that says
    // nothing about which children ended.
    while ((n = epoll_wait(epfd, ev, max < BATCH ? max : BATCH, 0)) < 0 && errno == EINTR) {}
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) pids[i] = (pid_t)(uint32_t)ev[i].data.u64;
    return n;
}

int pidsh_wait_child_event(int pidfd, int epfd, int timeout_ms) {
    return pidsh_wait_child_event_since(pidfd, epfd, timeout_ms, -1);
}

int pidsh_wait_child_event_since(int pidfd, int epfd, int timeout_ms, int seen) {
    struct pollfd p[2] = {
        { .fd = pidfd, .events = POLLIN, .revents = 0 },
        { .fd = epfd, .events = POLLIN, .revents = 0 },
    };
    int n = pidsh_poll_unless_signalled(p, epfd >= 0 ? 2 : 1, timeout_ms, seen);
    if (n <= 0) return n;
    return (p[0].revents ? PIDSH_CHILD_EVENT_PIDFD : 0) | (epfd >= 0 && p[1].revents ? PIDSH_CHILD_EVENT_SET : 0);
}
