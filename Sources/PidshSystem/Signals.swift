import Glibc

/// Signal names and numbers as kill(1) spells them: `KILL`, `SIGKILL` and `9` are one.
public enum Signals {
    static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM),
        ("STKFLT", 16), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP),
        ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR),
        ("SYS", SIGSYS),
    ]

    /// Parses `KILL`, `SIGKILL`, `kill`, `9`, `RTMIN+1`; nil if unknown.
    public static func number(of text: String) -> Int32? {
        if let n = Int32(text) { return (n >= 0 && n < 65) ? n : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let hit = table.first(where: { $0.0 == name }) { return hit.1 }
        if name == "RTMIN" { return 34 }
        if name == "RTMAX" { return 64 }
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), 34 + k <= 64 { return 34 + k }
        return nil
    }

    /// "SIGKILL" for 9.
    public static func name(of number: Int32) -> String {
        if let hit = table.first(where: { $0.1 == number }) { return "SIG" + hit.0 }
        if number >= 34 && number <= 64 { return number == 34 ? "SIGRTMIN" : "SIGRTMIN+\(number - 34)" }
        return "signal \(number)"
    }

    public static var allNames: [String] { table.map { $0.0 } }
}

import CPidsh

/// pidsh's own SIGINT/SIGTERM/SIGHUP: handlers only set a flag that the interpreter
/// polls between statements and while it waits.
public enum OwnSignals {
    /// Also ignores SIGPIPE: a write into a pipe whose reader is gone fails EPIPE, and
    /// the command that wrote ends quietly (`BrokenPipe`), with pidsh tearing down as
    /// usual instead of dying at once.
    public static func install() {
        pidsh_install_signal_handlers()
        ignoreBrokenPipes()
    }
    public static func takePending() -> Int32 { pidsh_take_pending_signal() }
    public static func peekPending() -> Int32 { pidsh_peek_pending_signal() }
    /// A builtin writing into a pipe whose reader is gone gets EPIPE instead of pidsh
    /// dying of SIGPIPE (children get the default back before exec).
    public static func ignoreBrokenPipes() { ignoreBrokenPipesOnce }
    private static let ignoreBrokenPipesOnce: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()
}
