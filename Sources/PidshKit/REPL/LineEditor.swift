import Glibc
import PidshSystem

/// What one call to `LineEditor.readLine(prompt:)` produced.
public enum LineInput: Equatable {
    /// A line, without its newline.
    case line(String)
    /// Ctrl-C while the line was being edited: the line is discarded, the cursor is on a
    /// fresh line.
    case interrupted
    /// One of pidsh's stopping signals (SIGTERM, SIGHUP when the terminal closes...)
    /// came while the line was read: `OwnSignals.peekPending()` tells which. The line is
    /// discarded, the terminal is as it was before the read.
    case stopped
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
    /// Returns why it could not (a full disk...), or nil.
    @discardableResult
    func saveHistory() -> String?
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
        make(history: History(path: historyPath, maxEntries: maxHistory), preferPlain: preferPlain)
    }

    public static func make(history: History, preferPlain: Bool = false) -> LineEditor {
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
    /// HOME, the password database's home directory is used (`UserHome`).
    public static func defaultHistoryPath(environment: [String: String]) -> String {
        if let path = environment["PIDSH_HISTFILE"], !path.isEmpty { return path }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return joinPath(state, "pidsh/history")
        }
        return joinPath(home(environment) ?? "/", ".local/state/pidsh/history")
    }

    /// The directory that must exist already for pidsh to make the history file's
    /// directories below it: the home directory (or XDG_STATE_HOME). pidsh never creates
    /// a missing home (`HOME=/nonexistent` would have it made as root). nil for
    /// PIDSH_HISTFILE: its directories are made as named.
    public static func historyBase(environment: [String: String]) -> String? {
        if let path = environment["PIDSH_HISTFILE"], !path.isEmpty { return nil }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state }
        return home(environment) ?? "/"
    }

    static func home(_ environment: [String: String]) -> String? {
        if let home = environment["HOME"], !home.isEmpty { return home }
        return UserHome.directory
    }

    static func joinPath(_ directory: String, _ rest: String) -> String {
        var base = directory
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base == "/" ? "/" + rest : base + "/" + rest
    }

    /// Characters that end the word being completed.
    static let wordBreakCharacters = " \t\n\"'`;|&(){}<>"
}

/// Writes all of `text` to `fd`; to fd 1 after what stdio holds.
func writeAll(_ fd: Int32, _ text: String) {
    if fd == STDOUT_FILENO { fflush(stdout) }
    FileIO.writeAll(fd, text)
}
