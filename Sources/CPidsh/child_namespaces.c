// The child side of namespaces other than PID: waiting for its user namespace's maps,
// joining the types asked for (one setns through the target's pidfd, or one per type),
// a new time namespace with its offsets, the hostname, private mounts, and the target's
// root and working directory for `spawn --enter`. Raw calls only; each call is
// recorded in the child's report. Layer 3 (beside child.c): calls report.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void note(pidsh_report *rep, int call, long result, int error, int fd, uint64_t flags, const char *text) {
    pidsh_call_record r = pidsh_record(call, PIDSH_ACTOR_CHILD);
    r.fd = fd;
    r.flags = flags;
    pidsh_record_text(&r, text);
    pidsh_record_result(&r, result, error);
    pidsh_report_add(rep, &r);
}

// `pidfd`: fd is the target's pidfd (its namespaces of `types`), not a namespace's.
static int set_namespace(pidsh_report *rep, int fd, uint64_t types, int pidfd) {
    int r = setns(fd, (int)types);
    int e = errno;
    pidsh_call_record rec = pidsh_record(PIDSH_CALL_SETNS, PIDSH_ACTOR_CHILD);
    rec.fd = fd;
    rec.flags = types;
    rec.flags2 = pidfd ? 1 : 0;
    rec.target = pidfd ? 0 : pidsh_ns_inode(fd);
    pidsh_record_result(&rec, r, e);
    pidsh_report_add(rep, &rec);
    return r == 0 ? 0 : e;
}

int pidsh_child_wait_for_maps(int sock) {
    char go;
    ssize_t n;
    do { n = recv(sock, &go, 1, 0); } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : EPIPE;   // pidsh is gone, or could not write the maps
}

int pidsh_child_join(const pidsh_spawn_request *req, pidsh_report *rep) {
    if (req->join_pidfd >= 0 && req->join_types != 0) {
        int e = set_namespace(rep, req->join_pidfd, req->join_types, 1);
        if (e != EINVAL || req->join_fd_count == 0) return e;
    }
    // One at a time, in the order given (user first: it may give the privilege).
    for (int i = 0; i < req->join_fd_count; i++) {
        int e = set_namespace(rep, req->join_fds[i], req->join_fd_types[i], 0);
        if (e != 0) return e;
    }
    return 0;
}

int pidsh_child_new_time_namespace(const pidsh_spawn_request *req, pidsh_report *rep) {
    int r = unshare(CLONE_NEWTIME);
    note(rep, PIDSH_CALL_UNSHARE, r, errno, -1, CLONE_NEWTIME, NULL);
    if (r != 0) return errno;
    if (req->time_offsets && req->time_offsets[0]) {
        int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
        if (fd < 0) return errno;
        size_t len = strlen(req->time_offsets);
        ssize_t n = write(fd, req->time_offsets, len);
        int e = n == (ssize_t)len ? 0 : (n < 0 ? errno : EIO);
        close(fd);
        if (e != 0) return e;
    }
    int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int e = set_namespace(rep, fd, CLONE_NEWTIME, 0);
    close(fd);
    return e;
}

int pidsh_child_set_hostname(const char *name, pidsh_report *rep) {
    int r = sethostname(name, strlen(name));
    note(rep, PIDSH_CALL_SETHOSTNAME, r, errno, -1, 0, name);
    return r == 0 ? 0 : errno;
}

int pidsh_child_private_mounts(pidsh_report *rep) {
    int r = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    pidsh_call_record rec = pidsh_record(PIDSH_CALL_MOUNT, PIDSH_ACTOR_CHILD);
    rec.flags = MS_REC | MS_PRIVATE;
    pidsh_record_text(&rec, "/");
    pidsh_record_result(&rec, r, errno);
    pidsh_report_add(rep, &rec);
    return r == 0 ? 0 : errno;
}

int pidsh_child_enter_root(const pidsh_spawn_request *req, pidsh_report *rep) {
    if (req->root_fd >= 0) {
        if (fchdir(req->root_fd) != 0) return errno;
        int r = chroot(".");
        note(rep, PIDSH_CALL_CHROOT, r, errno, -1, 0, ".");
        if (r != 0) return errno;
    }
    if (req->cwd_fd >= 0 && fchdir(req->cwd_fd) != 0) return errno;
    return 0;
}
