import Glibc

/// What the kernel does with a signal sent to a process, by its rules in
/// kernel/signal.c (prepare_signal, sig_ignored, sig_task_ignored): a blocked signal is
/// queued; SIGCONT resumes a stopped process when it is sent, whatever becomes of the
/// signal; a namespace's PID 1 (SIGNAL_UNKILLABLE) discards every signal it has no
/// handler for — but SIGKILL and SIGSTOP from an ancestor namespace always act
/// ("force") — and a signal it ignores; any process discards a signal it ignores, or
/// whose default is to be ignored (SIGCHLD, SIGCONT, SIGURG, SIGWINCH); a traced
/// process gets every signal but SIGKILL to its tracer instead. `kill` reports this
/// after sending, `kill --explain` before (without sending): both ask `judge`.
public struct SignalVerdict: Equatable, Sendable {
    public enum Kind: String, Sendable { case delivered, queued, discarded, resumed }
    public let kind: Kind
    /// Why, in the kernel's words, for the one-line note (nil for plain delivery).
    public let rule: String?
    /// Why, always (plain delivery included): what `kill --explain` prints.
    public let reason: String

    public static let delivered = SignalVerdict(kind: .delivered, rule: nil, reason: "delivered")

    init(kind: Kind, rule: String?, reason: String? = nil) {
        self.kind = kind
        self.rule = rule
        self.reason = reason ?? rule ?? kind.rawValue
    }

    /// The verdict for `signal` sent to the process whose status is `target` (`pid` is
    /// how the note names it) by a sender outside the target's namespace
    /// (`fromAncestor`: the sender has no PID there, as the kernel's
    /// `task_pid_nr_ns(current, ...) == 0`) or inside it. Without `fromAncestor`, the
    /// sender is pidsh, an ancestor whenever it sees the target at a deeper level
    /// (its NSpid has more than one entry).
    public static func judge(_ signal: Int32, target: ProcStatus, pid: Int32, fromAncestor: Bool? = nil) -> SignalVerdict {
        // Signal 0 sends nothing: the kernel only checks that the process exists and may
        // be signalled, and kill(2) returns 0.
        if signal == 0 { return SignalVerdict(kind: .delivered, rule: nil, reason: "signal 0: nothing is sent; the kernel only checks that the process exists and may be signalled") }
        let fromAncestor = fromAncestor ?? (target.nspid.count > 1)
        let name = Signals.name(of: signal)
        let who = target.isNamespaceInit ? "PID 1 of its namespace (PID \(pid) here)" : "process \(pid)"
        let resumes = signal == SIGCONT && target.isStopped
        if signal != SIGKILL && signal != SIGSTOP && target.blocks(signal: signal) {
            return SignalVerdict(kind: .queued, rule: "queued: \(who) blocks \(name) (SigBlk): it stays pending until unblocked\(resumes ? "; SIGCONT resumed it already" : "")")
        }
        if target.tracerPid != 0 && signal != SIGKILL {
            // Its tracer sees it first.
            return SignalVerdict(kind: .delivered, rule: nil, reason: "delivered: \(who) is traced (TracerPid \(target.tracerPid)): its tracer sees \(name) first and decides")
        }
        let caught = target.catches(signal: signal)
        let ignored = !caught && target.ignores(signal: signal)
        let defaultIgnores = [SIGCHLD, SIGCONT, SIGURG, SIGWINCH].contains(signal)
        var discard: String?
        var forced = false
        if target.isNamespaceInit && !caught && !ignored {
            forced = fromAncestor && (signal == SIGKILL || signal == SIGSTOP)
            if !forced {
                discard = fromAncestor
                    ? "\(who) has no handler for \(name) (see SigCgt): from an ancestor namespace only SIGKILL and SIGSTOP reach an init that does not catch the signal"
                    : "\(who) has no handler for \(name) (see SigCgt): from inside its namespace an init gets only the signals it catches, not even SIGKILL or SIGSTOP"
            }
        } else if ignored {
            discard = "\(who) ignores \(name) (SigIgn)"
        } else if !caught && defaultIgnores {
            discard = "\(who) has no handler for \(name), whose default action is to ignore it"
        }
        guard let discard else {
            return SignalVerdict(kind: .delivered, rule: nil,
                                 reason: deliveryReason(name, who: who, caught: caught, forced: forced, resumes: resumes, signal: signal))
        }
        if resumes {
            return SignalVerdict(kind: .resumed, rule: "resumed: SIGCONT woke the stopped \(target.isNamespaceInit ? "init" : "process") (the kernel resumes at send time); the signal itself was discarded: \(discard)")
        }
        return SignalVerdict(kind: .discarded, rule: "discarded: \(discard)")
    }

    /// What delivery does: the handler runs, or the default action happens.
    static func deliveryReason(_ name: String, who: String, caught: Bool, forced: Bool, resumes: Bool, signal: Int32) -> String {
        if forced {
            return "delivered: \(name) from an ancestor namespace always acts, even on an init without a handler: \(signal == SIGKILL ? "it is killed, and every member of its namespace with it" : "it stops")"
        }
        if caught { return "delivered: \(who) catches \(name) (SigCgt): its handler runs" }
        let action: String
        switch signal {
        case SIGKILL: action = "it is killed (SIGKILL can be neither caught nor ignored)"
        case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: action = "it stops"
        case SIGCONT: action = resumes ? "it resumes" : "it goes on (it was not stopped)"
        case SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ:
            action = "it is terminated (and dumps core where core dumps are on)"
        default: action = "it is terminated"
        }
        return "delivered: \(who) neither blocks, ignores nor catches \(name): its default action happens, \(action)"
    }
}
