// Start-up of a pidsh session, while the process is still single-threaded: the rootless
// user namespace (as `unshare -r`) and the private mount namespace that makes every
// mount pidsh creates vanish with it, even when it is SIGKILLed.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int e = (n == (ssize_t)len) ? 0 : (n < 0 ? errno : EIO);
    close(fd);
    return e;
}

int pidsh_enter_session(int private_mounts, int rootless, int own_pid_namespace, int *stage) {
    *stage = PIDSH_SESSION_OK;
    int e = pidsh_ensure_life_pipe();
    if (e != 0) return e;
    if (rootless) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER) != 0) { *stage = PIDSH_SESSION_USER_NAMESPACE; return errno; }
        char map[64];
        e = write_file("/proc/self/setgroups", "deny");
        if (e != 0 && e != ENOENT) { *stage = PIDSH_SESSION_ID_MAPS; return e; }
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
        if ((e = write_file("/proc/self/uid_map", map)) != 0) { *stage = PIDSH_SESSION_ID_MAPS; return e; }
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
        if ((e = write_file("/proc/self/gid_map", map)) != 0) { *stage = PIDSH_SESSION_ID_MAPS; return e; }
    }
    if (private_mounts) {
        if (unshare(CLONE_NEWNS) != 0) { *stage = PIDSH_SESSION_MOUNT_NAMESPACE; return errno; }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { *stage = PIDSH_SESSION_PRIVATE_ROOT; return errno; }
    }
    if (rootless && own_pid_namespace) {
        // To send its children back after setns/unshare, a rootless pidsh's own PID
        // namespace must be one its user namespace owns (setns needs CAP_SYS_ADMIN over
        // the target's owner). So it becomes PID 1 of a new one with its own /proc, as
        // `unshare -r -p -f --mount-proc` does; the parent stays as its janitor.
        int e2 = pidsh_enter_own_pid_namespace();
        if (e2 != 0) { *stage = PIDSH_SESSION_OWN_PID_NAMESPACE; return e2; }
    } else if (rootless) {
        // In the host's PID namespace, with all 32 levels below it; setns into another
        // namespace would be for good, so a helper process does it for each clone.
        pidsh_join_through_helper = 1;
    }
    return 0;
}
