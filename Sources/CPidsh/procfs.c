// procfs mounts with the new mount API: the filesystem context takes the PID namespace
// of the process that opens it, and move_mount targets an O_PATH fd, so no path is
// resolved after pidsh checked it (a planted symlink cannot redirect the mount). A
// mount is made detached first (fsmount), so its descriptor can be handed to the
// janitor before it is attached anywhere. Bottom layer: calls no other file of CPidsh.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"
#include "mount_api.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

// The next record of `calls`, or `spare` when the caller keeps none (no static or
// thread-local storage: these run in children that share pidsh's memory).
static pidsh_call_record *next_record(pidsh_calls *calls, int call, pidsh_call_record *spare) {
    pidsh_call_record *r = calls && calls->n < 4 ? &calls->r[calls->n++] : spare;
    *r = pidsh_record(call, PIDSH_ACTOR_PIDSH);
    return r;
}

int pidsh_procfs_create(pidsh_calls *calls) {
    pidsh_call_record spare;
    pidsh_call_record *r = next_record(calls, PIDSH_CALL_FSOPEN, &spare);
    int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
    int e = errno;
    pidsh_record_text(r, "proc");
    r->flags = FSOPEN_CLOEXEC;
    pidsh_record_result(r, fs, e);
    if (fs < 0) { errno = e; return -1; }

    r = next_record(calls, PIDSH_CALL_FSCONFIG, &spare);
    long c = syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    e = errno;
    r->fd = fs;
    r->flags = FSCONFIG_CMD_CREATE;
    pidsh_record_result(r, c, e);
    if (c != 0) { close(fs); errno = e; return -1; }

    r = next_record(calls, PIDSH_CALL_FSMOUNT, &spare);
    uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
    e = errno;
    r->fd = fs;
    r->flags = FSMOUNT_CLOEXEC;
    r->flags2 = attrs;
    pidsh_record_result(r, mnt, e);
    close(fs);
    errno = e;
    return mnt;
}

int pidsh_mount_attach(int mount_fd, int dirfd, pidsh_calls *calls) {
    pidsh_call_record spare;
    pidsh_call_record *r = next_record(calls, PIDSH_CALL_MOVE_MOUNT, &spare);
    long m = syscall(SYS_move_mount, mount_fd, "", dirfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int e = errno;
    r->fd = mount_fd;
    r->target = (uint64_t)dirfd;
    r->flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
    pidsh_record_result(r, m, e);
    return m == 0 ? 0 : e;
}

int pidsh_proc_tree_clone(pidsh_calls *calls) {
    // Recursive: a bind without the mounts below /proc (binfmt_misc...) is refused
    // when they are locked, as they are in a user namespace's copy of the host's tree.
    pidsh_call_record spare;
    pidsh_call_record *r = next_record(calls, PIDSH_CALL_OPEN_TREE, &spare);
    uint64_t flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT;
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", (unsigned)flags);
    int e = errno;
    pidsh_record_text(r, "/proc");
    r->flags = flags;
    r->fd = AT_FDCWD;
    pidsh_record_result(r, tree, e);
    errno = e;
    return tree;
}

uint64_t pidsh_mount_id_of(int fd) {
    struct statx st;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &st) != 0) return 0;
    return (st.stx_mask & STATX_MNT_ID_UNIQUE) ? st.stx_mnt_id : 0;
}

int pidsh_is_mount_root(int fd) {
    struct statx st;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0, &st) != 0) return -1;
    if (!(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -1;
    return (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}
