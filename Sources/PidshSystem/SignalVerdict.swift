import Glibc

/// What the kernel does with a signal sent to a process, by its rules in
/// kernel/signal.c (prepare_signal, sig_ignored, sig_task_ignored): a blocked signal is
/// queued; SIGCONT resumes a stopped process when it is sent, whatever becomes of the
/// signal; a namespace's PID 1 (SIGNAL_UNKILLABLE) discards every signal it has no
/// handler for — but SIGKILL and SIGSTOP from an ancestor namespace always act
/// ("force") — and a signal it ignores; any process discards a signal it ignores, or
/// whose default is to be ignored (SIGCHLD, SIGCONT, SIGURG, SIGWINCH); a traced
/// process gets every signal but SIGKILL to its tracer instead.
public struct SignalVerdict: Equatable, Sendable {
    public enum Kind: String, Sendable { case delivered, queued, discarded, resumed }
    public let kind: Kind
    /// Why, in the kernel's words, for the one-line note (nil for plain delivery).
    public let rule: String?

    public static let delivered = SignalVerdict(kind: .delivered, rule: nil)

    /// The verdict for `signal` sent to the process whose status is `target`, from
    /// pidsh's namespace: an ancestor of the target's when the target's NSpid has more
    /// than one entry (pidsh sees it at a deeper level).
    public static func judge(_ signal: Int32, target: ProcStatus, pid: Int32) -> SignalVerdict {
        // Signal 0 sends nothing: the kernel only checks that the process exists and may
        // be signalled, and kill(2) returns 0.
        if signal == 0 { return .delivered }
        let fromAncestor = target.nspid.count > 1
        let name = Signals.name(of: signal)
        let who = target.isNamespaceInit ? "PID 1 of its namespace (PID \(pid) here)" : "process \(pid)"
        let resumes = signal == SIGCONT && target.isStopped
        if signal != SIGKILL && signal != SIGSTOP && target.blocks(signal: signal) {
            return SignalVerdict(kind: .queued, rule: "queued: \(who) blocks \(name) (SigBlk): it stays pending until unblocked\(resumes ? "; SIGCONT resumed it already" : "")")
        }
        if target.tracerPid != 0 && signal != SIGKILL {
            return SignalVerdict(kind: .delivered, rule: nil)   // its tracer sees it first
        }
        let caught = target.catches(signal: signal)
        let ignored = !caught && target.ignores(signal: signal)
        let defaultIgnores = [SIGCHLD, SIGCONT, SIGURG, SIGWINCH].contains(signal)
        var discard: String?
        if target.isNamespaceInit && !caught && !ignored {
            let force = fromAncestor && (signal == SIGKILL || signal == SIGSTOP)
            if !force {
                discard = fromAncestor
                    ? "\(who) has no handler for \(name) (see SigCgt): from an ancestor namespace only SIGKILL and SIGSTOP reach an init that does not catch the signal"
                    : "\(who) has no handler for \(name) (see SigCgt): from inside its namespace an init gets only the signals it catches, not even SIGKILL or SIGSTOP"
            }
        } else if ignored {
            discard = "\(who) ignores \(name) (SigIgn)"
        } else if !caught && defaultIgnores {
            discard = "\(who) has no handler for \(name), whose default action is to ignore it"
        }
        guard let discard else { return SignalVerdict(kind: .delivered, rule: nil) }
        if resumes {
            return SignalVerdict(kind: .resumed, rule: "resumed: SIGCONT woke the stopped \(target.isNamespaceInit ? "init" : "process") (the kernel resumes at send time); the signal itself was discarded: \(discard)")
        }
        return SignalVerdict(kind: .discarded, rule: "discarded: \(discard)")
    }
}
