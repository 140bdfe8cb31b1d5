// pidsh's side of the janitor's socket (the janitor itself is janitor.c): binary
// messages with descriptors attached, so what the janitor undoes is named by handle,
// never by a path it would parse or walk. Children use pidsh_janitor_note_mount between
// fork and exec: raw calls only. Layer 2: calls fdpass.c.
#define _GNU_SOURCE
#include "cpidsh.h"
#include "cpidsh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int pidsh_janitor_socket = -1;
pid_t pidsh_janitor_process = -1;

int pidsh_janitor_capacity(void) { return PIDSH_JANITOR_CAPACITY; }

int pidsh_janitor_pid(void) { return pidsh_janitor_process; }

void pidsh_janitor_gone(void) { pidsh_janitor_process = -1; }

void pidsh_adopt_janitor(int sock) {
    pidsh_janitor_socket = sock;
    pidsh_janitor_process = -1;   // not this process's child: another pidsh forked it
}

static void message_init(pidsh_janitor_message *m, uint32_t kind, uint64_t record) {
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->record = record;
}

// A component fits when it has no '/' and is shorter than the message's name field.
static int name_fits(const char *name) {
    size_t n = strlen(name);
    return n == 0 || n >= sizeof ((pidsh_janitor_message *)0)->name || memchr(name, '/', n) ? EINVAL : 0;
}

static int set_name(pidsh_janitor_message *m, const char *name) {
    int e = name_fits(name);
    if (e == 0) memcpy(m->name, name, strlen(name) + 1);
    return e;
}

int pidsh_janitor_note_mount(int mount_fd, uint64_t mount_id, uint64_t record) {
    if (pidsh_janitor_socket < 0) return 0;
    pidsh_janitor_message m;
    message_init(&m, PIDSH_JANITOR_MOUNT, record);
    m.mount_id = mount_id;
    return pidsh_send_with_fds(pidsh_janitor_socket, &m, sizeof m, &mount_fd, 1);
}

int pidsh_janitor_note_directory(int parent_fd, int dir_fd, const char *name, uint64_t record) {
    if (pidsh_janitor_socket < 0) return 0;
    pidsh_janitor_message m;
    message_init(&m, PIDSH_JANITOR_DIRECTORY, record);
    int e = set_name(&m, name);
    if (e != 0) return e;
    int fds[2] = { parent_fd, dir_fd };
    return pidsh_send_with_fds(pidsh_janitor_socket, &m, sizeof m, fds, 2);
}

int pidsh_janitor_forget(uint64_t record) {
    if (pidsh_janitor_socket < 0) return 0;
    pidsh_janitor_message m;
    message_init(&m, PIDSH_JANITOR_FORGET, record);
    return pidsh_send_with_fds(pidsh_janitor_socket, &m, sizeof m, NULL, 0);
}

// Many records at once, in as few calls as the kernel allows (sendmmsg): the janitor
// wakes once for the lot, not once per record, while pidsh undoes the rest.
int pidsh_janitor_forget_many(const uint64_t *records, int count) {
    if (pidsh_janitor_socket < 0) return 0;
    enum { BATCH = 64 };
    pidsh_janitor_message m[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int done = 0; done < count;) {
        int n = count - done < BATCH ? count - done : BATCH;
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < n; i++) {
            message_init(&m[i], PIDSH_JANITOR_FORGET, records[done + i]);
            iov[i].iov_base = &m[i];
            iov[i].iov_len = sizeof m[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int sent = sendmmsg(pidsh_janitor_socket, msgs, (unsigned)n, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return sent < 0 ? errno : EPIPE;
        done += sent;
    }
    return 0;
}

int pidsh_janitor_note_journal(int dir_fd, const char *name) {
    if (pidsh_janitor_socket < 0) return 0;
    pidsh_janitor_message m;
    message_init(&m, PIDSH_JANITOR_JOURNAL, 0);
    int e = set_name(&m, name);
    if (e != 0) return e;
    return pidsh_send_with_fds(pidsh_janitor_socket, &m, sizeof m, &dir_fd, 1);
}

// Without a janitor (embedders, tests): pidsh makes the directory itself.
static int make_directory_here(int parent_fd, const char *name, unsigned mode, int *dir_fd) {
    if (mkdirat(parent_fd, name, (mode_t)mode) != 0) return errno;
    int fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno;
    *dir_fd = fd;
    return 0;
}

// The janitor's answer to a request to make something: its error, or the new
// directory (or file) attached.
static int receive_answer(int *dir_fd) {
    pidsh_janitor_message m;
    int fds[PIDSH_MAX_PASSED_FDS], count = 0;
    ssize_t n = pidsh_receive_with_fds(pidsh_janitor_socket, &m, sizeof m, fds, &count);
    int e = n != (ssize_t)sizeof m ? (n < 0 ? errno : EPIPE) : m.error;
    for (int i = 0; i < count; i++) {
        if (i == 0 && e == 0) *dir_fd = fds[0];
        else close(fds[i]);
    }
    return e == 0 && *dir_fd < 0 ? EPIPE : e;
}

// The session's cgroup may be asked for at the session's start and its answer taken at
// the first spawn (pidsh_janitor_request_cgroup); an answer read meanwhile comes after
// it, so the first read takes that one first and keeps it here.
static int cgroup_asked = 0;        // asked, answer not read yet
static int cgroup_kept = 0;         // answer read, not yet taken
static int cgroup_kept_fd = -1, cgroup_kept_error = 0;

static void take_cgroup_answer(void) {
    if (!cgroup_asked) return;
    cgroup_asked = 0;
    cgroup_kept = 1;
    cgroup_kept_fd = -1;
    cgroup_kept_error = receive_answer(&cgroup_kept_fd);
}

static int receive_made(int *dir_fd) {
    take_cgroup_answer();
    return receive_answer(dir_fd);
}

// A request to make `name` in `parent_fd`, sent (its answer comes with receive_made).
static int send_make_request(uint32_t kind, int parent_fd, const char *name, unsigned mode, uint64_t record) {
    pidsh_janitor_message m;
    message_init(&m, kind, record);
    m.mode = mode;
    int e = set_name(&m, name);
    return e != 0 ? e : pidsh_send_with_fds(pidsh_janitor_socket, &m, sizeof m, &parent_fd, 1);
}

// A request the janitor answers with the directory it made (see janitor.c).
static int ask_janitor_to_make(uint32_t kind, int parent_fd, const char *name, unsigned mode, uint64_t record, int *dir_fd) {
    int e = send_make_request(kind, parent_fd, name, mode, record);
    return e != 0 ? e : receive_made(dir_fd);
}

// The mkdirat of a mount point, made by the janitor (or here, without one).
static void record_mkdirat(pidsh_trace *trace, int parent_fd, const char *name, unsigned mode, int error) {
    pidsh_call_record r = pidsh_record(PIDSH_CALL_MKDIRAT, pidsh_janitor_socket >= 0 ? PIDSH_ACTOR_JANITOR : PIDSH_ACTOR_PIDSH);
    r.fd = parent_fd;
    r.flags = mode;
    r.actor_pid = pidsh_janitor_process > 0 ? pidsh_janitor_process : 0;
    pidsh_record_text(&r, name);
    pidsh_record_result(&r, error == 0 ? 0 : -1, error);
    pidsh_trace_add(trace, &r);
}

int pidsh_janitor_make_cgroup(int parent_fd, const char *name, uint64_t record, int *dir_fd) {
    *dir_fd = -1;
    if (pidsh_janitor_socket < 0) return make_directory_here(parent_fd, name, 0755, dir_fd);
    return ask_janitor_to_make(PIDSH_JANITOR_MAKE_CGROUP, parent_fd, name, 0755, record, dir_fd);
}

int pidsh_janitor_request_cgroup(int parent_fd, const char *name, uint64_t record) {
    if (pidsh_janitor_socket < 0 || cgroup_asked || cgroup_kept) return EALREADY;
    int e = send_make_request(PIDSH_JANITOR_MAKE_CGROUP, parent_fd, name, 0755, record);
    if (e == 0) cgroup_asked = 1;
    return e;
}

int pidsh_janitor_cgroup_answer(int *dir_fd) {
    *dir_fd = -1;
    take_cgroup_answer();
    if (!cgroup_kept) return ENOENT;
    cgroup_kept = 0;
    *dir_fd = cgroup_kept_fd;
    cgroup_kept_fd = -1;
    return cgroup_kept_error;
}

int pidsh_janitor_make_scratch(int parent_fd, const char *name, uint64_t record, int *dir_fd) {
    *dir_fd = -1;
    if (pidsh_janitor_socket < 0) return make_directory_here(parent_fd, name, 0700, dir_fd);
    return ask_janitor_to_make(PIDSH_JANITOR_MAKE_SCRATCH, parent_fd, name, 0700, record, dir_fd);
}

int pidsh_janitor_make_file(int parent_fd, const char *name, uint64_t record, int *fd) {
    *fd = -1;
    if (pidsh_janitor_socket < 0) {
        int f = openat(parent_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (f < 0) return errno;
        close(f);
        *fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        return *fd < 0 ? errno : 0;
    }
    return ask_janitor_to_make(PIDSH_JANITOR_MAKE_FILE, parent_fd, name, 0644, record, fd);
}

// Every request goes out before the first answer is read: the janitor makes one
// directory while pidsh sends the next, and then while pidsh finishes the one before
// (pidsh_janitor_directory_result takes the answers one by one, in the requests'
// order, which is the order the janitor answers in). pending[i] is 1 for a request
// whose answer is still to be taken; the others have their result already (made here,
// without a janitor, or not sent: a request that cannot be sent ends the sending, and
// the ones after it fail with the same error).
int pidsh_janitor_request_directories(int count, const int *parent_fds, const char *names, unsigned mode,
                                      const uint64_t *records, int *dir_fds, int *errors, int *pending) {
    const char *name = names;
    int stop = 0;
    for (int i = 0; i < count; i++, name += strlen(name) + 1) {
        dir_fds[i] = -1;
        pending[i] = 0;
        if (pidsh_janitor_socket < 0) {
            errors[i] = make_directory_here(parent_fds[i], name, mode, &dir_fds[i]);
        } else if (stop != 0) {
            errors[i] = stop;
        } else {
            // A name refused before sending (EINVAL) fails alone; a failed send, all after it.
            errors[i] = name_fits(name);
            if (errors[i] == 0) stop = send_make_request(PIDSH_JANITOR_MAKE_DIRECTORY, parent_fds[i], name, mode, records[i]);
            if (errors[i] == 0 && stop == 0) pending[i] = 1;
            else if (errors[i] == 0) errors[i] = stop;
        }
    }
    return 0;
}

void pidsh_janitor_directory_result(int pending, int parent_fd, const char *name, unsigned mode,
                                    int *dir_fd, int *error, pidsh_trace *trace) {
    if (pending) *error = receive_made(dir_fd);
    record_mkdirat(trace, parent_fd, name, mode, *error);
}

int pidsh_janitor_make_directory(int parent_fd, const char *name, unsigned mode, uint64_t record,
                                 int *dir_fd, pidsh_trace *trace) {
    *dir_fd = -1;
    int e = pidsh_janitor_socket < 0 ? make_directory_here(parent_fd, name, mode, dir_fd)
                                     : ask_janitor_to_make(PIDSH_JANITOR_MAKE_DIRECTORY, parent_fd, name, mode, record, dir_fd);
    record_mkdirat(trace, parent_fd, name, mode, e);
    return e;
}
