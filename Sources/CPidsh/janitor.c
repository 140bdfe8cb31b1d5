// The janitor: a small process forked at start-up that outlives pidsh. pidsh tells it
// over a pipe about every mount and directory it makes ("+m PATH", "+d PATH") and
// undoes ("-m PATH", "-d PATH"). When the pipe reaches EOF (pidsh exited, or was
// SIGKILLed), it undoes whatever is still recorded, newest first. So even a killed
// pidsh leaves no directory behind. Runs only raw calls: it is a child of a fork.
#define _GNU_SOURCE
#include "cpidsh.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

static int janitor_write_fd = -1;
static pid_t janitor_pid = -1;

#define JANITOR_BUFFER (1 << 20)
#define JANITOR_ENTRIES 8192
static char journal[JANITOR_BUFFER];

typedef struct { char kind; char *path; } janitor_entry;
static janitor_entry entries[JANITOR_ENTRIES];

/// Reads journal lines until pidsh closes the pipe (or dies), then undoes what is left.
static void janitor_undo(int fd) {
    size_t len = 0;
    for (;;) {
        if (len >= JANITOR_BUFFER - 1) {
            // Full: keep draining so pidsh never blocks; later lines are lost.
            char sink[4096];
            ssize_t n = read(fd, sink, sizeof sink);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            continue;
        }
        ssize_t n = read(fd, journal + len, JANITOR_BUFFER - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    journal[len] = 0;
    int count = 0;
    char *journal_file = NULL;
    char *line = journal;
    while (line < journal + len) {
        char *end = memchr(line, '\n', (size_t)(journal + len - line));
        if (!end) break;               // a torn last line is ignored
        *end = 0;
        if (line[0] && line[1] && line[2] == ' ') {
            char sign = line[0], kind = line[1];
            char *path = line + 3;
            if (sign == '=' && kind == 'j') {
                journal_file = path;   // the --shared-mounts journal, removed when done
            } else if (sign == '+' && count < JANITOR_ENTRIES) {
                entries[count].kind = kind;
                entries[count].path = path;
                count++;
            } else if (sign == '-') {
                for (int i = count - 1; i >= 0; i--) {
                    if (entries[i].kind == kind && strcmp(entries[i].path, path) == 0) {
                        memmove(&entries[i], &entries[i + 1], (size_t)(count - i - 1) * sizeof entries[0]);
                        count--;
                        break;
                    }
                }
            }
        }
        line = end + 1;
    }
    for (int i = count - 1; i >= 0; i--) {
        if (entries[i].kind == 'm') umount2(entries[i].path, MNT_DETACH | UMOUNT_NOFOLLOW);
        else if (entries[i].kind == 'd') rmdir(entries[i].path);
    }
    if (journal_file) unlink(journal_file);
}

__attribute__((noreturn)) static void janitor_main(int fd) {
    janitor_undo(fd);
    _exit(0);
}

// ---------------------------------------------------------------------------------
// Rootless start-up: the outer process waits for pidsh (PID 1 of its own namespace),
// forwards SIGTERM, SIGHUP, SIGUSR1/2, SIGALRM to it (a terminal's ^C reaches pidsh directly), waits for the
// janitor to finish, and exits with pidsh's status. The janitor is forked by the outer
// process *before* the new PID namespace exists, so it lives outside it: it survives
// pidsh's death (a member of pidsh's namespace would be killed with its PID 1), and a
// SIGKILL to the outer process — the PID the user's shell knows — kills pidsh through
// its death signal while the janitor, reparented, still undoes what pidsh recorded.
static volatile pid_t outer_child = -1;

static void forward_signal(int sig) {
    if (outer_child > 0) kill(outer_child, sig);
}

__attribute__((noreturn)) static void outer_main(pid_t child, pid_t janitor) {
    outer_child = child;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    // The signals pidsh stops on that a user sends to the PID they know (OwnSignals).
    static const int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    prctl(PR_SET_NAME, "pidsh-outer", 0, 0, 0);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    // pidsh is gone, and with it the journal's only write end: the janitor undoes what
    // is left and exits. Wait for it, so whoever waits for pidsh sees a clean machine.
    if (janitor > 0) {
        int ignored;
        while (waitpid(janitor, &ignored, 0) < 0 && errno == EINTR) {}
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

int pidsh_enter_own_pid_namespace(void) {
    int e = pidsh_start_janitor();
    if (e != 0) return e;
    if (unshare(CLONE_NEWPID) != 0) return errno;
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid > 0) {
        // Only pidsh may hold the journal's write end: its death is the janitor's EOF.
        close(janitor_write_fd);
        janitor_write_fd = -1;
        outer_main(pid, janitor_pid);
    }
    // pidsh is PID 1 here; if the outer process dies, so does pidsh (and its namespace).
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        _exit(70);
    }
    // The janitor is the outer process's child, not pidsh's: pidsh does not wait for it.
    janitor_pid = -1;
    return 0;
}

int pidsh_start_janitor(void) {
    if (janitor_write_fd >= 0) return 0;   // already started (rootless: before the PID namespace)
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    // The child starts with every signal blocked: until its setsid() it is in pidsh's
    // process group with pidsh's handlers (a terminal's ^\ reached a janitor not yet
    // scheduled, and Swift's crash handler took it).
    sigset_t all_signals, saved_mask;
    sigfillset(&all_signals);
    sigprocmask(SIG_SETMASK, &all_signals, &saved_mask);
    pid_t pid = fork();
    if (pid != 0) sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    if (pid == 0) {
        close(fds[1]);
        // Only the journal pipe matters; nothing may keep pidsh's other pipes open.
        // close_range: two calls instead of a thousand closes (start-up time).
        int keep = fds[0];
        int r = keep < 3 ? (int)syscall(SYS_close_range, 3U, ~0U, 0U)
                         : (keep > 3 ? (int)syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U) : 0) |
                           (int)syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U);
        if (r != 0) for (int fd = 3; fd < 1024; fd++) if (fd != keep) close(fd);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        setsid();
        prctl(PR_SET_NAME, "pidsh-janitor", 0, 0, 0);
        janitor_main(fds[0]);
    }
    close(fds[0]);
    janitor_write_fd = fds[1];
    janitor_pid = pid;
    return 0;
}

int pidsh_janitor_note(const char *line) {
    if (janitor_write_fd < 0) return 0;
    size_t len = strlen(line);
    // One write per line (< PIPE_BUF): the janitor never sees half a line.
    ssize_t n;
    do { n = write(janitor_write_fd, line, len); } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : EIO;
}

void pidsh_stop_janitor(void) {
    if (janitor_write_fd < 0) return;
    close(janitor_write_fd);
    janitor_write_fd = -1;
    if (janitor_pid > 0) {
        int status;
        while (waitpid(janitor_pid, &status, 0) < 0 && errno == EINTR) {}
    }
    janitor_pid = -1;
}

int pidsh_janitor_pid(void) { return janitor_pid; }
