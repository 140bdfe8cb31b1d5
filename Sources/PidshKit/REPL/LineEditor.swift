import Glibc

/// What one call to `LineEditor.readLine(prompt:)` produced.
public enum LineInput: Equatable {
    /// A line, without its newline.
    case line(String)
    /// Ctrl-C while the line was being edited: the line is discarded, the cursor is on a
    /// fresh line.
    case interrupted
    /// Ctrl-D on an empty line, or the end of the input. On a terminal a newline has been
    /// written, so whatever the caller prints next starts on a fresh line.
    case endOfFile
}

/// Reads lines for the REPL. Multi-line statements are the caller's business: it calls
/// `readLine` again with a continuation prompt.
///
/// Prompts may wrap invisible parts (colour escapes) in `\u{1}` ... `\u{2}`, as readline
/// wants; the plain reader strips those two bytes.
public protocol LineEditor: AnyObject {
    func readLine(prompt: String) -> LineInput
    /// Adds an entry to the history (empty lines and repeats of the last entry are skipped).
    func addHistory(_ line: String)
    /// Completion: given the whole line so far and the word being completed (start offset in
    /// the line), return candidates.
    ///
    /// `wordStart` counts Characters of `line`; `word` is the text from `wordStart` up to the
    /// cursor. Each candidate replaces `word` (so it should start with it); a single
    /// candidate gets a space appended unless it ends with `/`.
    var completer: ((_ line: String, _ wordStart: Int, _ word: String) -> [String])? { get set }
    /// Writes the history file (merging entries other sessions saved meanwhile), capped.
    func saveHistory()
    /// "libedit", "readline" or "plain".
    var kind: String { get }
}

public enum LineEditors {
    /// historyPath nil = no history file. maxHistory caps entries saved.
    ///
    /// Uses libedit, else GNU readline (both loaded at run time), when stdin and stdout are
    /// terminals; otherwise, or with `preferPlain`, the plain reader. The environment
    /// variable `PIDSH_LINE_EDITOR` (`libedit`, `readline` or `plain`) forces a choice, for
    /// testing; a library that cannot be loaded still falls back to the plain reader.
    public static func make(historyPath: String?, maxHistory: Int = 1000, preferPlain: Bool = false) -> LineEditor {
        let history = History(path: historyPath, maxEntries: maxHistory)
        let forced = getenv("PIDSH_LINE_EDITOR").map { String(cString: $0) } ?? ""
        let terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        if !preferPlain && terminal && forced != "plain" {
            let order: [EditLineLibrary.Flavor]
            switch forced {
            case "libedit": order = [.libedit]
            case "readline": order = [.readline]
            default: order = [.libedit, .readline]
            }
            for flavor in order {
                if let editor = EditLineLibrary(flavor: flavor, history: history) { return editor }
            }
            if forced == "libedit" || forced == "readline" {
                let library = forced == "libedit" ? "libedit.so.2" : "libreadline.so.8"
                writeAll(STDERR_FILENO, "pidsh: PIDSH_LINE_EDITOR=\(forced): cannot load \(library); no line editing\n")
            }
        }
        return PlainLineReader(history: history)
    }

    /// $PIDSH_HISTFILE, else $XDG_STATE_HOME/pidsh/history, else ~/.local/state/pidsh/history
    ///
    /// An XDG_STATE_HOME that is not absolute is ignored, as the XDG spec says. Without
    /// HOME, the password database's home directory is used.
    public static func defaultHistoryPath(environment: [String: String]) -> String {
        if let path = environment["PIDSH_HISTFILE"], !path.isEmpty { return path }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return joinPath(state, "pidsh/history")
        }
        var home = environment["HOME"] ?? ""
        if home.isEmpty, let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir {
            home = String(cString: dir)
        }
        if home.isEmpty { home = "/" }
        return joinPath(home, ".local/state/pidsh/history")
    }

    static func joinPath(_ directory: String, _ rest: String) -> String {
        var base = directory
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base == "/" ? "/" + rest : base + "/" + rest
    }

    /// Characters that end the word being completed.
    static let wordBreakCharacters = " \t\n\"'`;|&(){}<>"
}

// MARK: - Signals while a line is read

/// While a line is read, SIGINT and SIGWINCH are caught and reported through a self-pipe,
/// so the reader's poll(2) wakes up whichever thread the kernel delivered the signal to, and
/// no signal between a check and a wait is lost. The caller's handlers and signal mask are
/// restored when the read ends.
struct LineSignalScope {
    private var savedInt = sigaction()
    private var savedWinch = sigaction()
    private var savedMask = sigset_t()

    static let interruptByte: UInt8 = 0x43  // "C"
    static let resizeByte: UInt8 = 0x57  // "W"

    static func enter() -> LineSignalScope {
        LineSignalPipe.open()
        _ = LineSignalPipe.drain()
        var scope = LineSignalScope()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = lineEditorSignalHandler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, &scope.savedInt)
        sigaction(SIGWINCH, &action, &scope.savedWinch)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGWINCH)
        pthread_sigmask(SIG_UNBLOCK, &unblock, &scope.savedMask)
        return scope
    }

    func leave() {
        var mask = savedMask
        var int = savedInt
        var winch = savedWinch
        sigaction(SIGINT, &int, nil)
        sigaction(SIGWINCH, &winch, nil)
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

enum LineSignalPipe {
    static func open() {
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

    /// Empties the pipe; tells which signals it carried.
    static func drain() -> (interrupted: Bool, resized: Bool) {
        var result = (interrupted: false, resized: false)
        guard lineSignalPipeRead >= 0 else { return result }
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            // Polled first, so that even a descriptor someone made blocking cannot hang us.
            var probe = pollfd(fd: lineSignalPipeRead, events: Int16(POLLIN), revents: 0)
            if poll(&probe, 1, 0) <= 0 || probe.revents & Int16(POLLIN) == 0 { break }
            let n = read(lineSignalPipeRead, &buffer, buffer.count)
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                break
            }
            for byte in buffer[0..<n] {
                if byte == LineSignalScope.interruptByte { result.interrupted = true }
                if byte == LineSignalScope.resizeByte { result.resized = true }
            }
        }
        return result
    }
}

enum LineInputEvent: Equatable {
    case ready, interrupted, resized
    /// `fd` is not an open descriptor: treat as end of input.
    case closed
}

/// Waits until `fd` can be read or a signal came through the pipe. An interrupt wins over
/// pending input. `ready` also covers hang-up and errors: the read that follows tells.
func waitForLineInput(fd: Int32) -> LineInputEvent {
    while true {
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: lineSignalPipeRead, events: Int16(POLLIN), revents: 0),
        ]
        let count = lineSignalPipeRead >= 0 ? 2 : 1
        let n = poll(&fds, nfds_t(count), -1)
        if n < 0 {
            if errno == EINTR { continue }
            return .closed
        }
        if count == 2 && fds[1].revents != 0 {
            let seen = LineSignalPipe.drain()
            if seen.interrupted { return .interrupted }
            if seen.resized { return .resized }
        }
        if fds[0].revents & Int16(POLLNVAL) != 0 { return .closed }
        if fds[0].revents != 0 { return .ready }
    }
}

/// Writes all of `text` to `fd`, retrying on EINTR; to fd 1 after what stdio holds.
func writeAll(_ fd: Int32, _ text: String) {
    if fd == STDOUT_FILENO { fflush(stdout) }
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        done += n
    }
    bytes.removeAll()
}
