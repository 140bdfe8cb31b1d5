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

    public static let kill = SIGKILL, term = SIGTERM, stop = SIGSTOP, cont = SIGCONT
}

import CPidsh

/// pidsh's own signals, and what it does with each by default: the one place that
/// decides it (a `trap` in the language, when it comes, overrides this table). Each is
/// caught by a handler that only sets a flag, which the interpreter polls between
/// statements and while it waits: pidsh then stops, tears everything down and exits
/// 128+N, saying `pidsh: interrupted by SIGNAME` (the REPL: see `endsSession`).
public enum OwnSignals {
    /// The signals pidsh stops on, as on SIGTERM: those a terminal or a user sends
    /// (SIGHUP when the terminal closes; SIGQUIT, SIGUSR1/2, SIGALRM by `kill`), and
    /// SIGXCPU (the CPU-time limit). Left at their default, each would kill pidsh
    /// without a tear-down or a word.
    public static let stopping: [Int32] = [SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU]

    /// Signals a terminal sends to its whole foreground process group (^C, ^\): while a
    /// foreground program runs they belong to it, and pidsh acts on one only if the
    /// program dies of it, as a shell does. Otherwise they stop pidsh like the others.
    public static func belongsToForegroundJob(_ signal: Int32) -> Bool {
        signal == SIGINT || signal == SIGQUIT
    }

    /// In the REPL: SIGINT drops the line being typed or the command running; every
    /// other signal at the prompt ends the session (a closed terminal: SIGHUP, 129). A
    /// ^\ that ended a foreground program returns to the prompt, as ^C does.
    public static func endsSession(_ signal: Int32, duringCommand: Bool) -> Bool {
        duringCommand ? !belongsToForegroundJob(signal) : signal != SIGINT
    }

    /// Also ignores SIGPIPE: a write into a pipe whose reader is gone fails EPIPE, and
    /// the command that wrote ends quietly (`BrokenPipe`), with pidsh tearing down as
    /// usual instead of dying at once. Children get every default back before exec.
    ///
    /// And empties the signal mask pidsh was started with: a mask survives exec, so a
    /// parent that blocked SIGTERM (a Python program, a thread that had blocked it for a
    /// moment) would hand pidsh a SIGTERM that stays pending for ever, and a
    /// `while true {}` then never ends; a blocked SIGCHLD would hide the ends of the
    /// orphans pidsh adopts. A program pidsh starts gets an empty mask anyway.
    public static func install() {
        for signal in stopping { pidsh_handle_signal(signal) }
        ignoreBrokenPipes()
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
    }

    /// For code using PidshSystem that changes a disposition of this process itself
    /// (sigaction, signal): a child resets only the dispositions that were not SIG_DFL
    /// when pidsh last looked, and this makes the next spawn look again. pidsh's own
    /// changes (traps, its handlers, the line editor's) say so themselves.
    public static func dispositionsChanged() { pidsh_dispositions_changed() }

    public static func takePending() -> Int32 { pidsh_take_pending_signal() }
    public static func peekPending() -> Int32 { pidsh_peek_pending_signal() }

    /// After a foreground job: a signal for pidsh that came meanwhile stops the script
    /// (`Interrupted`), unless it is a ^C or ^\ that the job caught and survived: that
    /// one was the job's, and is forgotten.
    public static func stopIfPending(after statuses: [ExitStatus]) throws {
        let pending = peekPending()
        guard pending != 0 else { return }
        _ = takePending()
        if belongsToForegroundJob(pending) && !statuses.contains(.signaled(pending)) { return }
        throw Interrupted(signal: pending)
    }
    /// A builtin writing into a pipe whose reader is gone gets EPIPE instead of pidsh
    /// dying of SIGPIPE (children get the default back before exec).
    public static func ignoreBrokenPipes() { ignoreBrokenPipesOnce }
    private static let ignoreBrokenPipesOnce: Void = {
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        pidsh_dispositions_changed()
    }()
}
