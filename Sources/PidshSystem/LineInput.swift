import Glibc
import CPidsh

// Reading a line from a terminal while SIGINT and SIGWINCH may arrive: the system-call
// side of the REPL's line readers (PidshKit's PlainLineReader and EditLineLibrary).

// MARK: - Signals while a line is read

/// While a line is read, SIGINT and SIGWINCH are caught and reported through a self-pipe,
/// so the reader's poll(2) wakes up whichever thread the kernel delivered the signal to, and
/// no signal between a check and a wait is lost. pidsh's other signals (SIGTERM, SIGHUP...:
/// `OwnSignals`) keep their handler, which writes to the same pipe meanwhile. The
/// caller's handlers and signal mask are restored when the read ends.
public struct LineSignalScope {
    private var savedInt = sigaction()
    private var savedWinch = sigaction()
    private var savedMask = sigset_t()

    public static let interruptByte: UInt8 = 0x43  // "C"
    public static let resizeByte: UInt8 = 0x57  // "W"

    public static func enter() -> LineSignalScope {
        LineSignalPipe.open()
        _ = LineSignalPipe.drain()
        var scope = LineSignalScope()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = lineEditorSignalHandler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, &scope.savedInt)
        sigaction(SIGWINCH, &action, &scope.savedWinch)
        pidsh_dispositions_changed()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGWINCH)
        pthread_sigmask(SIG_UNBLOCK, &unblock, &scope.savedMask)
        pidsh_set_signal_wake_fd(lineSignalPipeWrite)
        return scope
    }

    public func leave() {
        pidsh_set_signal_wake_fd(-1)
        var mask = savedMask
        var int = savedInt
        var winch = savedWinch
        sigaction(SIGINT, &int, nil)
        sigaction(SIGWINCH, &winch, nil)
        pidsh_dispositions_changed()
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }
}

/// The read and write ends of the self-pipe (non-blocking, close-on-exec), made once.
var lineSignalPipeRead: Int32 = -1
var lineSignalPipeWrite: Int32 = -1

private func lineEditorSignalHandler(_ signo: Int32) {
    let saved = errno
    var byte = signo == SIGINT ? LineSignalScope.interruptByte : LineSignalScope.resizeByte
    if lineSignalPipeWrite >= 0 { _ = write(lineSignalPipeWrite, &byte, 1) }
    errno = saved
}

public enum LineSignalPipe {
    public static func open() {
        if lineSignalPipeRead >= 0 { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        lineSignalPipeRead = fds[0]
        lineSignalPipeWrite = fds[1]
    }

    /// Empties the pipe; tells which signals it carried (`stopped`: one of pidsh's
    /// stopping signals, pending in `OwnSignals`).
    public static func drain() -> (interrupted: Bool, resized: Bool, stopped: Bool) {
        var result = (interrupted: false, resized: false, stopped: false)
        guard lineSignalPipeRead >= 0 else { return result }
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            // Polled first, so that even a descriptor someone made blocking cannot hang us.
            var probe = pollfd(fd: lineSignalPipeRead, events: Int16(POLLIN), revents: 0)
            if poll(&probe, 1, 0) <= 0 || probe.revents & Int16(POLLIN) == 0 { break }
            let n = retryingInterrupts { read(lineSignalPipeRead, &buffer, buffer.count) }
            if n <= 0 { break }
            for byte in buffer[0..<n] {
                if byte == LineSignalScope.interruptByte { result.interrupted = true }
                if byte == LineSignalScope.resizeByte { result.resized = true }
                if byte < 65 { result.stopped = true }   // a signal number
            }
        }
        return result
    }
}

public enum LineInputEvent: Equatable {
    case ready, interrupted, resized
    /// One of pidsh's stopping signals came (SIGTERM, SIGHUP, ...; see `OwnSignals`):
    /// `OwnSignals.peekPending()` tells which.
    case stopped
    /// `fd` is not an open descriptor: treat as end of input.
    case closed
}

/// Waits until `fd` can be read or a signal came through the pipe. An interrupt wins over
/// pending input. `ready` also covers hang-up and errors: the read that follows tells.
public func waitForLineInput(fd: Int32) -> LineInputEvent {
    while true {
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: lineSignalPipeRead, events: Int16(POLLIN), revents: 0),
        ]
        let count = lineSignalPipeRead >= 0 ? 2 : 1
        // A SIGINT comes through the pipe; another of pidsh's signals stops the wait.
        let n = retryingInterrupts(stoppingWhen: { OwnSignals.peekPending() != 0 && OwnSignals.peekPending() != SIGINT }) {
            poll(&fds, nfds_t(count), -1)
        }
        if n < 0 { return errno == EINTR ? .stopped : .closed }
        if count == 2 && fds[1].revents != 0 {
            let seen = LineSignalPipe.drain()
            if seen.stopped && OwnSignals.peekPending() != 0 { return .stopped }
            if seen.interrupted { return .interrupted }
            if seen.resized { return .resized }
        }
        if fds[0].revents & Int16(POLLNVAL) != 0 { return .closed }
        if fds[0].revents != 0 { return .ready }
    }
}

/// What one read(2) of a byte of input gave, once `waitForLineInput` said `ready`.
public enum LineInputByte: Equatable {
    case byte(UInt8)
    /// EINTR or EAGAIN: wait and read again. No retry here: after EINTR the caller's
    /// wait looks at the signal first (a ^C at the prompt must not wait for a key).
    case again
    /// End of input, or an error.
    case end
}

public func readLineInputByte(fd: Int32) -> LineInputByte {
    var byte: UInt8 = 0
    let n = read(fd, &byte, 1)
    if n == 1 { return .byte(byte) }
    if n < 0 && (errno == EINTR || errno == EAGAIN) { return .again }
    return .end
}
