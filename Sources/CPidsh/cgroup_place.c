// Where pidsh's children are born. As root pidsh keeps every process it starts in a
// cgroup of the session's own (SessionCgroup). Moving pidsh itself there would make the
// kernel wait for an RCU grace period twice, in and out again at the end (writing
// cgroup.procs takes cgroup_threadgroup_rwsem for writing: 7-14 ms each here, during
// which no process on the machine can fork), so instead each child is cloned straight
// into it (clone3 with CLONE_INTO_CGROUP, which takes that lock only to read), and pidsh
// stays where it was started. A script that moves pidsh (`echo $$ > .../cgroup.procs`)
// gets a shell's behaviour back: from then on children are born where pidsh is.
// Layer 0: calls nothing else in CPidsh.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int children_dir = -1;
static int own_pidfd = -1;
static uint64_t start_cgroup = 0;

// The cgroup.procs files of the children's cgroup and of pidsh's, held open while
// children are placed. Each clone checks that pidsh may write both (cgroup_may_write);
// the kernel finds their inodes through kernfs, which drops an inode nobody holds the
// moment its last user lets go: without these, every clone made and freed two inodes.
static int held_procs[2] = { -1, -1 };

static int open_high(int dir, const char *path, int high_fds) {
    int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || high_fds <= 0) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, high_fds);
    if (high < 0) return fd;
    close(fd);
    return high;
}

static void release_procs(void) {
    for (int i = 0; i < 2; i++) {
        if (held_procs[i] >= 0) close(held_procs[i]);
        held_procs[i] = -1;
    }
}

// pidsh's cgroup v2 id right now, or 0 when the kernel does not say.
static uint64_t own_cgroup_id(void) {
    struct pidsh_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = PIDSH_PIDFD_INFO_CGROUPID;
    if (ioctl(own_pidfd, PIDSH_PIDFD_GET_INFO, &info) != 0) return 0;
    return (info.mask & PIDSH_PIDFD_INFO_CGROUPID) ? info.cgroupid : 0;
}

int pidsh_cgroup_place_children(int dir_fd, int high_fds) {
    if (dir_fd < 0) {
        children_dir = -1;
        if (own_pidfd >= 0) close(own_pidfd);
        own_pidfd = -1;
        release_procs();
        return 0;
    }
    // The vfork-style clone with clone3 is written for x86-64 only (clone.c).
    if (!PIDSH_HAVE_CLONE3_RUNNING) return ENOSYS;
    if (own_pidfd < 0) {
        own_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (own_pidfd < 0) return ENOSYS;
        // Held for the session: among pidsh's long-lived descriptors, above the line.
        int high = high_fds > 0 ? fcntl(own_pidfd, F_DUPFD_CLOEXEC, high_fds) : -1;
        if (high >= 0) { close(own_pidfd); own_pidfd = high; }
    }
    start_cgroup = own_cgroup_id();
    if (start_cgroup == 0) {
        close(own_pidfd);
        own_pidfd = -1;
        return ENOSYS;
    }
    children_dir = dir_fd;
    release_procs();
    held_procs[0] = open_high(dir_fd, "cgroup.procs", high_fds);
    held_procs[1] = open_high(dir_fd, "../cgroup.procs", high_fds);
    return 0;
}

int pidsh_cgroup_pidsh_unmoved(void) {
    return children_dir < 0 || own_cgroup_id() == start_cgroup;
}

int pidsh_children_cgroup(void) {
    if (children_dir < 0) return -1;
    return own_cgroup_id() == start_cgroup ? children_dir : -1;
}
