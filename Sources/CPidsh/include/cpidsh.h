// CPidsh: the only C in pidsh. Everything that runs between fork/clone and exec lives
// here, because a Swift process is multi-threaded and its child may only make raw,
// async-signal-safe calls (no Swift, no malloc, no locks). Every argument is prepared
// by the Swift caller before the fork. The C layer reports what it did: each system call
// a user should see is recorded (pidsh_call_record) where it is made, in whichever
// process, and `--trace` prints only those records.
#ifndef CPIDSH_H
#define CPIDSH_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------
// What the C layer did: one record per system call a user should see.

typedef enum pidsh_call {
    PIDSH_CALL_CLONE = 1,          // clone(2): flags as passed (CLONE_VM|CLONE_VFORK|...|SIGCHLD)
    PIDSH_CALL_CLONE3 = 2,         // clone3(2): flags; flags2 = exit_signal
    PIDSH_CALL_SETNS = 3,          // setns(fd, flags): target = the namespace's inode
    PIDSH_CALL_UNSHARE = 4,
    PIDSH_CALL_FSOPEN = 5,         // text = filesystem type
    PIDSH_CALL_FSCONFIG = 6,       // flags = command
    PIDSH_CALL_FSMOUNT = 7,        // flags = fsmount flags, flags2 = mount attributes
    PIDSH_CALL_MOVE_MOUNT = 8,     // flags = move_mount flags, text = target path when known
    PIDSH_CALL_OPEN_TREE = 9,      // flags = open_tree flags, text = path
    PIDSH_CALL_MOUNT = 10,         // mount(2): flags = mountflags, text = target
    PIDSH_CALL_UMOUNT2 = 11,       // flags = umount flags, text = path given to the kernel
    PIDSH_CALL_PIDFD_SEND_SIGNAL = 12, // target = PID (pidsh's view), flags2 = signal
    PIDSH_CALL_KILL = 13,          // target = PID, flags2 = signal
    PIDSH_CALL_EXECVE = 14,        // text = program path
    PIDSH_CALL_WAITID = 15,        // flags = options, flags2 = idtype (P_ALL, P_PID, P_PIDFD), target = PID
    PIDSH_CALL_MKDIRAT = 16,       // text = name, flags = mode
    PIDSH_CALL_UNLINKAT = 17,      // text = name, flags = AT_REMOVEDIR
    PIDSH_CALL_PIVOT_ROOT = 18,
    PIDSH_CALL_SETHOSTNAME = 19,   // text = the hostname
    PIDSH_CALL_CHROOT = 20,        // text = "."
    PIDSH_CALL_RT_SIGPROCMASK = 21, // flags = how (SIG_BLOCK, SIG_UNBLOCK), flags2 = the set (bit N-1: signal N)
    PIDSH_CALL_RT_SIGACTION = 22,   // target = signal; flags2 = 0 SIG_DFL, 1 SIG_IGN, 2 a handler; flags = sa_flags
} pidsh_call;

/// In which process a call ran.
typedef enum pidsh_actor {
    PIDSH_ACTOR_PIDSH = 0,   // pidsh itself (the interpreter's thread)
    PIDSH_ACTOR_CHILD = 1,   // the new process, before exec (or before its init loop)
    PIDSH_ACTOR_HELPER = 2,  // a helper process cloning on pidsh's behalf
    PIDSH_ACTOR_LEVEL = 3,   // a level of `nest` (PID 1 of its namespace); `level` says which
    PIDSH_ACTOR_JANITOR = 4, // pidsh's janitor (it makes mount points, undoes at the end)
    PIDSH_ACTOR_INIT = 5,    // pidsh's init of a namespace, doing what `ns init` asked
} pidsh_actor;

typedef struct pidsh_call_record {
    int32_t call;       // pidsh_call
    int32_t actor;      // pidsh_actor
    int32_t level;      // nest level for PIDSH_ACTOR_LEVEL, else -1
    int32_t error;      // errno when the call failed, else 0
    int64_t result;     // the call's return value (-1 on failure)
    int64_t fd;         // the descriptor argument, -1 if none
    uint64_t flags;     // the flags argument as the kernel got it
    uint64_t flags2;    // a second flags argument (see pidsh_call)
    uint64_t target;    // namespace inode, PID, ... (see pidsh_call)
    int64_t actor_pid;  // the acting process in pidsh's view when known, else 0
    char text[88];      // a path, filesystem type or program (truncated, NUL-terminated)
} pidsh_call_record;

/// Where records go: an array Swift owns. Full: later records are counted in `lost`.
typedef struct pidsh_trace {
    pidsh_call_record *records;
    int32_t capacity;
    int32_t count;
    int32_t lost;
} pidsh_trace;

// ---------------------------------------------------------------------------------
// Spawning.

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
    PIDSH_STAGE_PIPE = 9,          // the report channel between pidsh and the child
    PIDSH_STAGE_PARENT_GONE = 10,  // pidsh died before the child could start
    PIDSH_STAGE_ID_MAPS = 11,      // writing the new user namespace's uid/gid maps
    PIDSH_STAGE_JOIN = 12,         // setns of another type in the child
    PIDSH_STAGE_TIME = 13,         // unshare(CLONE_NEWTIME), offsets, setns in the child
    PIDSH_STAGE_HOSTNAME = 14,     // sethostname in the child
    PIDSH_STAGE_ROOT = 15,         // chroot / chdir to the target's root and cwd
} pidsh_stage;

/// A procfs mount made on pidsh's behalf: a descriptor of the mount itself (its root,
/// from fsmount or open_tree) and its STATX_MNT_ID_UNIQUE, or -1 / 0 when none was made.
typedef struct pidsh_mount_handle {
    int fd;
    uint64_t mount_id;
} pidsh_mount_handle;

typedef struct pidsh_spawn_request {
    /// Program to execve; NULL runs pidsh's minimal init loop instead (never returns).
    const char *path;
    char *const *argv;
    char *const *envp;
    /// 1: the child is PID 1 of a new PID namespace (CLONE_NEWPID).
    int new_pid_namespace;
    /// >= 0: the child joins that PID namespace (setns on this thread around the clone,
    /// or in a helper when pidsh may not move).
    int join_pid_namespace_fd;
    /// >= 0: an O_PATH directory fd; the child mounts a procfs of its own PID namespace
    /// on it before exec (new mount API, so no path is resolved in the child).
    int proc_mount_dirfd;
    /// The janitor's record id for that mount (see pidsh_janitor_note_mount).
    uint64_t proc_mount_record;
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
    /// Signals the program starts with blocked, and with their disposition SIG_IGN
    /// (bit N-1 for signal N), set after every disposition was reset: both survive exec
    /// (`spawn --block`, `--ignore`).
    uint64_t block_signals;
    uint64_t ignore_signals;
    /// pidsh's init (path NULL, or init_forwards): the init's end of its control channel
    /// (pidsh keeps the other), or -1.
    int init_control_fd;
    /// Signals pidsh's init catches from the start, besides SIGCHLD (`--catch`).
    uint64_t init_catch_signals;
    /// 1: pidsh's init is PID 1 and runs `path` as PID 2, passes it every signal it
    /// catches, reaps orphans and exits with its status (`spawn --init forwarder`).
    int init_forwards;
    /// Records of the calls made (NULL: none kept).
    pidsh_trace *trace;

    // ---- namespaces of the other types (the child makes or joins them itself) ----
    /// CLONE_NEW* flags of new namespaces to clone the child in, besides
    /// new_pid_namespace (CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET,
    /// CLONE_NEWUSER, CLONE_NEWCGROUP; not CLONE_NEWTIME: see new_time_namespace).
    uint64_t new_namespaces;
    /// With CLONE_NEWUSER: the maps pidsh writes into /proc/PID/{uid_map,gid_map}
    /// before the child goes on (NULL: none), and "deny" to setgroups first.
    const char *uid_map;
    const char *gid_map;
    int deny_setgroups;
    /// 1: the child unshares CLONE_NEWTIME, writes `time_offsets` to
    /// /proc/self/timens_offsets (before any process is in it, the kernel's rule), and
    /// enters it (setns of time_for_children: it is single-threaded, a plain fork).
    int new_time_namespace;
    const char *time_offsets;
    /// The new UTS namespace's hostname (NULL: keep the copy).
    const char *hostname;
    /// 1: with CLONE_NEWNS, make every mount private (MS_REC|MS_PRIVATE) at once.
    int private_mounts;
    /// Joins in the child, after the clone (the PID join is pid_for_children, above):
    /// setns(join_pidfd, join_types) when join_pidfd >= 0; if the kernel refuses that
    /// form (EINVAL before 5.8), one setns per `join_fds` entry (of `join_fd_types`).
    int join_pidfd;
    uint64_t join_types;
    const int *join_fds;
    const uint64_t *join_fd_types;
    int join_fd_count;
    /// `spawn --enter`: after the joins, chroot to root_fd and chdir to cwd_fd (both
    /// opened from the target's /proc/PID/root and cwd), as nsenter -r -w does. -1: none.
    int root_fd;
    int cwd_fd;
    /// Non-NULL: `path` is a bare program name, looked up by the child on these
    /// directories ($PATH's form) once it stands in the filesystem it joined (another
    /// mount namespace, or root_fd), as nsenter's execvp does: the host's copy of the
    /// program may not exist there.
    const char *search_path;
} pidsh_spawn_request;

typedef struct pidsh_spawn_result {
    pid_t pid;      // as pidsh sees it
    int pidfd;      // close-on-exec pidfd, or -1 on error
    int error;      // errno, 0 on success
    int stage;      // pidsh_stage where it failed
    /// The child's procfs mount, when it made one: reported even when the spawn then
    /// failed (the exec), so pidsh still undoes it.
    pidsh_mount_handle mount;
} pidsh_spawn_result;

/// Clones the child (see launch.c for how) and runs its side. Returns 0 or -1 (see res).
/// Must be called on the thread whose pid_for_children pidsh manages (the interpreter's).
int pidsh_spawn(const pidsh_spawn_request *req, pidsh_spawn_result *res);

/// One level of a `nest` chain, as received by the parent.
typedef struct pidsh_nest_level {
    int pidfd;      // the level's first process (PID 1 of that namespace)
    pid_t pid;      // its PID as pidsh sees it
    int nsfd;       // its PID namespace, opened by the level itself (outlives a quick exit)
    pidsh_mount_handle mount;  // its procfs mount, when it made one
    int control;    // pidsh's end of the control channel of the level's init, or -1
} pidsh_nest_level;

typedef struct pidsh_nest_request {
    int levels;                 // N: level N-1 outermost .. 0 innermost
    const int *proc_dirfds;     // N O_PATH dirfds, indexed by level, or NULL: no mounts
    const uint64_t *proc_mount_records; // the janitor's record id of each level's mount
    const char *path;           // innermost program, NULL: pidsh init loop (sleep forever)
    char *const *argv;
    char *const *envp;
    int join_pid_namespace_fd;  // >= 0: the outermost level is created inside this ns
    pidsh_trace *trace;         // records of the calls made, or NULL
} pidsh_nest_request;

typedef struct pidsh_nest_result {
    int error;
    int stage;
    int failed_level;           // level whose step failed, -1 if none
    int levels_made;            // levels reported back (pidfds valid for these)
} pidsh_nest_result;

/// Builds N nested PID namespaces as multi_pidns does: each level is PID 1 of its own
/// namespace, mounts its procfs, and clones the next; the innermost execs. `out` gets
/// N entries, indexed by level. Every process is killed again on failure; the mounts
/// reported stay in `out` (the caller undoes them).
int pidsh_nest(const pidsh_nest_request *req, pidsh_nest_level *out, pidsh_nest_result *res);

// ---------------------------------------------------------------------------------
// pidsh's init (init.c): PID 1 of the namespaces pidsh makes. It reaps orphans, logs
// the siginfo of every signal it catches, and acts on pidsh's commands, which come over
// its control channel as fixed binary records (never text), each answered with what
// the kernel said.

typedef enum pidsh_init_action {
    PIDSH_INIT_BLOCK = 1,     // sigprocmask(SIG_BLOCK, signals)
    PIDSH_INIT_UNBLOCK = 2,   // sigprocmask(SIG_UNBLOCK, signals)
    PIDSH_INIT_CATCH = 3,     // sigaction(signal, a handler that logs its siginfo), each of signals
    PIDSH_INIT_IGNORE = 4,    // sigaction(signal, SIG_IGN)
    PIDSH_INIT_DEFAULT = 5,   // sigaction(signal, SIG_DFL)
    PIDSH_INIT_KILL = 6,      // kill(target, signal): target as the init's namespace numbers it
    PIDSH_INIT_RECEIVED = 7,  // the logged signals from index `from` on
} pidsh_init_action;

typedef struct pidsh_init_command {
    int32_t action;         // pidsh_init_action
    int32_t signal;         // KILL
    int32_t target;         // KILL
    int32_t trace;          // 1: send back the calls made
    uint64_t signals;       // BLOCK..DEFAULT: bit N-1 for signal N
    uint32_t from;          // RECEIVED
    uint32_t sequence;      // echoed in the reply (a late reply is told from the next one)
} pidsh_init_command;

/// One signal the init caught, from its siginfo (as the kernel gave it to the init).
typedef struct pidsh_init_signal {
    int32_t signo;
    int32_t code;           // si_code (SI_USER, SI_KERNEL, CLD_EXITED...)
    int32_t pid;            // si_pid as the init's PID namespace numbers the sender (0: not in it)
    uint32_t uid;           // si_uid as the init's user namespace sees it
    int32_t status;         // SIGCHLD: si_status
    int32_t unused;
} pidsh_init_signal;

#define PIDSH_INIT_REPLY_SIGNALS 32
#define PIDSH_INIT_REPLY_CALLS 4
typedef struct pidsh_init_reply {
    int32_t action;
    int32_t error;          // errno of the first call that failed, 0 if none
    int64_t result;         // the last call's result (-1 on failure)
    uint32_t total;         // RECEIVED: signals logged since the init started
    uint32_t oldest;        // RECEIVED: index of the oldest one still kept (a full log drops the oldest)
    uint32_t first;         // RECEIVED: index of signals[0]
    uint32_t count;         // RECEIVED: entries in signals
    int32_t ncalls;         // entries in calls (the calls made, when `trace` was asked)
    uint32_t sequence;      // the command's
    pidsh_init_signal signals[PIDSH_INIT_REPLY_SIGNALS];
    pidsh_call_record calls[PIDSH_INIT_REPLY_CALLS];
} pidsh_init_reply;

/// pidsh's side: sends one command over an init's control channel (when `send`; else
/// it only goes on waiting for the reply to `cmd`) and waits for its reply, at most
/// `timeout_ms`. 0, or errno (ETIMEDOUT: no answer yet; EPIPE: the init has gone; EINTR:
/// a signal for pidsh arrived while it waited).
int pidsh_init_request(int control, const pidsh_init_command *cmd, pidsh_init_reply *reply, int timeout_ms, int send);
/// A control channel: socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC). 0 or errno.
int pidsh_init_channel(int fds[2]);

// ---------------------------------------------------------------------------------
// Session start-up.

/// Start-up stages (pidsh_enter_session's *stage).
typedef enum pidsh_session_stage {
    PIDSH_SESSION_OK = 0,
    PIDSH_SESSION_USER_NAMESPACE = 1,   // unshare(CLONE_NEWUSER)
    PIDSH_SESSION_ID_MAPS = 2,          // uid_map / gid_map / setgroups
    PIDSH_SESSION_MOUNT_NAMESPACE = 3,  // unshare(CLONE_NEWNS)
    PIDSH_SESSION_PRIVATE_ROOT = 4,     // making / MS_REC|MS_PRIVATE
    PIDSH_SESSION_OWN_PID_NAMESPACE = 5,// rootless: PID 1 of a namespace of its own
    PIDSH_SESSION_JANITOR = 6,          // starting the janitor
} pidsh_session_stage;

/// Start-up, while the process is still single-threaded: enter a new user namespace
/// mapping the caller to root (when `rootless`), and a private mount namespace with
/// `/` made MS_REC|MS_PRIVATE (when `private_mounts`). Rootless, pidsh then either
/// becomes PID 1 of a PID namespace of its own (`own_pid_namespace`), or stays in the
/// host's and joins other namespaces only through a helper process. Creates the life
/// pipe that lets children notice pidsh's death. Returns 0, or the errno with *stage set.
int pidsh_enter_session(int private_mounts, int rootless, int own_pid_namespace, int *stage);

/// Mirrors the directory open as `dirfd` (O_PATH) with a writable tmpfs that binds
/// every original entry (see mirror.c); `/` by pivot_root. Only in pidsh's own mount
/// namespace. Returns 0 or errno; on failure nothing changed.
int pidsh_mirror_directory(int dirfd, pidsh_trace *trace);

// ---------------------------------------------------------------------------------
// The janitor (janitor.c): a process forked at start-up that outlives pidsh and undoes,
// by handle, every mount and directory still recorded once pidsh is gone, however it
// went. Records are binary messages with descriptors attached; no path is parsed.

/// Forks the janitor. Call at start-up. Returns 0 or errno.
int pidsh_start_janitor(void);
/// The most records (mount points made plus mounts) the janitor holds at once.
int pidsh_janitor_capacity(void);
/// Asks the janitor to make directory `name` in `parent_fd` (so no moment exists at
/// which pidsh could die with the directory made and unrecorded). Returns 0 and an
/// O_PATH fd of the new directory in *dir_fd, or errno (EEXIST: it was there already).
/// Without a janitor, makes it itself.
int pidsh_janitor_make_directory(int parent_fd, const char *name, unsigned mode, uint64_t record,
                                 int *dir_fd, pidsh_trace *trace);
/// Records a mount (a descriptor of its root) before it is attached. Raw calls only:
/// children call it between fork and exec.
int pidsh_janitor_note_mount(int mount_fd, uint64_t mount_id, uint64_t record);
/// The record is undone (or kept on purpose): the janitor lets go of it.
int pidsh_janitor_forget(uint64_t record);
/// pidsh_janitor_make_directory for `count` directories, in two steps: every request
/// is sent first (names[i], NUL-separated in `names`, in parent_fds[i], recorded as
/// records[i]); then pidsh_janitor_directory_result gives each one's result, in order.
/// pending[i] says whether an answer is still to be read for it; dir_fds[i] and
/// errors[i] hold the result of the others already.
int pidsh_janitor_request_directories(int count, const int *parent_fds, const char *names, unsigned mode,
                                      const uint64_t *records, int *dir_fds, int *errors, int *pending);
/// The result of the next request (its answer read when `pending`) and its mkdirat in
/// the trace. Called for every request, in order, also to drain them after a failure.
void pidsh_janitor_directory_result(int pending, int parent_fd, const char *name, unsigned mode,
                                    int *dir_fd, int *error, pidsh_trace *trace);
/// pidsh_janitor_forget for `count` records, sent together.
int pidsh_janitor_forget_many(const uint64_t *records, int count);
/// The `--shared-mounts` journal: removed by the janitor once everything is undone.
int pidsh_janitor_note_journal(int dir_fd, const char *name);
/// At a normal exit, after everything was undone: the janitor exits, pidsh reaps it.
void pidsh_stop_janitor(void);
/// Forks a janitor without making it this pidsh's (for a pidsh started `inside` a
/// namespace, whose janitor must live outside it): its socket and PID. 0 or errno.
int pidsh_fork_janitor(int *sock, pid_t *pid);
/// When >= 0: a `cgroup.procs` (opened O_WRONLY) each janitor moves itself into as it
/// starts, out of an enclosing pidsh session's cgroup (SessionCgroup.janitorEscape).
extern int pidsh_janitor_cgroup_procs;
/// From now on children are born in the cgroup2 directory `dir_fd` (clone3 with
/// CLONE_INTO_CGROUP) while pidsh stays where it is, until a move of pidsh (a script's
/// `echo $$ > .../cgroup.procs`) makes them inherit its cgroup again; -1 stops it.
/// 0, or ENOSYS where this build cannot clone a vfork-style child with clone3 or the
/// kernel cannot tell pidsh's cgroup by pidfd (PIDFD_INFO_CGROUPID, Linux 6.13): then
/// pidsh moves itself into the cgroup instead. `high_fds` > 0: pidsh's own pidfd, held
/// for the session, goes at or above it (HighDescriptors).
int pidsh_cgroup_place_children(int dir_fd, int high_fds);
/// Whether pidsh is still in the cgroup it stood in when placing began (1), or was
/// moved since (0).
int pidsh_cgroup_pidsh_unmoved(void);
/// This pidsh's janitor is the one at the other end of `sock` (forked by another pidsh):
/// called before the session starts, which then forks none.
void pidsh_adopt_janitor(int sock);
/// Is `pid` the janitor (so orphan reaping leaves it alone)?
int pidsh_janitor_pid(void);
/// The janitor was killed from outside and is reaped: pidsh goes on without one.
void pidsh_janitor_gone(void);

/// One record with up to 4 descriptors (SCM_RIGHTS) over a SOCK_SEQPACKET socket, as
/// fdpass.c sends it: 0 or errno.
int pidsh_send_with_fds(int sock, const void *record, size_t size, const int *fds, int count);
/// Receives one (descriptors close-on-exec; `fds` has room for 4): the byte count, 0 at
/// end-of-file, -1 with errno.
ssize_t pidsh_receive_with_fds(int sock, void *record, size_t size, int *fds, int *count);

/// The same undo by handle for `pidsh cleanup` and a live session: unmounts the mount
/// whose root `mount_fd` is, from inside it (fchdir, then MNT_DETACH of "."), after
/// checking its STATX_MNT_ID_UNIQUE is `mount_id`. Returns 0, EINVAL (not mounted any
/// more), ESTALE (another mount), or errno.
int pidsh_unmount_handle(int mount_fd, uint64_t mount_id, pidsh_call_record *rec);
/// Removes directory `name` in `parent_fd` if it is still the one made (device and
/// inode). Returns 0, ESTALE (another entry is there now), or errno.
int pidsh_remove_directory_handle(int parent_fd, const char *name, uint64_t dev, uint64_t ino,
                                  pidsh_call_record *rec);
/// Removes the regular file `name` in `parent_fd` if it is still the one made (device
/// and inode): a namespace's pin. 0, ESTALE, or errno.
int pidsh_remove_file_handle(int parent_fd, const char *name, uint64_t dev, uint64_t ino, pidsh_call_record *rec);
/// Asks the janitor to make the empty file `name` in `parent_fd` (a pin's mount point),
/// recorded the moment it exists. 0 and an O_PATH fd of it in *fd, or errno (EEXIST).
int pidsh_janitor_make_file(int parent_fd, const char *name, uint64_t record, int *fd);
/// Binds the namespace open as `nsfd` onto the file open as `filefd` (open_tree of the
/// nsfs file + move_mount): `ns pin`. 0 or errno; *mount gets the mount.
int pidsh_pin_namespace(int nsfd, int filefd, uint64_t record, pidsh_mount_handle *mount, pidsh_trace *trace);
/// Marks a directory as made by pidsh (an xattr), so whichever session uses it last
/// removes it. 0 or errno (EOPNOTSUPP: the filesystem keeps no user xattrs).
int pidsh_mark_directory(int dirfd);
int pidsh_directory_is_marked(int dirfd);
/// Removes directory `name` in `parent_fd` (opened as `dirfd`) when pidsh made it
/// (`made`, or the mark) and no other session holds a shared flock on it; the caller
/// has let go of its own. 0, EPERM (not pidsh's to remove), EBUSY (another session uses
/// it: that one removes it), ESTALE, or errno.
int pidsh_remove_if_last_user(int parent_fd, int dirfd, const char *name, uint64_t dev, uint64_t ino, int made,
                              pidsh_call_record *rec);
/// A directory pidsh found (not made) and mounts on: the janitor removes it if a pidsh
/// made it and nobody uses it any more when pidsh is gone.
int pidsh_janitor_note_directory(int parent_fd, int dir_fd, const char *name, uint64_t record);
/// Asks the janitor to make the session's cgroup `name` in `parent_fd` (recorded the
/// moment it exists): once pidsh is gone the janitor kills everything left in it
/// (cgroup.kill) before it undoes the mounts, and removes it. 0 and an O_PATH fd of it
/// in *dir_fd, or errno. Without a janitor, makes it itself.
int pidsh_janitor_make_cgroup(int parent_fd, const char *name, uint64_t record, int *dir_fd);
/// A scratch directory `name` (mode 0700) made by the janitor in `parent_fd`, which
/// removes it with everything in it (never through a link, nor into another mount)
/// if pidsh dies without having removed it: 0 and an O_PATH fd, or errno.
int pidsh_janitor_make_scratch(int parent_fd, const char *name, uint64_t record, int *dir_fd);
/// The same request, sent without waiting for the answer (the session's start asks,
/// the first spawn takes it): 0 or errno (EALREADY: no janitor, or already asked).
int pidsh_janitor_request_cgroup(int parent_fd, const char *name, uint64_t record);
/// The answer to pidsh_janitor_request_cgroup: 0 and the O_PATH fd in *dir_fd, or
/// errno (ENOENT: nothing was asked).
int pidsh_janitor_cgroup_answer(int *dir_fd);
/// STATX_MNT_ID_UNIQUE of the mount holding `fd` (0 when the kernel cannot say).
uint64_t pidsh_mount_id_of(int fd);
/// 1 when `fd` is the root of a mount (STATX_ATTR_MOUNT_ROOT), 0 when not, -1 unknown.
int pidsh_is_mount_root(int fd);

/// Rootless start-up step: unshare(CLONE_NEWPID) + fork; the child returns as pidsh
/// (PID 1 of its own namespace, /proc remounted), the parent never returns.
int pidsh_enter_own_pid_namespace(void);
/// waitid(P_ALL, WEXITED|WNOWAIT[|WNOHANG]): the PID of a child that has ended (left
/// waitable), 0 when none has (nohang), -1 with errno (EINTR, ECHILD). `rec` gets the call.
pid_t pidsh_wait_any(int nohang, pidsh_call_record *rec);

// Which children have ended (child_watch.c): their pidfds in one epoll set, and a
// SIGCHLD note for the children pidsh holds no pidfd of.
/// Installs the SIGCHLD note (SA_RESTART) and returns a new epoll fd, or -1 (errno).
int pidsh_watch_child_exits(void);
/// Whether a SIGCHLD came since the last clear.
int pidsh_child_exit_noted(void);
void pidsh_clear_child_exit_note(void);
/// Adds a child's pidfd to the set, with its PID: 0 or errno.
int pidsh_watch_child(int epfd, int pidfd, pid_t pid);
void pidsh_unwatch_child(int epfd, int pidfd);
/// The PIDs of watched children that have ended (their pidfds are readable), at most
/// `max`, without blocking: the count, or -1 (errno).
int pidsh_ended_children(int epfd, pid_t *pids, int max);
/// poll(2) on a child's pidfd and the set (epfd -1: the pidfd alone): which is readable
/// (PIDSH_CHILD_EVENT_PIDFD | PIDSH_CHILD_EVENT_SET, > 0), 0 after timeout_ms, -1 with
/// EINTR when a signal came.
int pidsh_wait_child_event(int pidfd, int epfd, int timeout_ms);
/// The same, ending at once with EINTR when one of pidsh's own signals has come since
/// pidsh_signals_received() read `seen` (-1: no such check); see
/// pidsh_poll_unless_signalled.
int pidsh_wait_child_event_since(int pidfd, int epfd, int timeout_ms, int seen);
enum { PIDSH_CHILD_EVENT_PIDFD = 1, PIDSH_CHILD_EVENT_SET = 2 };
/// Reaps child `pid` (waitid(P_PID, WEXITED|WNOHANG)): 0 and its code/signal; 1 when
/// it is not waitable yet (a tracer has still to see its end); -1 (errno) otherwise.
/// `rec` (may be NULL) gets the call.
int pidsh_reap_child(pid_t pid, int *code, int *signal_number, pidsh_call_record *rec);
/// prctl(PR_SET_CHILD_SUBREAPER, 1): 0 or errno.
int pidsh_set_child_subreaper(void);

/// Creates the life pipe only (for embedders and tests that skip pidsh_enter_session).
int pidsh_ensure_life_pipe(void);

// ---------------------------------------------------------------------------------
// Mounts.

/// `mount proc PATH --ns NS`: a helper made in the namespace (see launch.c) mounts its
/// procfs at dirfd and exits. Returns 0 or errno (*stage set); *mount gets the mount.
int pidsh_mount_proc_in_namespace(int ns_fd, int dirfd, uint64_t record, pidsh_mount_handle *mount,
                                  int *stage, pidsh_trace *trace);
/// Binds /proc (with the mounts below it) at dirfd. Returns 0 or errno; *mount set.
int pidsh_bind_proc_at(int dirfd, uint64_t record, pidsh_mount_handle *mount, pidsh_trace *trace);

/// At start: raises the soft RLIMIT_NOFILE to the hard limit (pidsh holds a pidfd per
/// process), remembering the limit it started with for the programs it runs. 0 or errno.
int pidsh_raise_nofile_limit(void);
/// The soft limit pidsh started with (what its programs get), and the current soft
/// and hard limits.
void pidsh_nofile_limits(unsigned long long *started_soft, unsigned long long *soft, unsigned long long *hard);

/// CLONE_NEWPID, which Glibc's Swift overlay does not export without _GNU_SOURCE.
static const int PIDSH_CLONE_NEWPID = 0x20000000;

// Thin syscall wrappers Swift cannot reach through Glibc. The ones a user may see in
// `--trace` fill a record (rec may be NULL).
int pidsh_pidfd_open(pid_t pid);
int pidsh_pidfd_send_signal(int pidfd, int sig, pid_t pid, pidsh_call_record *rec);
/// kill(2) by PID: only for `kill SIG -1` (every process pidsh may signal but itself).
int pidsh_kill(pid_t pid, int sig, pidsh_call_record *rec);
int pidsh_ns_get_parent(int nsfd);
int pidsh_ns_get_nstype(int nsfd);
int pidsh_ns_get_userns(int nsfd);
/// Which step of pidsh_process_own_pid_and_euid failed (returned negated, errno set).
enum { PIDSH_OWN_PID_PIDFD = 1, PIDSH_OWN_PID_TRANSLATE = 2, PIDSH_OWN_PID_INFO = 3 };
/// The PID `pid` (pidsh's view) has in the PID namespace `nsfd` (NS_GET_TGID_IN_PIDNS)
/// and its effective uid (PIDFD_GET_INFO), both of the same live process: 0, or the
/// failed step negated with errno (ESRCH from the translation: not in that namespace).
int pidsh_process_own_pid_and_euid(int nsfd, pid_t pid, pid_t *own_pid, uint32_t *euid);
int pidsh_setns(int fd, int nstype, pidsh_call_record *rec);
int pidsh_unshare(int flags, pidsh_call_record *rec);
/// umount2(path, flags | UMOUNT_NOFOLLOW): 0 or errno.
int pidsh_umount(const char *path, int flags, pidsh_call_record *rec);
int pidsh_mount_make_private_tree(const char *path);
int pidsh_open_tree_nofollow(int dirfd, const char *name);
/// At start-up: each of fd 0-2 that is closed gets /dev/null opened O_PATH (not
/// close-on-exec), on which reads and writes fail EBADF as on a closed descriptor.
void pidsh_occupy_closed_stdio(void);
/// pipe2(fds, O_CLOEXEC): 0 or -1 (errno).
int pidsh_pipe_cloexec(int fds[2]);
/// open(path, O_PATH|O_DIRECTORY|O_CLOEXEC): the start of a no-follow walk.
int pidsh_open_path_dir(const char *path);
/// open(path, O_PATH|O_NOFOLLOW|O_CLOEXEC): the last component is not followed.
int pidsh_open_path_nofollow(const char *path);
/// openat(dirfd, name, O_PATH|O_NOFOLLOW|O_CLOEXEC).
int pidsh_openat_path_nofollow(int dirfd, const char *name);
/// A shared flock on the directory open as `dirfd` (O_PATH), on a descriptor of its
/// own: waits at most `timeout_ms` for an exclusive holder. Returns the locked fd, or
/// -1 with errno (EWOULDBLOCK: still held after the wait).
int pidsh_lock_directory_shared(int dirfd, int timeout_ms);
/// flock(fd, LOCK_EX|LOCK_NB): 0, or errno (EWOULDBLOCK: another session uses it).
int pidsh_try_lock_exclusive(int fd);
/// The errno's symbolic name (ENOENT...), from glibc's strerrorname_np; NULL if unknown.
const char *pidsh_errno_name(int e);

// A second thread for a listing's reads (side_thread.c).
/// How many CPUs this process may run on (its affinity mask).
int pidsh_usable_cpus(void);
/// Runs work(arg) on a new thread with every signal blocked; NULL (nothing started)
/// when the thread could not be made.
void *pidsh_side_thread_start(void (*work)(void *), void *arg);
/// Waits until that thread has finished and left the process entirely (see
/// side_thread.c), and frees the handle.
void pidsh_side_thread_join(void *handle);

// Signals of pidsh itself: handlers set flags that the interpreter polls.
/// Says pidsh changed a disposition of its own (a handler, SIG_IGN or a restore) other
/// than through this file's functions, which say it themselves: the next clone learns
/// again which dispositions its child must reset (only those not SIG_DFL).
void pidsh_dispositions_changed(void);
/// Catches `sig`: its handler only records it (pidsh_take_pending_signal).
void pidsh_handle_signal(int sig);
/// While >= 0, each handled signal also writes its number as one byte to `fd` (a
/// non-blocking pipe a poll() waits on).
void pidsh_set_signal_wake_fd(int fd);
/// How many of pidsh's own signals have come so far (wraps; compare for equality only).
int pidsh_signals_received(void);
/// poll(2) that cannot sleep through a signal: -1 with EINTR at once when one of
/// pidsh's signals came since `seen` was read (pidsh_signals_received; -1: no such
/// check), else ppoll with every signal blocked until it sleeps, so one that comes
/// just before the sleep ends it too. timeout_ms -1 waits for ever.
int pidsh_poll_unless_signalled(struct pollfd *fds, int count, int timeout_ms, int seen);
/// Returns and clears the last handled signal received, 0 if none.
int pidsh_take_pending_signal(void);
/// write(2) of up to PIPE_BUF bytes of `buf` that gives up (-1, EINTR) rather than
/// wait once a handled signal is pending for pidsh, even one that arrives while it
/// waits.
ssize_t pidsh_write_unless_interrupted(int fd, const void *buf, size_t len);
int pidsh_peek_pending_signal(void);

// Signals a script traps (traps.c): the handler notes the signal; the interpreter runs
// the trap between statements.
/// Installs the noting handler for `sig`, keeping what was there. 0 or errno.
int pidsh_trap_signal(int sig);
/// Puts back what was installed before the first trap of `sig`. 0 or errno.
int pidsh_untrap_signal(int sig);
/// The lowest trapped signal that arrived (and clears it), 0 if none.
int pidsh_take_trapped_signal(void);
/// The lowest trapped signal that arrived and was not taken yet (left there), 0 if none.
int pidsh_peek_trapped_signal(void);
/// Waits until one of `fds` is readable (revents filled: a pidfd whose process ended),
/// `timeout_ms` passes (-1: no limit), or a trapped signal or one that stops pidsh
/// arrives. Returns how many are readable, 0 at the time-out, -1 with errno (EINTR: a
/// signal, which the caller looks at).
int pidsh_wait_for_events(const int *fds, int count, long long timeout_ms, short *revents);

#ifdef __cplusplus
}
#endif
#endif
