// CPidsh: the only C in pidsh. Everything that runs between fork/clone and exec lives
// here, because a Swift process is multi-threaded and its child may only make raw,
// async-signal-safe calls (no Swift, no malloc, no locks). Every argument is prepared
// by the Swift caller before the fork.
#ifndef CPIDSH_H
#define CPIDSH_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Where a spawn failed; reported with the errno so Swift can explain the kernel's rule.
typedef enum pidsh_stage {
    PIDSH_STAGE_NONE = 0,
    PIDSH_STAGE_OPEN_OWN_NS = 1,   // opening pid_for_children to come back after setns
    PIDSH_STAGE_SETNS = 2,         // setns(CLONE_NEWPID) into the target namespace
    PIDSH_STAGE_CLONE = 3,         // clone3/clone itself (ENOMEM: dead ns, ENOSPC: depth)
    PIDSH_STAGE_RESTORE_NS = 4,    // setns back to where pidsh's children went before
    PIDSH_STAGE_CHILD_SETUP = 5,   // prctl / signal reset / fd wiring in the child
    PIDSH_STAGE_MOUNT_PROC = 6,    // the child's own procfs mount (--mount-proc PATH)
    PIDSH_STAGE_REMOUNT_PROC = 7,  // private mount ns + /proc remount (--mount-proc)
    PIDSH_STAGE_EXEC = 8,          // execve
    PIDSH_STAGE_PIPE = 9,          // the parent's report pipe / socket
    PIDSH_STAGE_PARENT_GONE = 10,  // pidsh died before the child could start
} pidsh_stage;

typedef struct pidsh_spawn_request {
    /// Program to execve; NULL runs pidsh's minimal init loop instead (never returns).
    const char *path;
    char *const *argv;
    char *const *envp;
    /// 1: the child is PID 1 of a new PID namespace (CLONE_NEWPID).
    int new_pid_namespace;
    /// >= 0: setns(fd, CLONE_NEWPID) on this thread before the clone and back after, so
    /// the child joins that namespace (as a child of pidsh).
    int join_pid_namespace_fd;
    /// >= 0: an O_PATH directory fd; the child mounts a procfs of its own PID namespace
    /// on it before exec (new mount API, so no path is resolved in the child).
    int proc_mount_dirfd;
    /// 1: the child gets a private mount namespace with /proc remounted
    /// (as `unshare --mount-proc`).
    int remount_proc;
    /// Pairs (target, source): dup2(source, target) in the child. Sources may be any fd.
    const int *fd_map;
    int fd_map_count;
    /// 1: the child starts a new process group (a foreground job gets the terminal's ^C).
    int new_process_group;
    /// Directory to chdir to before exec, or NULL.
    const char *working_directory;
    /// comm name for the init loop ("pidsh-init"); ignored when exec'ing.
    const char *init_name;
} pidsh_spawn_request;

typedef struct pidsh_spawn_result {
    pid_t pid;      // as pidsh sees it
    int pidfd;      // close-on-exec pidfd, or -1 on error
    int error;      // errno, 0 on success
    int stage;      // pidsh_stage where it failed
} pidsh_spawn_result;

/// Forks (clone3, CLONE_PIDFD) and runs the child side. Returns 0 or -1 (see res).
/// Must be called on the thread whose pid_for_children pidsh manages (the interpreter's).
int pidsh_spawn(const pidsh_spawn_request *req, pidsh_spawn_result *res);

/// One level of a `nest` chain, as received by the parent.
typedef struct pidsh_nest_level {
    int pidfd;      // the level's first process (PID 1 of that namespace)
    pid_t pid;      // its PID as pidsh sees it
    int nsfd;       // its PID namespace, opened by the level itself (outlives a quick exit)
} pidsh_nest_level;

typedef struct pidsh_nest_request {
    int levels;                 // N: level N-1 outermost .. 0 innermost
    const int *proc_dirfds;     // N O_PATH dirfds, indexed by level, or NULL: no mounts
    const char *path;           // innermost program, NULL: pidsh init loop (sleep forever)
    char *const *argv;
    char *const *envp;
    int join_pid_namespace_fd;  // >= 0: the outermost level is created inside this ns
} pidsh_nest_request;

typedef struct pidsh_nest_result {
    int error;
    int stage;
    int failed_level;           // level whose step failed, -1 if none
    int levels_made;            // levels reported back (pidfds valid for these)
} pidsh_nest_result;

/// Builds N nested PID namespaces as multi_pidns does: each level is PID 1 of its own
/// namespace, mounts its procfs, and clones the next; the innermost execs. `out` gets
/// N entries, indexed by level. Every process is killed again on failure.
int pidsh_nest(const pidsh_nest_request *req, pidsh_nest_level *out, pidsh_nest_result *res);

/// Runs pidsh's init loop in the calling process (PID 1 of a namespace): reaps orphans
/// on SIGCHLD and never returns.
void pidsh_init_loop(void) __attribute__((noreturn));

/// Start-up, while the process is still single-threaded: enter a new user namespace
/// mapping the caller to root (when `rootless`), and a private mount namespace with
/// `/` made MS_REC|MS_PRIVATE (when `private_mounts`). Rootless, pidsh then either
/// becomes PID 1 of a PID namespace of its own (`own_pid_namespace`), or stays in the
/// host's and joins other namespaces only through a helper process. Creates the life
/// pipe that lets children notice pidsh's death. Returns 0, or the errno with *stage
/// set: 1 user namespace, 2 uid/gid map, 3 mount namespace, 4 making / private, 5 own
/// PID namespace.
int pidsh_enter_session(int private_mounts, int rootless, int own_pid_namespace, int *stage);

/// Mirrors the directory open as `dirfd` (O_PATH) with a writable tmpfs that binds
/// every original entry (see mirror.c); `/` by pivot_root. Only in pidsh's own mount
/// namespace. Returns 0 or errno; on failure nothing changed.
int pidsh_mirror_directory(int dirfd);

/// Forks the janitor (see janitor.c): it undoes recorded mounts and directories once
/// pidsh is gone, however it went. Call at start-up. Returns 0 or errno.
int pidsh_start_janitor(void);
/// Tells the janitor one journal line ("+m PATH\n", "-d PATH\n"...).
int pidsh_janitor_note(const char *line);
/// At a normal exit, after everything was undone: the janitor exits, pidsh reaps it.
void pidsh_stop_janitor(void);

/// Rootless start-up step: unshare(CLONE_NEWPID) + fork; the child returns as pidsh
/// (PID 1 of its own namespace, /proc remounted), the parent never returns.
int pidsh_enter_own_pid_namespace(void);
/// Is `pid` the janitor (so orphan reaping leaves it alone)?
int pidsh_janitor_pid(void);
/// waitid(P_ALL, WNOHANG|WNOWAIT): the PID of some child that has ended, or 0.
pid_t pidsh_peek_ended_child(void);
/// prctl(PR_SET_CHILD_SUBREAPER, 1): 0 or errno.
int pidsh_set_child_subreaper(void);
/// Reaps one child by PID (waitpid), for orphans pidsh does not track.
void pidsh_reap_pid(pid_t pid);

/// Creates the life pipe only (for embedders and tests that skip pidsh_enter_session).
int pidsh_ensure_life_pipe(void);

/// Mounts a procfs showing the caller's PID namespace at dirfd (O_PATH dir, no
/// symlink followed). Used by the helper of `mount proc`.
int pidsh_mount_proc_at(int dirfd);

/// `mount proc PATH --ns NS`: forks a helper into the namespace (setns + clone on this
/// thread), which mounts its procfs at dirfd and exits. Returns 0 or errno (*stage set).
int pidsh_mount_proc_in_namespace(int ns_fd, int dirfd, int *stage);
/// Binds /proc (with the mounts below it) at dirfd. Returns 0 or errno.
int pidsh_bind_proc_at(int dirfd);

/// At start: raises the soft RLIMIT_NOFILE to the hard limit (pidsh holds a pidfd per
/// process), remembering the limit it started with for the programs it runs. 0 or errno.
int pidsh_raise_nofile_limit(void);
/// The soft limit pidsh started with (what its programs get), and the current soft
/// and hard limits.
void pidsh_nofile_limits(unsigned long long *started_soft, unsigned long long *soft, unsigned long long *hard);

/// CLONE_NEWPID, which Glibc's Swift overlay does not export without _GNU_SOURCE.
static const int PIDSH_CLONE_NEWPID = 0x20000000;

// Thin syscall wrappers Swift cannot reach through Glibc.
int pidsh_pidfd_open(pid_t pid);
int pidsh_pidfd_send_signal(int pidfd, int sig);
int pidsh_ns_get_parent(int nsfd);
int pidsh_ns_get_nstype(int nsfd);
int pidsh_setns(int fd, int nstype);
int pidsh_unshare(int flags);
int pidsh_umount(const char *path, int flags);
int pidsh_mount_make_private_tree(const char *path);
/// waitid(P_PIDFD): returns 0 and fills code/status, or -1 (errno). nohang/nowait flags.
int pidsh_wait_pidfd(int pidfd, int nohang, int nowait, int *exited, int *code, int *signal_number);
int pidsh_open_tree_nofollow(int dirfd, const char *name);
/// At start-up: each of fd 0-2 that is closed gets /dev/null opened O_PATH (not
/// close-on-exec), on which reads and writes fail EBADF as on a closed descriptor.
void pidsh_occupy_closed_stdio(void);
/// pipe2(fds, O_CLOEXEC): 0 or -1 (errno).
int pidsh_pipe_cloexec(int fds[2]);
/// open(path, O_PATH|O_DIRECTORY|O_CLOEXEC): the start of a no-follow walk.
int pidsh_open_path_dir(const char *path);

// Signals of pidsh itself: handlers set flags that the interpreter polls.
/// Catches `sig`: its handler only records it (pidsh_take_pending_signal).
void pidsh_handle_signal(int sig);
/// While >= 0, each handled signal also writes its number as one byte to `fd` (a
/// non-blocking pipe a poll() waits on).
void pidsh_set_signal_wake_fd(int fd);
/// Returns and clears the last handled signal received, 0 if none.
int pidsh_take_pending_signal(void);
/// write(2) of up to PIPE_BUF bytes of `buf` that gives up (-1, EINTR) rather than
/// wait once a handled signal is pending for pidsh, even one that arrives while it
/// waits.
ssize_t pidsh_write_unless_interrupted(int fd, const void *buf, size_t len);
int pidsh_peek_pending_signal(void);

#ifdef __cplusplus
}
#endif
#endif
