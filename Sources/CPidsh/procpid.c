// A process's PID inside its own PID namespace and its effective uid, asked of the
// kernel directly (docs/performance.md, "What bounds `ns tree` against `ps -e`"):
// /proc/PID/status has both, but the kernel formats some fifty lines to give them.
#include "cpidsh.h"
#include "cpidsh_internal.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Not in every linux/nsfs.h this builds against: the kernel's value
// (include/uapi/linux/nsfs.h; PIDFD_GET_INFO is in cpidsh_internal.h). An older kernel
// answers ENOTTY or EINVAL, and the caller reads /proc/PID/status instead.
#define PIDSH_NSIO 0xb7
#define PIDSH_NS_GET_TGID_IN_PIDNS _IOR(PIDSH_NSIO, 0x9, int)

int pidsh_process_own_pid_and_euid(int nsfd, pid_t pid, pid_t *own_pid, uint32_t *euid) {
    // The pidfd is opened first and asked last: when the last question is answered,
    // the process was alive all along, so the PID the ioctl in between translated
    // was still its own (a PID is not reused while its process exists).
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -PIDSH_OWN_PID_PIDFD;
    int r = ioctl(nsfd, PIDSH_NS_GET_TGID_IN_PIDNS, pid);
    if (r <= 0) {
        int e = r == 0 ? ESRCH : errno;
        close(pidfd);
        errno = e;
        return -PIDSH_OWN_PID_TRANSLATE;
    }
    struct pidsh_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = PIDSH_PIDFD_INFO_CREDS;
    int k = ioctl(pidfd, PIDSH_PIDFD_GET_INFO, &info);
    int e = errno;
    close(pidfd);
    errno = e;
    if (k < 0) return -PIDSH_OWN_PID_INFO;
    if (!(info.mask & PIDSH_PIDFD_INFO_CREDS)) { errno = EOPNOTSUPP; return -PIDSH_OWN_PID_INFO; }
    *own_pid = r;
    *euid = info.euid;
    return 0;
}
