// procfs mounts with the new mount API: the filesystem context takes the PID namespace
// of the process that opens it, and move_mount targets an O_PATH fd, so no path is
// resolved after pidsh checked it (a planted symlink cannot redirect the mount).
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"
#include "mount_api.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

int pidsh_bind_proc_at(int dirfd) {
    // Recursive: a bind without the mounts below /proc (binfmt_misc...) is refused
    // when they are locked, as they are in a user namespace's copy of the host's tree.
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT);
    if (tree < 0) return errno;
    int e = syscall(SYS_move_mount, tree, "", dirfd, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0 ? 0 : errno;
    close(tree);
    return e;
}

int pidsh_mount_proc_in_namespace(int ns_fd, int dirfd, int *stage) {
    int restore_fd = -1;
    int by_helper = ns_fd >= 0 && pidsh_join_through_helper;
    int err = by_helper ? 0 : pidsh_enter_pid_ns_for_children(ns_fd, &restore_fd, stage);
    if (err != 0) return err;
    sigset_t saved;
    pidsh_block_signals(&saved);
    int pidfd = -1;
    int clone_stage = PIDSH_STAGE_CLONE;
    pid_t pid = by_helper ? pidsh_clone_via_helper(ns_fd, 0, &pidfd, &clone_stage)
                          : pidsh_clone_with_pidfd(0, &pidfd);
    if (pid == 0) {
        pidsh_child_tie_to_parent();
        pidsh_child_reset_signals();
        _exit(pidsh_mount_proc_at(dirfd) & 0xff);
    }
    int clone_errno = errno;
    pidsh_restore_signals(&saved);
    int restore_err = pidsh_leave_pid_ns_for_children(restore_fd);
    if (pid < 0) {
        *stage = clone_stage;
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
