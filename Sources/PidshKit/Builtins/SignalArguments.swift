import PidshSystem

/// Reading signals and pidsh's inits from a builtin's arguments.
extension BuiltinCall {
    /// Signals named by values (`USR1`, `-USR1`, `SIGUSR1,TERM`, `10`, a list of those).
    func signalSet(_ values: [(Value, Int?)]) throws -> SignalSet {
        var set = SignalSet()
        for (v, index) in values {
            for item in v.elements {
                var text = Printer.string(item)
                if text.hasPrefix("-") && text.count > 1 { text.removeFirst() }
                switch SignalSet.parse([text]) {
                case .success(let s): set.bits |= s.bits
                case .failure(let bad):
                    throw BuiltinError("unknown signal `\(bad.word)`", notes: [SignalSuggestions.note(for: bad.word)], argument: index)
                }
            }
        }
        return set
    }

    /// One signal: `USR1`, `-USR1`, `SIGUSR1`, `10`.
    func signal(_ v: Value, argument: Int?) throws -> Int32 {
        let set = try signalSet([(v, argument)])
        guard set.signals.count == 1, let s = set.signals.first else {
            throw BuiltinError("expected one signal, got \(Printer.describe(v))", argument: argument)
        }
        return s
    }

    /// Refuses SIGKILL and SIGSTOP where a process would have to catch, ignore or block them.
    func refuseUncatchable(_ set: SignalSet, _ what: String, argument: Int?) throws {
        let bad = KernelRules.uncatchable(set)
        guard !bad.isEmpty else { return }
        throw BuiltinError("\(bad.map { Signals.name(of: $0) }.joined(separator: " and ")) cannot be \(what): the kernel acts on SIGKILL and SIGSTOP without asking the process (no handler, no mask, no SIG_IGN)",
                           argument: argument)
    }

    /// The PID 1 of `ns` when it is pidsh's init (which pidsh can steer): the handle that
    /// holds its control channel.
    func pidshInit(of ns: Namespace, argument: Int?) throws -> ProcessHandle {
        guard let initProcess = ns.findInit() else {
            throw BuiltinError("\(ns.id) has no live init: its PID 1 has ended", argument: argument)
        }
        if initProcess.initChannel != nil { return initProcess }
        if let mine = session.children.first(where: { $0.pid == initProcess.pid && $0.initChannel != nil && $0.isRunning }) {
            return mine
        }
        let name = initProcess.name
        throw BuiltinError("PID 1 of \(ns.id) is `\(name)` (PID \(initProcess.pid) here), not pidsh's init: pidsh steers only the inits it started (ns new, spawn --newpid --init reaper|forwarder, nest)",
                           argument: argument)
    }
}
