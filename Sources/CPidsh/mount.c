// procfs mounts with the new mount API: the filesystem context takes the PID namespace
// of the process that opens it, and move_mount targets an O_PATH fd, so no path is
// resolved after pidsh checked it (a planted symlink cannot redirect the mount).
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

int pidsh_mount_proc_at(int dirfd) {
    int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
    if (fs < 0) return errno;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
        int e = errno;
        close(fs);
        return e;
    }
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    int e = mnt < 0 ? errno : 0;
    close(fs);
    if (mnt < 0) return e;
    if (syscall(SYS_move_mount, mnt, "", dirfd, "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        e = errno;
        close(mnt);
        return e;
    }
    close(mnt);
    return 0;
}

int pidsh_mount_proc_in_namespace(int ns_fd, int dirfd, int *stage) {
    int restore_fd = -1;
    int err = pidsh_enter_pid_ns_for_children(ns_fd, &restore_fd, stage);
    if (err != 0) return err;
    sigset_t saved;
    pidsh_block_signals(&saved);
    int pidfd = -1;
    pid_t pid = pidsh_clone_with_pidfd(0, &pidfd);
    if (pid == 0) {
        pidsh_child_tie_to_parent();
        pidsh_child_reset_signals();
        _exit(pidsh_mount_proc_at(dirfd) & 0xff);
    }
    int clone_errno = errno;
    pidsh_restore_signals(&saved);
    int restore_err = pidsh_leave_pid_ns_for_children(restore_fd);
    if (pid < 0) {
        *stage = PIDSH_STAGE_CLONE;
        return clone_errno;
    }
    siginfo_t info;
    int r;
    do { r = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED); } while (r != 0 && errno == EINTR);
    close(pidfd);
    if (info.si_code != CLD_EXITED) {
        *stage = PIDSH_STAGE_MOUNT_PROC;
        return EINTR;
    }
    if (info.si_status != 0) {
        *stage = PIDSH_STAGE_MOUNT_PROC;
        return info.si_status;
    }
    if (restore_err != 0) {
        *stage = PIDSH_STAGE_RESTORE_NS;
        return restore_err;
    }
    return 0;
}

int pidsh_open_tree_nofollow(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int pidsh_open_path_dir(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int pidsh_umount(const char *path, int flags) {
    return umount2(path, flags | UMOUNT_NOFOLLOW) == 0 ? 0 : errno;
}

int pidsh_mount_make_private_tree(const char *path) {
    return mount(NULL, path, NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : errno;
}
