// Undoing by handle: a mount from inside it (fchdir to its root), a directory through
// a descriptor of its parent, each only after checking it is still what pidsh made. No
// path is walked again, so a parent directory renamed and replaced by a symlink while
// pidsh ran cannot redirect the undo. Used by a live session, by the janitor and by
// `pidsh cleanup`. Layer 2: calls procfs.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

static int unmount_file_handle(int mount_fd, uint64_t mount_id, pidsh_call_record *rec) {
    char path[40] = "/proc/self/fd/";
    size_t n = strlen(path);
    char rev[12];
    int len = 0;
    unsigned v = (unsigned)mount_fd;
    do { rev[len++] = (char)('0' + v % 10); v /= 10; } while (v > 0);
    while (len > 0) path[n++] = rev[--len];
    path[n] = 0;
    struct statx st;
    if (syscall(SYS_statx, AT_FDCWD, path, 0, STATX_MNT_ID_UNIQUE, &st) != 0) return errno;
    if (mount_id != 0 && (!(st.stx_mask & STATX_MNT_ID_UNIQUE) || st.stx_mnt_id != mount_id)) return ESTALE;
    int r = umount2(path, MNT_DETACH);
    int e = r == 0 ? 0 : errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_UMOUNT2, PIDSH_ACTOR_PIDSH);
        rec->flags = MNT_DETACH;
        rec->fd = mount_fd;
        pidsh_record_text(rec, path);
        pidsh_record_result(rec, r, e);
    }
    return e;
}

int pidsh_unmount_handle(int mount_fd, uint64_t mount_id, pidsh_call_record *rec) {
    // No path names the mount: the process steps into it (fchdir to the descriptor of
    // its root), checks that this is the root of the very mount recorded
    // (STATX_MNT_ID_UNIQUE: plain mount ids are reused at once), and detaches "." —
    // lazily: the descriptor itself holds the mount, so a plain unmount is EBUSY. No
    // /proc is needed either (a janitor outside pidsh's PID namespace has no
    // /proc/self there).
    int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fchdir(mount_fd) != 0) {
        int e = errno;
        if (here >= 0) close(here);
        // A file mounted on a file (a pinned namespace) cannot be stepped into: then
        // through the magic link, checked the same way.
        return e == ENOTDIR ? unmount_file_handle(mount_fd, mount_id, rec) : e;
    }
    struct statx st;
    int e = 0;
    if (syscall(SYS_statx, AT_FDCWD, ".", 0, STATX_MNT_ID_UNIQUE, &st) != 0) e = errno;
    else if (mount_id != 0 && (!(st.stx_mask & STATX_MNT_ID_UNIQUE) || st.stx_mnt_id != mount_id)) e = ESTALE;
    else if ((st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && !(st.stx_attributes & STATX_ATTR_MOUNT_ROOT)) e = EINVAL;
    else {
        int r = umount2(".", MNT_DETACH);
        e = r == 0 ? 0 : errno;
        if (rec) {
            *rec = pidsh_record(PIDSH_CALL_UMOUNT2, PIDSH_ACTOR_PIDSH);
            rec->flags = MNT_DETACH;
            rec->fd = mount_fd;
            pidsh_record_text(rec, ".");
            pidsh_record_result(rec, r, e);
        }
    }
    if (here >= 0) {
        int ignored = fchdir(here);
        (void)ignored;
        close(here);
    }
    return e;
}

int pidsh_remove_directory_handle(int parent_fd, const char *name, uint64_t dev, uint64_t ino,
                                  pidsh_call_record *rec) {
    struct stat st;
    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    // Another entry under that name now (or a mount still covering it): not pidsh's.
    if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) return ESTALE;
    int r = unlinkat(parent_fd, name, AT_REMOVEDIR);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_UNLINKAT, PIDSH_ACTOR_PIDSH);
        rec->fd = parent_fd;
        rec->flags = AT_REMOVEDIR;
        pidsh_record_text(rec, name);
        pidsh_record_result(rec, r, e);
    }
    return r == 0 ? 0 : e;
}

// ---------------------------------------------------------------------------------
// Mount points shared between sessions. Every session that uses one holds a shared
// flock on it while it does; a directory some pidsh made carries the mark below, and
// whichever session lets go of it last (an exclusive flock succeeds) removes it. The
// mark is a user xattr: only a user allowed to write the directory can set it, and
// pidsh only ever uses directories of root's or of its own user.
static const char mark_name[] = "user.pidsh.made";

int pidsh_mark_directory(int dirfd) {
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    int e = fsetxattr(fd, mark_name, "1", 1, 0) == 0 ? 0 : errno;
    close(fd);
    return e;
}

int pidsh_directory_is_marked(int dirfd) {
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    char value[4];
    ssize_t n = fgetxattr(fd, mark_name, value, sizeof value);
    close(fd);
    return n == 1 && value[0] == '1';
}

int pidsh_remove_file_handle(int parent_fd, const char *name, uint64_t dev, uint64_t ino, pidsh_call_record *rec) {
    struct stat st;
    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino || !S_ISREG(st.st_mode)) return ESTALE;
    int r = unlinkat(parent_fd, name, 0);
    int e = errno;
    if (rec) {
        *rec = pidsh_record(PIDSH_CALL_UNLINKAT, PIDSH_ACTOR_PIDSH);
        rec->fd = parent_fd;
        pidsh_record_text(rec, name);
        pidsh_record_result(rec, r, e);
    }
    return r == 0 ? 0 : e;
}

int pidsh_remove_if_last_user(int parent_fd, int dirfd, const char *name, uint64_t dev, uint64_t ino, int made,
                              pidsh_call_record *rec) {
    if (!made && !pidsh_directory_is_marked(dirfd)) return EPERM;
    int lock = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(lock);
        return e == EWOULDBLOCK ? EBUSY : e;
    }
    int e = pidsh_remove_directory_handle(parent_fd, name, dev, ino, rec);
    if (lock >= 0) close(lock);
    return e;
}
