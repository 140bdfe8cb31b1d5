// `mount proc PATH --ns NS`: a procfs takes the PID namespace of the process that
// creates it, so a short-lived helper is made inside NS (launch.c) to mount it and
// report the mount back; and the rootless bind of /proc. Either way the janitor holds
// the mount before it is attached. Layer 6.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include "mount_api.h"
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct mount_helper_args {
    int dirfd;
    uint64_t record;
    int report, other_end;
} mount_helper_args;

static int mount_helper(void *p) {
    const mount_helper_args *a = p;
    close(a->other_end);
    pidsh_child_tie_to_parent();
    pidsh_child_reset_signals();
    pidsh_report rep;
    pidsh_report_init(&rep, PIDSH_REPORT_MOUNTED, -1);
    pidsh_mount_handle mount;
    int e = pidsh_child_mount_proc(a->dirfd, a->record, &rep, PIDSH_ACTOR_HELPER, -1, &mount);
    if (e != 0) pidsh_report_fail(a->report, &rep, PIDSH_STAGE_MOUNT_PROC, e);
    rep.mount_id = mount.mount_id;
    pidsh_report_send(a->report, &rep, &mount.fd, 1);
    _exit(0);
}

int pidsh_mount_proc_in_namespace(int ns_fd, int dirfd, uint64_t record, pidsh_mount_handle *mount,
                                  int *stage, pidsh_trace *trace) {
    mount->fd = -1;
    mount->mount_id = 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) { *stage = PIDSH_STAGE_PIPE; return errno; }
    mount_helper_args args = { .dirfd = dirfd, .record = record, .report = sv[1], .other_end = sv[0] };
    // The helper exits at once: it may share pidsh's memory while pidsh waits.
    pidsh_launch l = { .join_fd = ns_fd, .flags = 0, .execs = 1, .child = mount_helper, .arg = &args, .trace = trace };
    pidsh_launched out;
    int rc = pidsh_launch_child(&l, &out);
    close(sv[1]);
    if (out.pid < 0) {
        close(sv[0]);
        *stage = out.stage;
        return out.error;
    }
    int from = trace ? trace->count : 0;
    pidsh_outcome outcome;
    pidsh_drain_reports(sv[0], !out.shared_memory, out.pid, trace, &outcome);
    close(sv[0]);
    pidsh_trace_move_tail(trace, from, out.trace_mark);
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)out.pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    close(out.pidfd);
    *mount = outcome.mount;
    if (outcome.failed) { *stage = outcome.stage; return outcome.error; }
    if (mount->fd < 0) { *stage = PIDSH_STAGE_MOUNT_PROC; return EPIPE; }
    if (rc != 0) { *stage = out.stage; return out.error; }
    return 0;
}

int pidsh_bind_proc_at(int dirfd, uint64_t record, pidsh_mount_handle *mount, pidsh_trace *trace) {
    mount->fd = -1;
    mount->mount_id = 0;
    pidsh_calls calls = { .n = 0 };
    int tree = pidsh_proc_tree_clone(&calls);
    int e = tree < 0 ? errno : 0;
    if (tree >= 0) {
        uint64_t id = pidsh_mount_id_of(tree);
        pidsh_janitor_note_mount(tree, id, record);
        e = pidsh_mount_attach(tree, dirfd, &calls);
        if (e != 0) { close(tree); pidsh_janitor_forget(record); }
        else { mount->fd = tree; mount->mount_id = id; }
    }
    for (int i = 0; i < calls.n; i++) pidsh_trace_add(trace, &calls.r[i]);
    return e;
}

int pidsh_pin_namespace(int nsfd, int filefd, uint64_t record, pidsh_mount_handle *mount, pidsh_trace *trace) {
    mount->fd = -1;
    mount->mount_id = 0;
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
    int tree = (int)syscall(SYS_open_tree, nsfd, "", flags);
    int e = tree < 0 ? errno : 0;
    pidsh_call_record r = pidsh_record(PIDSH_CALL_OPEN_TREE, PIDSH_ACTOR_PIDSH);
    r.fd = nsfd;
    r.flags = flags;
    pidsh_record_result(&r, tree, e);
    pidsh_trace_add(trace, &r);
    if (tree < 0) return e;
    uint64_t id = pidsh_mount_id_of(tree);
    pidsh_janitor_note_mount(tree, id, record);
    pidsh_calls calls = { .n = 0 };
    e = pidsh_mount_attach(tree, filefd, &calls);
    for (int i = 0; i < calls.n; i++) pidsh_trace_add(trace, &calls.r[i]);
    if (e != 0) { close(tree); pidsh_janitor_forget(record); return e; }
    mount->fd = tree;
    mount->mount_id = id;
    return 0;
}
