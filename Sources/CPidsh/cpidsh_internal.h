// Functions shared by the C files of CPidsh; not part of the Swift-visible API. The
// files are layered, and a file calls only functions of the layers below its own:
//
//   0  cgroup_place.c  where children are born: the session's cgroup (CLONE_INTO_CGROUP)
//   1  clone.c    clone primitives: life pipe, clone3/clone with a pidfd, signals around
//                 a clone, entering and leaving a PID namespace for children
//      fdpass.c   one record plus descriptors over a socket (SCM_RIGHTS)
//      procfs.c   procfs mounts with the new mount API, mount ids
//   2  report.c   the report channel of a child: call records, failure, descriptors
//      janitor_link.c  pidsh's side of the janitor's socket (children use it too)
//      undo.c     undoing a mount or a directory by handle
//      init.c     pidsh's init: its descriptors, dispositions and loop
//      init_link.c  pidsh's side of an init's control channel
//   3  child.c    the child side of a spawn: mounts, descriptors, exec or init loop
//   4  helper.c   helper processes that clone on pidsh's behalf
//   5  launch.c   enter namespace -> block signals -> clone (direct or via a helper)
//                 -> restore -> leave: written once, for spawn, mount and nest
//   6  spawn.c, nest.c, mountns.c   the operations
//
// Beside them: janitor.c (the janitor process), outer.c (a rootless pidsh's outer
// process), session.c (start-up), mirror.c, syscalls.c (thin wrappers), traps.c
// (pidsh's own trapped signals and the waits they interrupt).
#ifndef CPIDSH_INTERNAL_H
#define CPIDSH_INTERNAL_H
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "cpidsh.h"
#include "trace.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
// P_PIDFD comes from glibc's <sys/wait.h> (2.36+).

// ---- 1: clone.c ------------------------------------------------------------------
struct pidsh_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;   // CLONE_ARGS_SIZE_VER2 (Linux 5.7)
};
// PIDFD_GET_INFO (Linux 6.13), not in every linux/pidfd.h this builds against: the
// first 64 bytes of the kernel's struct pidfd_info, and the fields asked for. An older
// kernel answers ENOTTY or EINVAL (the callers then read /proc, or move pidsh itself).
struct pidsh_pidfd_info {
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0;
};
#define PIDSH_PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidsh_pidfd_info)
#define PIDSH_PIDFD_INFO_CREDS (1UL << 1)
#define PIDSH_PIDFD_INFO_CGROUPID (1UL << 2)

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
/// The cgroup2 directory a child is cloned into (CLONE_INTO_CGROUP), or -1: it is born
/// in pidsh's own cgroup (cgroup_place.c).
int pidsh_children_cgroup(void);
/// clone3 of a child that runs fn(arg) on the stack [stack, stack + size) and exits with
/// its result, the caller asleep until it execs or exits (CLONE_VM | CLONE_VFORK in
/// `flags`): glibc's clone() cannot pass CLONE_INTO_CGROUP. -1 with ENOSYS where this
/// build has no such clone (PIDSH_HAVE_CLONE3_RUNNING 0).
#if defined(__x86_64__)
#define PIDSH_HAVE_CLONE3_RUNNING 1
#else
#define PIDSH_HAVE_CLONE3_RUNNING 0
#endif
long pidsh_clone3_running(struct pidsh_clone_args *args, int (*fn)(void *), void *arg);
/// clone3 with CLONE_PIDFD (legacy clone where clone3 is missing). Records the call.
pid_t pidsh_clone_with_pidfd(uint64_t flags, int *pidfd, pidsh_call_record *rec);
/// clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|flags) running fn on the stack [stack, stack +
/// size): the caller sleeps until the child execs or exits. clone3 when the child is to
/// be born in the session's cgroup. Records the call.
pid_t pidsh_clone_vfork(uint64_t flags, int (*fn)(void *), void *arg, char *stack, size_t size, int *pidfd,
                        pidsh_call_record *rec);
/// In a forked helper: close its copy of the life pipe's write end.
void pidsh_drop_life_pipe_writer(void);
/// The life pipe's read end (-1 before the first child): a child keeps it.
int pidsh_life_pipe_read_fd(void);
/// Child side: PR_SET_PDEATHSIG(SIGKILL), then exit 126 if pidsh is already gone.
void pidsh_child_tie_to_parent(void);
/// Child side: every disposition to default, an empty mask.
void pidsh_child_reset_signals(void);
/// In a child before execve: the RLIMIT_NOFILE pidsh started with (limits.c).
void pidsh_child_restore_nofile(void);
void pidsh_block_signals(sigset_t *saved);
void pidsh_restore_signals(const sigset_t *saved);
/// Rootless in the host's PID namespace: join namespaces only through a helper.
extern int pidsh_join_through_helper;
/// Whether this thread's pid_for_children is not its own namespace.
int pidsh_children_go_elsewhere(void);
/// Set (per thread) by every setns/unshare of CLONE_NEWPID pidsh makes: until then the
/// thread's children go to its own namespace. Any new such call must set it too.
extern __thread int pidsh_pid_for_children_moved;
/// setns(join_fd, CLONE_NEWPID) on this thread, remembering where it was (*restore_fd,
/// -1 when nothing changed). 0 or errno with *stage. Records the setns in `trace`.
int pidsh_enter_pid_ns_for_children(int join_fd, int *restore_fd, int *stage, pidsh_trace *trace);
/// Back to where this thread's children went before: 0 or errno. Records the setns.
int pidsh_leave_pid_ns_for_children(int restore_fd, pidsh_trace *trace);
/// A namespace fd's inode (its id), 0 if unknown.
uint64_t pidsh_ns_inode(int nsfd);

// ---- 1: fdpass.c -----------------------------------------------------------------
/// Descriptors one message can carry.
#define PIDSH_MAX_PASSED_FDS 4
/// sendmsg of `record` with `count` descriptors (SCM_RIGHTS); async-signal-safe.
/// Returns 0 or errno.
int pidsh_send_with_fds(int sock, const void *record, size_t size, const int *fds, int count);
/// recvmsg (EINTR retried): the byte count, and what descriptors came (close-on-exec).
/// Descriptors the kernel could not pass (MSG_CTRUNC: the receiver is at its limit)
/// make it fail with EMFILE, closing what did come.
ssize_t pidsh_receive_with_fds(int sock, void *record, size_t size, int fds[PIDSH_MAX_PASSED_FDS], int *count);

// ---- 1: procfs.c -----------------------------------------------------------------
/// A few call records, made by a primitive for its caller to pass on.
typedef struct pidsh_calls {
    pidsh_call_record r[4];
    int n;
} pidsh_calls;
/// A new procfs of the caller's PID namespace, not yet attached anywhere: the mount's
/// fd (fsopen + fsconfig + fsmount), or -1 with errno. Each call is recorded in `calls`.
int pidsh_procfs_create(pidsh_calls *calls);
/// Attaches a detached mount onto the O_PATH directory dirfd (move_mount). 0 or errno.
int pidsh_mount_attach(int mount_fd, int dirfd, pidsh_calls *calls);
/// A detached copy of /proc with the mounts below it (open_tree): fd or -1 with errno.
int pidsh_proc_tree_clone(pidsh_calls *calls);

// ---- 2: report.c -----------------------------------------------------------------
/// What a child (or helper, or nest level) tells pidsh over its report channel: a
/// SOCK_SEQPACKET socket, one message per report, descriptors attached.
enum pidsh_report_kind {
    PIDSH_REPORT_CALLS = 1,   // only call records
    PIDSH_REPORT_FAILED = 2,  // stage + error: the child gives up
    PIDSH_REPORT_MOUNTED = 3, // fds[0]: its procfs mount; mount_id
    PIDSH_REPORT_READY = 4,   // a nest level is ready: fds as fd_kinds says
    PIDSH_REPORT_CLONED = 5,  // a helper's clone: fds[0] the new process's pidfd
    PIDSH_REPORT_HOP = 6,     // a helper's second helper: fds[0] its pidfd (pidsh reaps it)
};
enum pidsh_fd_kind { PIDSH_FD_NONE = 0, PIDSH_FD_PIDFD = 1, PIDSH_FD_NAMESPACE = 2, PIDSH_FD_MOUNT = 3, PIDSH_FD_CONTROL = 4 };
#define PIDSH_REPORT_RECORDS 8
typedef struct pidsh_report {
    int32_t kind;
    int32_t level;
    int32_t stage;
    int32_t error;
    uint64_t mount_id;
    int32_t fd_kinds[PIDSH_MAX_PASSED_FDS];
    int32_t count;
    int32_t channel;    // sender side: where a full report is flushed (-1: nowhere;
                        // PIDSH_CHANNEL_MEMORY: the mailbox)
    pidsh_call_record records[PIDSH_REPORT_RECORDS];
} pidsh_report;
/// An empty report of `kind` for `level` (-1: not a nest level).
void pidsh_report_init(pidsh_report *rep, int kind, int level);
/// Adds a record; a full report is sent first (as PIDSH_REPORT_CALLS) when a channel
/// is set with pidsh_report_bind.
void pidsh_report_add(pidsh_report *rep, const pidsh_call_record *r);
/// The channel to flush full reports to (-1: records beyond the capacity are dropped).
void pidsh_report_bind(pidsh_report *rep, int sock);
/// Sends the report with `count` descriptors (kinds in fd_kinds). Raw calls only.
int pidsh_report_send(int sock, pidsh_report *rep, const int *fds, int count);
/// Child side: reports the failure (stage, errno) with the calls so far, and exits 127.
void pidsh_report_fail(int sock, pidsh_report *rep, int stage, int err) __attribute__((noreturn));

/// What pidsh learnt from a child's reports (parent side).
typedef struct pidsh_outcome {
    int failed;                 // a FAILED report came
    int stage, error;
    pidsh_mount_handle mount;   // a MOUNTED report's mount (fd -1 if none)
} pidsh_outcome;
/// Reads reports until end-of-file (`wait`) or until none is queued (!wait), adding
/// their records to `trace` with actor_pid = pid. The execve record a successful child
/// left pending is settled: result 0, or the failure's errno.
void pidsh_drain_reports(int sock, int wait, pid_t pid, pidsh_trace *trace, pidsh_outcome *out);
/// A child that runs in pidsh's memory (cloned vfork-style: the cloning thread sleeps
/// until it execs or exits) and hands over no descriptor reports there instead of over
/// a socket: its channel is PIDSH_CHANNEL_MEMORY, and what it sends lands in the
/// mailbox the cloning thread set (the child runs on that thread's memory).
#define PIDSH_CHANNEL_MEMORY (-2)
#define PIDSH_MAILBOX_RECORDS 128
typedef struct pidsh_mailbox {
    pidsh_call_record *records;  // NULL: the records are not kept (pidsh does not trace)
    int32_t capacity, count, lost;
    int32_t failed, stage, error;
} pidsh_mailbox;
/// An empty mailbox keeping up to `capacity` records in `records` (may be NULL).
void pidsh_mailbox_init(pidsh_mailbox *box, pidsh_call_record *records, int capacity);
/// The mailbox this thread's next child in its memory reports to (NULL: none).
void pidsh_report_mailbox_set(pidsh_mailbox *box);
/// Parent side, after the child exec'd or exited: its records into `trace` (actor_pid =
/// pid) and its outcome, as pidsh_drain_reports does for a socket.
void pidsh_drain_mailbox(const pidsh_mailbox *box, pid_t pid, pidsh_trace *trace, pidsh_outcome *out);
/// Adds a primitive's records, made by `actor` (at nest `level`, or -1).
void pidsh_report_add_calls(pidsh_report *rep, const pidsh_calls *calls, int actor, int level);
/// Appends a report's records to the trace with the acting process's PID.
void pidsh_trace_add_report(pidsh_trace *t, const pidsh_report *rep, pid_t actor_pid);

// ---- 2: janitor_link.c -----------------------------------------------------------
/// The janitor's records, binary (no byte of a path is ever parsed as syntax).
enum pidsh_janitor_kind {
    PIDSH_JANITOR_MAKE_DIRECTORY = 1, // fds: [parent]; name, mode. Replies with the new dir.
    PIDSH_JANITOR_MOUNT = 2,          // fds: [mount root]; mount_id
    PIDSH_JANITOR_FORGET = 3,
    PIDSH_JANITOR_JOURNAL = 4,        // fds: [directory]; name: the journal file to remove
    PIDSH_JANITOR_DIRECTORY = 5,      // fds: [parent, directory]; name: a mount point pidsh found
    PIDSH_JANITOR_CGROUP = 6,         // (recorded kind) the session's cgroup, made on request:
    PIDSH_JANITOR_MAKE_CGROUP = 7,    // fds: [parent]; name. Replies with the new cgroup.
    PIDSH_JANITOR_MAKE_FILE = 8,      // fds: [parent]; name. Replies with the new file (a pin).
    PIDSH_JANITOR_FILE = 9,           // (recorded kind) that file
    PIDSH_JANITOR_MAKE_SCRATCH = 10,  // fds: [parent]; name, mode. Replies with the new dir.
    PIDSH_JANITOR_SCRATCH = 11,       // (recorded kind) that directory, removed with its contents
};
typedef struct pidsh_janitor_message {
    uint32_t kind;
    uint32_t mode;
    uint64_t record;
    uint64_t mount_id;
    int32_t error;          // in a reply
    char name[256];         // one path component (no '/'), NUL-terminated
} pidsh_janitor_message;
#define PIDSH_JANITOR_CAPACITY 4096
/// Started by pidsh_start_janitor: pidsh's end of the socket (-1 before), and the janitor.
extern int pidsh_janitor_socket;
extern pid_t pidsh_janitor_process;
/// The janitor's main loop (janitor.c): never returns.
void pidsh_janitor_main(int sock) __attribute__((noreturn));

// ---- 2: init.c -------------------------------------------------------------------
/// pidsh's init keeps its control channel, and the pipe its handlers log siginfo into,
/// at fixed descriptors (the levels of `nest` share memory, not descriptor tables).
#define PIDSH_INIT_CONTROL_FD 3
#define PIDSH_INIT_LOG_READ_FD 4
#define PIDSH_INIT_LOG_WRITE_FD 5
enum pidsh_disposition { PIDSH_DISPOSITION_DEFAULT = 0, PIDSH_DISPOSITION_IGNORE = 1, PIDSH_DISPOSITION_CATCH = 2 };
/// Puts `control` (or nothing) at PIDSH_INIT_CONTROL_FD and the log pipe at 4 and 5;
/// *keep (a descriptor still needed for a while, or NULL) is moved above them. 0 or errno.
int pidsh_init_descriptors(int control, int *keep);
/// sigaction(sig): SIG_DFL, SIG_IGN, or the handler that logs its siginfo. 0 or errno;
/// `rec` (may be NULL) gets the call.
int pidsh_init_set_disposition(int sig, int how, pidsh_call_record *rec);
/// The init's loop, once the descriptors and dispositions are in place: reaps, logs,
/// answers pidsh. A forwarder (forward_to > 0) passes on `forwarding` and exits with
/// its program's status; otherwise it never returns.
void pidsh_init_loop(pid_t forward_to, uint64_t forwarding) __attribute__((noreturn));
/// Descriptors, SIGCHLD caught, then the loop (a level of `nest`).
void pidsh_init_start_plain(int control) __attribute__((noreturn));

// ---- 3: child.c ------------------------------------------------------------------
/// The child side of pidsh_spawn: raw calls, then exec or pidsh's init. `report` is
/// the child's end of the report channel, `other_end` pidsh's (closed here).
typedef struct pidsh_child_args {
    const pidsh_spawn_request *req;
    /// Its report channel (a socket, or PIDSH_CHANNEL_MEMORY) and pidsh's end of the
    /// socket, which the child closes (-1: none).
    int report, other_end;
    /// The child keeps only descriptors below this one: its first act is
    /// close_range(keep_below, ~0, CLOSE_RANGE_UNSHARE) (see spawn.c).
    int keep_below;
} pidsh_child_args;
int pidsh_spawn_child(void *args) __attribute__((noreturn));
/// A procfs of the caller's namespace onto dirfd, told to the janitor before it is
/// attached and to pidsh (a MOUNTED report) after. 0 or errno.
int pidsh_child_mount_proc(int dirfd, uint64_t record, pidsh_report *rep, int actor, int level,
                           pidsh_mount_handle *mount);

// ---- 3: child_namespaces.c (beside child.c) -------------------------------------
/// With a new user namespace: waits until pidsh has written its maps (a byte on the
/// report channel). 0, or EPIPE when pidsh could not.
int pidsh_child_wait_for_maps(int sock);
/// The joins of req (join_pidfd/join_types, or join_fds one by one). 0 or errno.
int pidsh_child_join(const pidsh_spawn_request *req, pidsh_report *rep);
/// unshare(CLONE_NEWTIME), the offsets, setns into it. 0 or errno.
int pidsh_child_new_time_namespace(const pidsh_spawn_request *req, pidsh_report *rep);
int pidsh_child_set_hostname(const char *name, pidsh_report *rep);
int pidsh_child_private_mounts(pidsh_report *rep);
/// chroot to req->root_fd and chdir to req->cwd_fd (those >= 0). 0 or errno.
int pidsh_child_enter_root(const pidsh_spawn_request *req, pidsh_report *rep);

// ---- 4: helper.c -----------------------------------------------------------------
/// A forked helper that joins `join_fd` (or stays, -1) and clones with CLONE_PARENT |
/// flags: returns 0 in the new process, its PID in pidsh, -1 (errno, *stage) on
/// failure. Signals must be blocked. The helper's calls go to `trace`.
pid_t pidsh_clone_via_helper(int join_fd, uint64_t flags, int *pidfd, int *stage, pidsh_trace *trace);
/// For a child that execs: the same without copying pidsh's memory (CLONE_VM helper);
/// not for a new namespace below `join_fd` (that takes the forked helper's second hop).
pid_t pidsh_clone_via_shared_helper(int join_fd, uint64_t flags, int (*fn)(void *), void *arg,
                                    int *pidfd, int *stage, pidsh_trace *trace);
/// The PID (pidsh's view) of a pidfd, from /proc/self/fdinfo. Parent side only.
pid_t pidsh_pid_of_pidfd(int pidfd);

// ---- 5: launch.c -----------------------------------------------------------------
typedef struct pidsh_launch {
    int join_fd;                 // >= 0: the child joins this PID namespace
    uint64_t flags;              // CLONE_NEWPID, CLONE_NEWNS for the child
    int execs;                   // the child execs or exits soon: it may share pidsh's memory
    int share_files;             // with execs: CLONE_FILES too (the child unshares its table at once)
    int (*child)(void *);        // what the child runs (never returns)
    void *arg;
    pidsh_trace *trace;
    pidsh_mailbox *mailbox;      // the child reports into pidsh's memory (NULL: over a socket);
                                 // only for a launch pidsh_launch_runs_in_memory allows
} pidsh_launch;
typedef struct pidsh_launched {
    pid_t pid;
    int pidfd;
    int error;                   // 0, or errno with stage
    int stage;                   // PIDSH_STAGE_RESTORE_NS: the child exists (pid, pidfd valid)
    int trace_mark;              // the trace's count right after the clone's record
    int shared_memory;           // the child was cloned vfork-style: it has exec'd or exited
} pidsh_launched;
/// Makes the child where it must be born: setns on this thread (or in a helper when
/// pidsh may not move), signals blocked around the clone, then back. Returns 0 or -1.
int pidsh_launch_child(const pidsh_launch *l, pidsh_launched *out);
/// Whether the child of `l` will surely run on pidsh's memory, cloned vfork-style on
/// this thread (not through a helper): then it may report into a mailbox.
int pidsh_launch_runs_in_memory(const pidsh_launch *l);
#endif
