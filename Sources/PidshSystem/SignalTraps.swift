import CPidsh
import Glibc

/// Signals a script traps (`trap SIG { ... }`): while trapped, the signal only notes
/// itself (traps.c) and the interpreter runs the trap's block between statements;
/// `wait` returns early for it. Whatever pidsh did with the signal before (stop on it,
/// as on SIGTERM, or the kernel's default) comes back with `remove`. The one place that
/// overrides OwnSignals' handling.
public enum SignalTraps {
    public static func install(_ signal: Int32) throws {
        let e = pidsh_trap_signal(signal)
        if e != 0 { throw SystemError(errnoValue: e, "sigaction(\(Signals.name(of: signal)))", explanation: Self.why(signal)) }
    }

    public static func remove(_ signal: Int32) throws {
        let e = pidsh_untrap_signal(signal)
        if e != 0 { throw SystemError(errnoValue: e, "sigaction(\(Signals.name(of: signal)))", explanation: Self.why(signal)) }
    }

    /// The next trapped signal that arrived (taken), or nil.
    public static func takeArrived() -> Int32? {
        let s = pidsh_take_trapped_signal()
        return s == 0 ? nil : s
    }

    public static var hasArrived: Bool { pidsh_peek_trapped_signal() != 0 }

    /// The next trapped signal that arrived, left for its trap to take.
    public static func peekArrived() -> Int32? {
        let s = pidsh_peek_trapped_signal()
        return s == 0 ? nil : s
    }

    /// Why a signal cannot be trapped (nil when it can be).
    public static func why(_ signal: Int32) -> String? {
        if signal == SIGKILL || signal == SIGSTOP { return "\(Signals.name(of: signal)) can never be caught: the kernel acts on it without asking the process" }
        if signal == 32 || signal == 33 { return "glibc keeps signals 32 and 33 for itself (thread cancellation, set*id)" }
        if signal < 1 || signal > 64 { return "there is no signal \(signal)" }
        return nil
    }
}
