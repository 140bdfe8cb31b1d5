// The child side of a spawn: between clone and exec only raw, async-signal-safe calls
// are made; the parent prepared argv, envp, paths and descriptors. What the child does
// is reported over its report channel (report.c): the calls it made when pidsh traces,
// its procfs mount, or why it gave up. Layer 3: calls clone.c, procfs.c, report.c,
// janitor_link.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// dup2 the (target, source) pairs without one clobbering another's source: first move
// every source above the highest target, then place them. A pair whose source is its
// target (stdio passed on as it is) only loses close-on-exec, as dup2 would do: no
// other pair can clobber it (targets are distinct), and it clobbers none.
static int wire_descriptors(const int *map, int count) {
    if (count <= 0) return 0;
    int highest = 2;
    for (int i = 0; i < count; i++) if (map[2 * i] > highest) highest = map[2 * i];
    int moved[32];
    if (count > 32) return EINVAL;
    for (int i = 0; i < count; i++) {
        if (map[2 * i + 1] == map[2 * i]) {
            if (fcntl(map[2 * i], F_SETFD, 0) < 0) return errno;
            moved[i] = -1;
            continue;
        }
        int fd = fcntl(map[2 * i + 1], F_DUPFD_CLOEXEC, highest + 1);
        if (fd < 0) return errno;
        moved[i] = fd;
    }
    for (int i = 0; i < count; i++) {
        if (moved[i] >= 0 && dup2(moved[i], map[2 * i]) < 0) return errno;
    }
    return 0;
}

// Whether /proc/self is the calling process (raw calls only).
static int proc_shows_self(void) {
    char link[32], mine[32];
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    if (n <= 0) return 0;
    link[n] = 0;
    // Decimal PID by hand: snprintf is not async-signal-safe.
    pid_t pid = (pid_t)syscall(SYS_getpid);
    int len = 0;
    char rev[16];
    do { rev[len++] = (char)('0' + pid % 10); pid /= 10; } while (pid > 0 && len < 15);
    for (int i = 0; i < len; i++) mine[i] = rev[len - 1 - i];
    mine[len] = 0;
    return strcmp(link, mine) == 0;
}

static void record_mount(pidsh_report *rep, const char *target, unsigned long flags, int result, int error) {
    pidsh_call_record r = pidsh_record(PIDSH_CALL_MOUNT, PIDSH_ACTOR_CHILD);
    r.flags = flags;
    pidsh_record_text(&r, target);
    pidsh_record_result(&r, result, error);
    pidsh_report_add(rep, &r);
}

// `--mount-proc` without a path: a private mount namespace (the clone's CLONE_NEWNS)
// with /proc remounted, as `unshare --mount-proc` does. 0 or errno.
static int remount_proc(pidsh_report *rep) {
    int r = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    record_mount(rep, "/", MS_REC | MS_PRIVATE, r, errno);
    if (r != 0) return errno;
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    r = mount("proc", "/proc", "proc", flags, NULL);
    int e = errno;
    record_mount(rep, "/proc", flags, r, e);
    // Rootless in the host's PID namespace a new procfs of it needs privilege over the
    // host's user namespace; but when /proc already shows this process's namespace (its
    // /proc/self is itself) there is nothing to redo.
    if (r != 0 && !(e == EPERM && proc_shows_self())) return e;
    return 0;
}

int pidsh_child_mount_proc(int dirfd, uint64_t record, pidsh_report *rep, int actor, int level,
                           pidsh_mount_handle *mount) {
    pidsh_calls calls = { .n = 0 };
    mount->fd = -1;
    mount->mount_id = 0;
    int mnt = pidsh_procfs_create(&calls);
    int e = mnt < 0 ? errno : 0;
    if (mnt >= 0) {
        // The janitor holds the mount before it is attached anywhere: whenever pidsh
        // dies from here on, the janitor finds it.
        mount->mount_id = pidsh_mount_id_of(mnt);
        pidsh_janitor_note_mount(mnt, mount->mount_id, record);
        e = pidsh_mount_attach(mnt, dirfd, &calls);
        if (e != 0) { close(mnt); pidsh_janitor_forget(record); mount->mount_id = 0; }
        else mount->fd = mnt;
    }
    pidsh_report_add_calls(rep, &calls, actor, level);
    return e;
}

static void record_execve(pidsh_report *rep, const char *path) {
    // Result 0 for now: a successful exec closes the channel, a failed one reports why
    // (pidsh_drain_reports settles it).
    pidsh_call_record r = pidsh_record(PIDSH_CALL_EXECVE, PIDSH_ACTOR_CHILD);
    pidsh_record_text(&r, path);
    pidsh_report_add(rep, &r);
}

// The namespaces of the other types, in the order their rules need: the user
// namespace's maps first (nothing is permitted before), the joins, a new time
// namespace, then what is set inside the new ones.
static void child_namespaces(const pidsh_spawn_request *req, int sock, pidsh_report *rep) {
    int e;
    if ((req->new_namespaces & CLONE_NEWUSER) && (e = pidsh_child_wait_for_maps(sock)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_ID_MAPS, e);
    if ((req->join_pidfd >= 0 || req->join_fd_count > 0) && (e = pidsh_child_join(req, rep)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_JOIN, e);
    if (req->new_time_namespace && (e = pidsh_child_new_time_namespace(req, rep)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_TIME, e);
    if (req->hostname && (e = pidsh_child_set_hostname(req->hostname, rep)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_HOSTNAME, e);
    if (req->private_mounts && (e = pidsh_child_private_mounts(rep)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_REMOUNT_PROC, e);
    if ((req->root_fd >= 0 || req->cwd_fd >= 0) && (e = pidsh_child_enter_root(req, rep)) != 0)
        pidsh_report_fail(sock, rep, PIDSH_STAGE_ROOT, e);
}

// `name` on the directories of `dirs` (as $PATH: an empty entry is `.`), looked up in
// the filesystem the child stands in now: the first that is executable and not a
// directory, written to `out`. 0, or ENOENT.
static int find_program(const char *name, const char *dirs, char *out, size_t size) {
    size_t name_len = strlen(name);
    for (const char *p = dirs;;) {
        const char *end = p;
        while (*end && *end != ':') end++;
        size_t dir_len = (size_t)(end - p);
        const char *dir = dir_len > 0 ? p : ".";
        if (dir_len == 0) dir_len = 1;
        if (dir_len + name_len + 2 <= size) {
            memcpy(out, dir, dir_len);
            out[dir_len] = '/';
            memcpy(out + dir_len + 1, name, name_len + 1);
            struct stat st;
            if (access(out, X_OK) == 0 && stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) return 0;
        }
        if (*end == '\0') return ENOENT;
        p = end + 1;
    }
}

// `spawn --block` / `--ignore`, after the reset: a mask and SIG_IGN both survive exec.
// A record's actor_pid is `actor_pid` (-1: a process pidsh does not see by PID).
static int apply_signal_masks(const pidsh_spawn_request *req, pidsh_report *rep, int64_t actor_pid) {
    int first_error = 0;
    for (int sig = 1; sig <= 64; sig++) {
        if (!(req->ignore_signals & (1ULL << (sig - 1)))) continue;
        pidsh_call_record r;
        int e = pidsh_init_set_disposition(sig, PIDSH_DISPOSITION_IGNORE, &r);
        r.actor_pid = actor_pid;
        pidsh_report_add(rep, &r);
        if (e != 0 && first_error == 0) first_error = e;
    }
    if (req->block_signals) {
        sigset_t set;
        sigemptyset(&set);
        for (int sig = 1; sig <= 64; sig++) if (req->block_signals & (1ULL << (sig - 1))) sigaddset(&set, sig);
        int r = sigprocmask(SIG_BLOCK, &set, NULL);
        pidsh_call_record rec = pidsh_record(PIDSH_CALL_RT_SIGPROCMASK, PIDSH_ACTOR_CHILD);
        rec.flags = SIG_BLOCK;
        rec.flags2 = req->block_signals;
        rec.actor_pid = actor_pid;
        pidsh_record_result(&rec, r, errno);
        pidsh_report_add(rep, &rec);
        if (r != 0 && first_error == 0) first_error = rec.error;
    }
    return first_error;
}

// The exec itself; on failure the report says why and the process exits 127.
// `failed` (may be NULL) is set first when the exec fails (a forwarder's program tells
// the init, whose memory it shares).
__attribute__((noreturn)) static void exec_program(const pidsh_spawn_request *req, int sock, pidsh_report *rep,
                                                   int64_t actor_pid, volatile int *failed) {
    // Nothing of pidsh's but stdio (and what the request wires, a channel at 3 for a
    // pidsh started `inside`) survives the exec, whoever forgot O_CLOEXEC.
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int i = 0; i < req->fd_map_count; i++) {
        if (req->fd_map[2 * i] > 2) fcntl(req->fd_map[2 * i], F_SETFD, 0);
    }
    // `spawn --enter` (or a join of a mount namespace): the program is looked up in
    // the filesystem entered, as nsenter's exec does, not in pidsh's.
    const char *program = req->path;
    char found[4096];
    if (req->search_path) {
        if (find_program(req->path, req->search_path, found, sizeof found) != 0) {
            if (failed) *failed = 1;
            pidsh_report_fail(sock, rep, PIDSH_STAGE_EXEC, ENOENT);
        }
        program = found;
    }
    if (req->trace) {
        record_execve(rep, program);
        rep->records[rep->count - 1].actor_pid = actor_pid;
        pidsh_report_send(sock, rep, NULL, 0);
    }
    pidsh_child_restore_nofile();
    execve(program, req->argv, req->envp);
    int e = errno;
    if (failed) *failed = 1;
    pidsh_report_fail(sock, rep, PIDSH_STAGE_EXEC, e);
}

// ---------------------------------------------------------------------------------
// pidsh's init (init.c), started here: its descriptors and dispositions in place (and
// recorded) before pidsh returns, so a signal sent right after meets them.

typedef struct forwarded_args {
    const pidsh_spawn_request *req;
    int sock;
    pidsh_report *rep;
    volatile int failed;
} forwarded_args;

// A forwarder's program, PID 2: cloned vfork-style by the init (it shares the init's
// memory until it execs), with the init's handlers reset to the defaults.
static int forwarded_program(void *p) {
    forwarded_args *a = p;
    pidsh_child_reset_signals();
    int e = apply_signal_masks(a->req, a->rep, -1);
    if (e != 0) { a->failed = 1; pidsh_report_fail(a->sock, a->rep, PIDSH_STAGE_CHILD_SETUP, e); }
    exec_program(a->req, a->sock, a->rep, -1, &a->failed);
}

static pid_t start_forwarded(const pidsh_spawn_request *req, int sock, pidsh_report *rep) {
    enum { STACK = 64 * 1024 };
    _Alignas(64) char stack[STACK];
    forwarded_args a = { .req = req, .sock = sock, .rep = rep, .failed = 0 };
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    pid_t pid = clone(forwarded_program, stack + STACK, flags, &a);
    int e = errno;
    pidsh_call_record r = pidsh_record(PIDSH_CALL_CLONE, PIDSH_ACTOR_CHILD);
    r.flags = (uint64_t)flags;
    pidsh_record_result(&r, pid, e);
    pidsh_report_add(rep, &r);
    if (pid < 0) pidsh_report_fail(sock, rep, PIDSH_STAGE_CLONE, e);
    // The exec happened (the vfork let go) unless the program reported its failure.
    if (a.failed) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        _exit(127);
    }
    return pid;
}

__attribute__((noreturn)) static void run_init(const pidsh_spawn_request *req, int sock, pidsh_report *rep) {
    // Named before the channel closes: pidsh returns on that end-of-file.
    if (req->init_name) prctl(PR_SET_NAME, req->init_name, 0, 0, 0);
    int e = pidsh_init_descriptors(req->init_control_fd, &sock);
    pidsh_report_bind(rep, req->trace ? sock : -1);
    if (e != 0) pidsh_report_fail(sock, rep, PIDSH_STAGE_CHILD_SETUP, e);
    uint64_t catching = req->init_catch_signals | (1ULL << (SIGCHLD - 1));
    for (int sig = 1; sig <= 64; sig++) {
        if (!(catching & (1ULL << (sig - 1)))) continue;
        pidsh_call_record r;
        e = pidsh_init_set_disposition(sig, PIDSH_DISPOSITION_CATCH, &r);
        pidsh_report_add(rep, &r);
        if (e != 0) pidsh_report_fail(sock, rep, PIDSH_STAGE_CHILD_SETUP, e);
    }
    pidsh_dispositions_changed();
    pid_t program = req->init_forwards ? start_forwarded(req, sock, rep) : 0;
    if (req->trace) pidsh_report_send(sock, rep, NULL, 0);
    close(sock);
    pidsh_init_loop(program, req->init_catch_signals & ~(1ULL << (SIGCHLD - 1)));
}

int pidsh_spawn_child(void *args) {
    const pidsh_child_args *a = args;
    const pidsh_spawn_request *req = a->req;
    int sock = a->report;
    // Cloned with CLONE_FILES: a table of its own with only what it uses, before it
    // closes or wires anything (pidsh's table is untouched). Without CLONE_FILES this
    // only closes pidsh's descriptors above them early.
    if (syscall(SYS_close_range, (unsigned)a->keep_below, ~0U, CLOSE_RANGE_UNSHARE) != 0) {
        pidsh_report rep0;
        pidsh_report_init(&rep0, PIDSH_REPORT_CALLS, -1);
        pidsh_report_fail(sock, &rep0, PIDSH_STAGE_CHILD_SETUP, errno);
    }
    if (a->other_end >= 0) close(a->other_end);
    pidsh_child_tie_to_parent();
    pidsh_child_reset_signals();
    pidsh_report rep;
    pidsh_report_init(&rep, PIDSH_REPORT_CALLS, -1);
    pidsh_report_bind(&rep, req->trace ? sock : -1);
    if (req->new_process_group) setpgid(0, 0);
    child_namespaces(req, sock, &rep);
    if (req->remount_proc) {
        int e = remount_proc(&rep);
        if (e != 0) pidsh_report_fail(sock, &rep, PIDSH_STAGE_REMOUNT_PROC, e);
    }
    if (req->proc_mount_dirfd >= 0) {
        pidsh_mount_handle mount;
        int e = pidsh_child_mount_proc(req->proc_mount_dirfd, req->proc_mount_record, &rep, PIDSH_ACTOR_CHILD, -1, &mount);
        if (e != 0) pidsh_report_fail(sock, &rep, PIDSH_STAGE_MOUNT_PROC, e);
        // pidsh holds the mount too, even if the exec then fails.
        rep.kind = PIDSH_REPORT_MOUNTED;
        rep.mount_id = mount.mount_id;
        pidsh_report_send(sock, &rep, &mount.fd, 1);
        rep.kind = PIDSH_REPORT_CALLS;
        close(mount.fd);
        close(req->proc_mount_dirfd);
    }
    int e = wire_descriptors(req->fd_map, req->fd_map_count);
    if (e != 0) pidsh_report_fail(sock, &rep, PIDSH_STAGE_CHILD_SETUP, e);
    if (req->working_directory && chdir(req->working_directory) != 0)
        pidsh_report_fail(sock, &rep, PIDSH_STAGE_CHILD_SETUP, errno);
    if (req->path == NULL || req->init_forwards) run_init(req, sock, &rep);
    e = apply_signal_masks(req, &rep, 0);
    if (e != 0) pidsh_report_fail(sock, &rep, PIDSH_STAGE_CHILD_SETUP, e);
    exec_program(req, sock, &rep, 0, NULL);
}
