// A writable mirror of a directory the caller may not write, for a rootless pidsh that
// must create a mount point there (the walkthroughs' /proc2 in `/`). Root in a user
// namespace of its own has no right over the host's directories, but it may mount in
// its own mount namespace: so a tmpfs goes over the directory, holding one entry per
// original entry, each directory a recursive bind of the original, each file a bind,
// each symlink a copy. Everything that existed reads and writes through to the real
// filesystem; only new entries (the mount points) live in the tmpfs, which vanishes
// with pidsh's mount namespace. For `/` the tmpfs becomes the root by pivot_root, as
// container runtimes make theirs. Only called in pidsh's private mount namespace.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"
#include "mount_api.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// Records one call of the mirror's (see pidsh_call_record): `fd` its descriptor
// argument, `to` a second one (move_mount's target).
static void note(pidsh_trace *t, int call, long result, int error, int fd, int to, uint64_t flags, const char *text) {
    pidsh_call_record r = pidsh_record(call, PIDSH_ACTOR_PIDSH);
    r.fd = fd;
    r.target = (uint64_t)(int64_t)to;
    r.flags = flags;
    pidsh_record_text(&r, text);
    pidsh_record_result(&r, result, error);
    pidsh_trace_add(t, &r);
}

// Binds `name` of the original directory onto the same name in the mirror (which the
// caller created), with every mount below it.
static int bind_entry(int original, int mirror, const char *name, pidsh_trace *t) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW;
    int tree = (int)syscall(SYS_open_tree, original, name, flags);
    note(t, PIDSH_CALL_OPEN_TREE, tree, errno, original, -1, flags, name);
    if (tree < 0) return errno;
    long m = syscall(SYS_move_mount, tree, "", mirror, name, MOVE_MOUNT_F_EMPTY_PATH);
    int e = m == 0 ? 0 : errno;
    note(t, PIDSH_CALL_MOVE_MOUNT, m, e, tree, mirror, MOVE_MOUNT_F_EMPTY_PATH, name);
    close(tree);
    return e;
}

// One entry of the original in the mirror. Returns 0 or errno.
static int mirror_entry(int original, int mirror, const char *name, pidsh_trace *t) {
    struct stat st;
    if (fstatat(original, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : errno;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(original, name, target, sizeof target - 1);
        if (n < 0) return errno;
        target[n] = 0;
        return symlinkat(target, mirror, name) == 0 ? 0 : errno;
    }
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(mirror, name, st.st_mode & 07777) != 0) return errno;
    } else {
        // Files, devices, sockets, FIFOs: an empty file to bind the original onto.
        int fd = openat(mirror, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) return errno;
        close(fd);
    }
    return bind_entry(original, mirror, name, t);
}

// Mirrors the directory open as `dirfd` (an O_PATH fd from a walk that followed no
// symlink: no path is looked up again). Returns 0 or errno; on failure nothing has
// changed.
int pidsh_mirror_directory(int dirfd, pidsh_trace *t) {
    char cwd[PATH_MAX];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;

    int original = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (original < 0) return errno;
    struct stat st, root;
    if (fstat(original, &st) != 0 || stat("/", &root) != 0) { int e = errno; close(original); return e; }
    int is_root = st.st_dev == root.st_dev && st.st_ino == root.st_ino;

    // The tmpfs, with the original's permission bits (its owner is pidsh's root).
    int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    note(t, PIDSH_CALL_FSOPEN, fs, errno, -1, -1, FSOPEN_CLOEXEC, "tmpfs");
    if (fs < 0) { int e = errno; close(original); return e; }
    char mode[16];
    snprintf(mode, sizeof mode, "%o", (unsigned)(st.st_mode & 07777));
    int mirror = -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", mode, 0) == 0) {
        long c = syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
        note(t, PIDSH_CALL_FSCONFIG, c, errno, fs, -1, FSCONFIG_CMD_CREATE, NULL);
        if (c == 0) {
            mirror = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
            note(t, PIDSH_CALL_FSMOUNT, mirror, errno, fs, -1, FSMOUNT_CLOEXEC, NULL);
        }
    }
    int e = mirror < 0 ? errno : 0;
    close(fs);
    if (mirror < 0) { close(original); return e; }

    // Attached over the original first (lookups by path still find the original: a
    // mount on `/` is not followed from the root, and the original is open here), so
    // that binds can be mounted into it.
    long attached = syscall(SYS_move_mount, mirror, "", original, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    note(t, PIDSH_CALL_MOVE_MOUNT, attached, errno, mirror, original, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, NULL);
    if (attached != 0) {
        e = errno;
        close(mirror); close(original);
        return e;
    }
    DIR *dir = fdopendir(dup(original));
    if (dir == NULL) e = errno;
    for (struct dirent *d; e == 0 && dir && (d = readdir(dir)) != NULL;) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
        e = mirror_entry(original, mirror, d->d_name, t);
    }
    if (dir) closedir(dir);
    if (e == 0 && is_root) {
        // The mirror becomes the root: pivot_root(".", ".") from inside it stacks the old
        // root on top, and detaching that leaves the mirror (every process whose root was
        // the old one now has the mirror).
        long p = fchdir(mirror) != 0 ? -1 : syscall(SYS_pivot_root, ".", ".");
        note(t, PIDSH_CALL_PIVOT_ROOT, p, errno, -1, -1, 0, NULL);
        if (p != 0) e = errno;
        else if (fchdir(original) != 0) e = errno;
        else {
            int u = umount2(".", MNT_DETACH);
            note(t, PIDSH_CALL_UMOUNT2, u, errno, -1, -1, MNT_DETACH, ".");
            if (u != 0) e = errno;
        }
    }
    if (e != 0) {
        // Nothing to keep: the half-made mirror goes (binds and all).
        int saved = e;
        if (!is_root || fchdir(original) == 0) {
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", mirror);
            umount2(self, MNT_DETACH);
        }
        e = saved;
    }
    close(mirror);
    close(original);
    // The working directory is looked up again, so it is in the mirror too.
    if (have_cwd && chdir(cwd) != 0 && e == 0) e = errno;
    return e;
}
