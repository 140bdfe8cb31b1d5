// Helpers shared by the C files of CPidsh; not part of the Swift-visible API
// (this header is not included by cpidsh.h).
#ifndef CPIDSH_INTERNAL_H
#define CPIDSH_INTERNAL_H
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "cpidsh.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
// P_PIDFD comes from glibc's <sys/wait.h> (2.36+).

struct pidsh_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

pid_t pidsh_clone_with_pidfd(uint64_t flags, int *pidfd);
pid_t pidsh_clone_via_helper(int join_fd, uint64_t flags, int *pidfd, int *stage);
/// For a child that execs: the same without copying pidsh's memory (helper.c); not
/// for a new namespace below `join_fd` (that takes the forked helper's second hop).
pid_t pidsh_spawn_via_shared_helper(const pidsh_spawn_request *req, int report_read, int report_write,
                                    int join_fd, uint64_t flags, int *pidfd, int *stage);
/// The child side of pidsh_spawn (spawn.c): raw calls, then exec or the init loop.
void pidsh_spawn_child(const pidsh_spawn_request *req, int report_read, int report_write) __attribute__((noreturn));
/// The PID (pidsh's view) of a pidfd, from /proc/self/fdinfo. Parent side only.
pid_t pidsh_pid_of_pidfd(int pidfd);
/// In a forked helper: close its copy of the life pipe's write end.
void pidsh_drop_life_pipe_writer(void);
/// Rootless in the host's PID namespace: join namespaces only through the helper.
extern int pidsh_join_through_helper;
int pidsh_children_go_elsewhere(void);
/// Set (per thread) by every setns/unshare of CLONE_NEWPID pidsh makes: until then the
/// thread's children go to its own namespace. Any new such call must set it too.
extern __thread int pidsh_pid_for_children_moved;
void pidsh_child_tie_to_parent(void);
/// In a child before execve: the RLIMIT_NOFILE pidsh started with (limits.c).
void pidsh_child_restore_nofile(void);
void pidsh_child_reset_signals(void);
void pidsh_block_signals(sigset_t *saved);
void pidsh_restore_signals(const sigset_t *saved);
int pidsh_enter_pid_ns_for_children(int join_fd, int *restore_fd, int *stage);
int pidsh_leave_pid_ns_for_children(int restore_fd);

/// Descriptors one report can carry (a pidfd and a namespace fd).
#define PIDSH_MAX_PASSED_FDS 2
/// sendmsg of `record` with `count` descriptors (SCM_RIGHTS); async-signal-safe.
void pidsh_send_with_fds(int sock, const void *record, size_t size, const int *fds, int count);
/// recvmsg (EINTR retried): the byte count, and what descriptors came (close-on-exec).
/// -1 with EMFILE when the kernel had to drop descriptors (MSG_CTRUNC).
ssize_t pidsh_receive_with_fds(int sock, void *record, size_t size, int fds[PIDSH_MAX_PASSED_FDS], int *count);
#endif
