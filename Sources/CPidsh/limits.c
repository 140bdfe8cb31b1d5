// RLIMIT_NOFILE: pidsh holds a pidfd per live process (and a namespace fd per live
// namespace), so at the usual soft limit of 1024 descriptors it would fail near a
// thousand processes. At start it raises its soft limit to the hard one, and gives the
// programs it runs the limit it was started with, as systemd advises (a program that
// still uses select() breaks above 1024). Only raw calls in the child's part.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct rlimit started_nofile;
static int nofile_raised = 0;

int pidsh_raise_nofile_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return errno;
    started_nofile = r;
    if (r.rlim_cur >= r.rlim_max) return 0;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) return errno;
    nofile_raised = 1;
    return 0;
}

void pidsh_nofile_limits(unsigned long long *started_soft, unsigned long long *soft, unsigned long long *hard) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) { r.rlim_cur = 0; r.rlim_max = 0; }
    *soft = r.rlim_cur;
    *hard = r.rlim_max;
    *started_soft = nofile_raised ? started_nofile.rlim_cur : r.rlim_cur;
}

void pidsh_child_restore_nofile(void) {
    if (nofile_raised) syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &started_nofile, NULL);
}
