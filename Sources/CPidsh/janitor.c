// The janitor: a small process forked at start-up that outlives pidsh. pidsh (and its
// children, between fork and exec) send it binary records over a SOCK_SEQPACKET socket
// with descriptors attached: each mount pidsh makes (a descriptor of the mount, sent
// before it is attached) and each mount point it makes (the janitor makes those itself,
// on request, so no moment exists at which pidsh could die with a directory made and
// unrecorded), and each mount point pidsh found. When the socket reaches end-of-file
// (pidsh exited, or was SIGKILLed), it undoes by handle what is still recorded, newest
// first. A mount point some pidsh made is removed by whichever session lets go of it
// last (see pidsh_remove_if_last_user): not while another holds a shared flock on it,
// since an rmdir detaches the mounts on it in every mount namespace. Only raw calls:
// the janitor is a fork of pidsh.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct janitor_entry {
    uint32_t kind;          // PIDSH_JANITOR_MOUNT, _MAKE_DIRECTORY (made) or _DIRECTORY (found); 0: undone
    uint64_t record;
    int fd;                 // the mount's root, or the directory's parent
    int dir_fd;             // the directory made (O_PATH), or -1
    uint64_t mount_id, dev, ino;
    char name[256];
} janitor_entry;

static janitor_entry table[PIDSH_JANITOR_CAPACITY];
static int used = 0;
static int journal_dir = -1;
static char journal_name[256];

static void release(janitor_entry *e) {
    if (e->fd >= 0) close(e->fd);
    if (e->dir_fd >= 0) close(e->dir_fd);
    e->kind = 0;
}

// Room for one more entry: undone ones are dropped from the end, then compacted.
static janitor_entry *new_entry(void) {
    while (used > 0 && table[used - 1].kind == 0) used--;
    if (used == PIDSH_JANITOR_CAPACITY) {
        int k = 0;
        for (int i = 0; i < used; i++) if (table[i].kind != 0) table[k++] = table[i];
        used = k;
    }
    if (used == PIDSH_JANITOR_CAPACITY) return NULL;
    janitor_entry *e = &table[used++];
    memset(e, 0, sizeof *e);
    e->fd = -1;
    e->dir_fd = -1;
    return e;
}

static void forget(uint64_t record) {
    for (int i = used - 1; i >= 0; i--) {
        if (table[i].kind != 0 && table[i].record == record) { release(&table[i]); return; }
    }
}

// Makes the directory pidsh asked for (a mount point, or the session's cgroup) and
// answers with it (an O_PATH fd).
static void make_directory(int sock, pidsh_janitor_message *m, int parent) {
    int dir = -1;
    m->error = 0;
    janitor_entry *e = new_entry();
    int file = m->kind == PIDSH_JANITOR_MAKE_FILE;
    if (!e) m->error = ENOSPC;
    else if (file) {
        int f = openat(parent, m->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, (mode_t)m->mode);
        if (f < 0) m->error = errno;
        else {
            close(f);
            if ((dir = openat(parent, m->name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) m->error = errno;
        }
    }
    else if (mkdirat(parent, m->name, (mode_t)m->mode) != 0) m->error = errno;
    else if ((dir = openat(parent, m->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) m->error = errno;
    struct stat st;
    if (m->error == 0 && fstat(dir, &st) != 0) m->error = errno;
    if (m->error == 0) {
        int cgroup = m->kind == PIDSH_JANITOR_MAKE_CGROUP, scratch = m->kind == PIDSH_JANITOR_MAKE_SCRATCH;
        // Marked at once: a session that finds it knows a pidsh made it.
        if (!cgroup && !file && !scratch) pidsh_mark_directory(dir);
        e->kind = cgroup ? PIDSH_JANITOR_CGROUP : file ? PIDSH_JANITOR_FILE
                : scratch ? PIDSH_JANITOR_SCRATCH : PIDSH_JANITOR_MAKE_DIRECTORY;
        e->record = m->record;
        e->fd = parent;
        e->dir_fd = dir;
        e->dev = (uint64_t)st.st_dev;
        e->ino = (uint64_t)st.st_ino;
        memcpy(e->name, m->name, sizeof e->name);
        parent = -1;
    } else if (e) {
        used--;
    }
    pidsh_send_with_fds(sock, m, sizeof *m, &dir, m->error == 0 ? 1 : 0);
    if (dir >= 0 && m->error != 0) close(dir);
    if (parent >= 0) close(parent);
}

static void note_mount(const pidsh_janitor_message *m, const int *fds, int count) {
    janitor_entry *e = count > 0 ? new_entry() : NULL;
    if (!e) { for (int i = 0; i < count; i++) close(fds[i]); return; }
    e->kind = PIDSH_JANITOR_MOUNT;
    e->record = m->record;
    e->fd = fds[0];
    e->mount_id = m->mount_id;
    for (int i = 1; i < count; i++) close(fds[i]);
}

static void note_directory(const pidsh_janitor_message *m, const int *fds, int count) {
    struct stat st;
    janitor_entry *e = count == 2 && fstat(fds[1], &st) == 0 ? new_entry() : NULL;
    if (!e) { for (int i = 0; i < count; i++) close(fds[i]); return; }
    e->kind = m->kind;
    e->record = m->record;
    e->fd = fds[0];
    e->dir_fd = fds[1];
    e->dev = (uint64_t)st.st_dev;
    e->ino = (uint64_t)st.st_ino;
    memcpy(e->name, m->name, sizeof e->name);
}

// Reads records until pidsh and every child holding the socket are gone.
static void listen_until_end(int sock) {
    for (;;) {
        pidsh_janitor_message m;
        int fds[PIDSH_MAX_PASSED_FDS], count = 0;
        ssize_t n = pidsh_receive_with_fds(sock, &m, sizeof m, fds, &count);
        if (n == 0) return;
        if (n < 0) { if (errno == EMFILE) continue; return; }
        if (n != (ssize_t)sizeof m) { for (int i = 0; i < count; i++) close(fds[i]); continue; }
        m.name[sizeof m.name - 1] = 0;
        switch (m.kind) {
        case PIDSH_JANITOR_MAKE_DIRECTORY:
        case PIDSH_JANITOR_MAKE_CGROUP:
        case PIDSH_JANITOR_MAKE_FILE:
        case PIDSH_JANITOR_MAKE_SCRATCH:
            if (count < 1) break;
            for (int i = 1; i < count; i++) close(fds[i]);
            make_directory(sock, &m, fds[0]);
            count = 0;
            break;
        case PIDSH_JANITOR_MOUNT: note_mount(&m, fds, count); count = 0; break;
        case PIDSH_JANITOR_DIRECTORY: note_directory(&m, fds, count); count = 0; break;
        case PIDSH_JANITOR_FORGET: forget(m.record); break;
        case PIDSH_JANITOR_JOURNAL:
            if (count < 1) break;
            if (journal_dir >= 0) close(journal_dir);
            journal_dir = fds[0];
            memcpy(journal_name, m.name, sizeof journal_name);
            for (int i = 1; i < count; i++) close(fds[i]);
            count = 0;
            break;
        }
        for (int i = 0; i < count; i++) close(fds[i]);
    }
}

// Whether the cgroup open as `dir` still holds a process (cgroup.events).
static int cgroup_populated(int dir) {
    int f = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (f < 0) return 0;
    char buf[256];
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0) return 0;
    buf[n] = 0;
    return strstr(buf, "populated 1") != NULL;
}

// Calls `visit` for every entry of the directory open as `dir` but `.` and `..`, with a
// descriptor of the directory the name is in. Raw getdents64 into a stack buffer (no
// allocation); two passes, as removing entries while reading the directory may skip one.
typedef void (*entry_visit)(int d, const char *name, unsigned char type, const void *ctx);

static void each_entry(int dir, entry_visit visit, const void *ctx) {
    for (int pass = 0; pass < 2; pass++) {
        int d = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) return;
        char buf[2048] __attribute__((aligned(8)));
        long n;
        while ((n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *e = (void *)(buf + off);
                off += e->reclen;
                if (strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0) visit(d, e->name, e->type, ctx);
            }
        }
        close(d);
    }
}

// The cgroups a script made inside the session's (`mkdir $cg/sub`), emptied by the
// kill: removed deepest first, since a cgroup with children cannot be.
static void remove_child_cgroups(int dir, int depth);

static void remove_child_cgroup(int d, const char *name, unsigned char type, const void *ctx) {
    if (type != DT_DIR) return;
    int depth = *(const int *)ctx;
    int child = openat(d, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child >= 0) { remove_child_cgroups(child, depth + 1); close(child); }
    unlinkat(d, name, AT_REMOVEDIR);
}

static void remove_child_cgroups(int dir, int depth) {
    if (depth > 32) return;
    each_entry(dir, remove_child_cgroup, &depth);
}

// Every process still in the session's cgroup — pidsh's descendants in any namespace,
// orphans included — is killed, and the emptied cgroup removed (2 s at most).
static void end_cgroup(janitor_entry *e) {
    int f = openat(e->dir_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (f >= 0) { ssize_t ignored = write(f, "1\n", 2); (void)ignored; close(f); }
    struct timespec ms = { 0, 1000 * 1000 };
    for (int round = 0; round < 2000 && cgroup_populated(e->dir_fd); round++) nanosleep(&ms, NULL);
    remove_child_cgroups(e->dir_fd, 0);
    unlinkat(e->fd, e->name, AT_REMOVEDIR);
}

// What a directory open as `dir` holds, removed: files unlinked, directories emptied
// the same way and removed, never through a symbolic link (each entry is opened
// O_NOFOLLOW from its parent's descriptor) nor into another file system (`dev`).
typedef struct tree { uint64_t dev; int depth; } tree;

static void remove_contents(int dir, tree t);

static void remove_entry(int d, const char *name, unsigned char type, const void *ctx) {
    (void)type;
    const tree *t = ctx;
    struct stat st;
    if (fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (!S_ISDIR(st.st_mode)) { unlinkat(d, name, 0); return; }
    if ((uint64_t)st.st_dev != t->dev) return;   // a mount on it: not ours to empty
    int child = openat(d, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child >= 0) { remove_contents(child, (tree){ t->dev, t->depth + 1 }); close(child); }
    unlinkat(d, name, AT_REMOVEDIR);
}

static void remove_contents(int dir, tree t) {
    if (t.depth > 64) return;
    each_entry(dir, remove_entry, &t);
}

// A scratch directory (`pidsh test`'s, for one script's HOME and TMPDIR) goes with
// whatever the script left in it, if the name still stands for the directory made.
static void remove_scratch(const janitor_entry *e) {
    struct stat st;
    if (fstatat(e->fd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 || (uint64_t)st.st_dev != e->dev
        || (uint64_t)st.st_ino != e->ino) return;
    int dir = openat(e->fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) return;
    remove_contents(dir, (tree){ e->dev, 0 });
    close(dir);
    unlinkat(e->fd, e->name, AT_REMOVEDIR);
}

// Removes a mount point unless another session uses it. A killed pidsh's session can
// outlive its end of the socket by a moment: its own shared lock is released as the
// kernel closes its descriptors one by one, and its mount namespace lives on (with the
// mount on this directory, seen through the parent's descriptor that came from there)
// until its last process has died. A directory still busy, or seen as that mount
// (ESTALE), is looked at again for up to half a second.
static void remove_when_free(const janitor_entry *e) {
    int made = e->kind == PIDSH_JANITOR_MAKE_DIRECTORY;
    for (int tries = 0; tries < 50; tries++) {
        int r = pidsh_remove_if_last_user(e->fd, e->dir_fd, e->name, e->dev, e->ino, made, NULL);
        if (r != EBUSY && r != ESTALE) return;
        struct timespec ten = { 0, 10 * 1000 * 1000 };
        nanosleep(&ten, NULL);
    }
}

// Undoes what is left, newest first, once the session's processes are gone. A mount
// point another session still uses stays: that session removes it when it lets go.
static void undo_what_is_left(void) {
    for (int i = 0; i < used; i++) {
        if (table[i].kind == PIDSH_JANITOR_CGROUP) { end_cgroup(&table[i]); release(&table[i]); }
    }
    for (int i = used - 1; i >= 0; i--) {
        janitor_entry *e = &table[i];
        if (e->kind == PIDSH_JANITOR_MOUNT) {
            pidsh_unmount_handle(e->fd, e->mount_id, NULL);
        } else if (e->kind == PIDSH_JANITOR_FILE) {
            pidsh_remove_file_handle(e->fd, e->name, e->dev, e->ino, NULL);
        } else if (e->kind == PIDSH_JANITOR_SCRATCH) {
            remove_scratch(e);
        } else if (e->kind == PIDSH_JANITOR_MAKE_DIRECTORY || e->kind == PIDSH_JANITOR_DIRECTORY) {
            remove_when_free(e);
        }
        release(e);
    }
}

void pidsh_janitor_main(int sock) {
    // Every record may hold descriptors: as many as the hard limit allows.
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    listen_until_end(sock);
    close(sock);
    undo_what_is_left();
    if (journal_dir >= 0) unlinkat(journal_dir, journal_name, 0);
    _exit(0);
}

int pidsh_janitor_cgroup_procs = -1;

int pidsh_fork_janitor(int *sock, pid_t *pid) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return errno;
    // The child starts with every signal blocked: until its setsid() it is in pidsh's
    // process group with pidsh's handlers (a terminal's ^\ reached a janitor not yet
    // scheduled, and Swift's crash handler took it).
    sigset_t all_signals, saved_mask;
    sigfillset(&all_signals);
    sigprocmask(SIG_SETMASK, &all_signals, &saved_mask);
    // The janitor has its name from its first moment: fork copies the forking thread's
    // name, which is the janitor's for the length of the fork. Named by the child itself,
    // it showed as a copy of pidsh until it was scheduled (a `ps` made at once, on a
    // loaded machine, listed it so).
    char own_name[17] = { 0 };
    prctl(PR_GET_NAME, own_name, 0, 0, 0);
    prctl(PR_SET_NAME, "pidsh-janitor", 0, 0, 0);
    pid_t child = fork();
    if (child != 0) {
        prctl(PR_SET_NAME, own_name, 0, 0, 0);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    }
    if (child < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return e;
    }
    if (child == 0) {
        // A pidsh started inside another's session cgroup (`inside`, `$PIDSH -c`) must
        // not have its janitor ended by that session's cgroup.kill before it has undone
        // what its own pidsh made: it leaves for the cgroup the outer session began in.
        if (pidsh_janitor_cgroup_procs >= 0) {
            ssize_t ignored = write(pidsh_janitor_cgroup_procs, "0\n", 2);   // 0: the writer itself
            (void)ignored;
        }
        // Only its end of the socket matters; nothing may keep pidsh's other pipes open.
        int keep = sv[1];
        if (keep != 3) { dup2(keep, 3); keep = 3; }
        syscall(SYS_close_range, 4U, ~0U, 0U);
        setsid();   // every signal stays blocked: the janitor ends only at EOF (or SIGKILL)
        pidsh_janitor_main(keep);
    }
    close(sv[1]);
    *sock = sv[0];
    *pid = child;
    return 0;
}

int pidsh_start_janitor(void) {
    if (pidsh_janitor_socket >= 0) return 0;   // already started (rootless: before the PID namespace)
    int sock;
    pid_t pid;
    int e = pidsh_fork_janitor(&sock, &pid);
    if (e != 0) return e;
    pidsh_janitor_socket = sock;
    pidsh_janitor_process = pid;
    return 0;
}

void pidsh_stop_janitor(void) {
    if (pidsh_janitor_socket < 0) return;
    close(pidsh_janitor_socket);
    pidsh_janitor_socket = -1;
    if (pidsh_janitor_process > 0) {
        int status;
        while (waitpid(pidsh_janitor_process, &status, 0) < 0 && errno == EINTR) {}
    }
    pidsh_janitor_process = -1;
}
