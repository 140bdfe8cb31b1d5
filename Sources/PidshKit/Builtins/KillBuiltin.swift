import PidshSystem

/// `kill`: send a signal and report the kernel's verdict; `kill -SIG -1`; and
/// `kill --explain`, the same verdict without sending (both from SignalVerdict.judge).
enum KillBuiltin {
    static let spec = BuiltinSpec(
        name: "kill", synopsis: "kill [-q] [-SIGNAL] PROCESS|NS...\nkill [-q] -SIGNAL -1\nkill --explain SIGNAL PROCESS|NS [--from PROCESS]",
        summary: "Send a signal (default TERM; KILL for a namespace, or for a namespace's PID 1 that does not catch TERM, which tears the namespace down and waits until it is gone). Succeeds whenever the kernel accepted the signal; the value is the kernel's verdict — delivered, queued (the target blocks it), discarded (a namespace's PID 1 without a handler, or an ignored signal) or resumed (SIGCONT woke a stopped process, the signal itself was discarded) — with a one-line note on stderr for all but delivered. `kill -SIGNAL -1` is kill(-1): every process pidsh sees but itself and PID 1 (inside a namespace: every member but the init; refused in the host's own PID namespace). `--explain` prints the verdict and the kernel's rule for that signal, from pidsh or from the process `--from` names, without sending anything.",
        options: [OptionSpec("-SIGNAL", "a signal name or number: -KILL, -9, -SIGKILL, -TERM, -USR1 ..."),
                  OptionSpec("-q", "no note on stderr when the signal is not simply delivered"),
                  OptionSpec("--explain", "say what the kernel would do with the signal (and why), without sending it"),
                  OptionSpec("--from", "PROCESS", "with --explain: the sender (default pidsh): where it stands decides (an ancestor namespace's SIGKILL acts on an init), and whether it may signal the target at all")],
        returns: "the verdict: delivered, queued, discarded or resumed (a list of them for several targets, and for -1); with --explain also refused (the kernel would say ESRCH or EPERM)",
        examples: ["kill $child", "kill -KILL $ns", "let v = kill -USR1 $init", "expect $v == \"discarded\"",
                   "kill --explain KILL $ns.init", "kill --explain USR1 $ns.init --from $member", "inside $ns { kill -USR1 -1 }"],
        errors: ["ESRCH: the process has already ended, or is not visible from pidsh's PID namespace",
                 "EPERM: another user's process (the real or effective uid must be its real or saved uid, or CAP_KILL in its user namespace)",
                 "unknown signal -NAME (with a \"did you mean\" note)",
                 "NS has no live init: it is already torn down", "-1 in the host's own PID namespace: it would signal every process of the machine",
                 "ESRCH from kill(-1): there is no other process to signal"]
    ) { call in
        let args = try Arguments.parse(call)
        if args.explain { return try explain(args, call: &call) }
        guard !args.targets.isEmpty else { throw BuiltinError("kill needs a process or a namespace") }
        var verdicts: [Value] = []
        for (target, index) in args.targets {
            if case .string("-1") = target {
                verdicts += try signalEveryone(args.signal ?? Signals.term, quiet: args.quiet, call: &call, argument: index).map { .string($0.kind.rawValue) }
                continue
            }
            let verdict: SignalVerdict
            do {
                verdict = try send(args.signal, to: target, argument: index, call: &call)
            } catch let e as SystemError {
                throw BuiltinError(e.description, argument: index)   // the caret on the target refused
            }
            if let rule = verdict.rule, !args.quiet { call.warn(rule) }
            verdicts.append(.string(verdict.kind.rawValue))
        }
        return verdicts.count == 1 ? verdicts[0] : .list(verdicts)
    }

    /// The words of a kill command line.
    struct Arguments {
        var signal: Int32?
        var quiet = false
        var explain = false
        var from: (Value, Int)?
        var targets: [(Value, Int)] = []

        static func parse(_ call: BuiltinCall) throws -> Arguments {
            var a = Arguments()
            var i = 0
            let args = call.arguments
            var onlyTargets = false
            while i < args.count {
                let v = args[i]
                guard !onlyTargets, case .string(let s) = v else { a.targets.append((v, i)); i += 1; continue }
                switch s {
                case "--": onlyTargets = true
                case "-q": a.quiet = true
                case "--explain": a.explain = true
                case "--from":
                    guard i + 1 < args.count else { throw BuiltinError("--from needs a process (the sender)", argument: i) }
                    a.from = (args[i + 1], i + 1)
                    i += 1
                default:
                    if s.hasPrefix("-"), s.count > 1, a.signal == nil || Int(s.dropFirst()) == nil {
                        if a.signal != nil, Int(s) == nil { throw BuiltinError("unknown option \(s)", notes: ["options of kill: -SIGNAL -q --explain --from"], argument: i) }
                        guard let n = Signals.number(of: String(s.dropFirst())) else {
                            throw BuiltinError("unknown signal \(s)", notes: [SignalSuggestions.note(for: String(s.dropFirst()))], argument: i)
                        }
                        a.signal = n
                    } else if a.explain, a.signal == nil, Int(s) == nil, Signals.number(of: s) != nil {
                        a.signal = try call.signal(v, argument: i)   // `kill --explain USR1 $p`
                    } else {
                        a.targets.append((v, i))
                    }
                }
                i += 1
            }
            return a
        }
    }

    /// Sends and judges one signal to one process or namespace.
    static func send(_ signal: Int32?, to target: Value, argument: Int, call: inout BuiltinCall) throws -> SignalVerdict {
        if case .namespace(let ns) = target {
            guard let initProcess = ns.findInit() else {
                throw BuiltinError("\(ns.id) has no live init: it is already torn down", argument: argument)
            }
            return try send(signal ?? Signals.kill, to: initProcess, call: &call)
        }
        let proc = try call.process(target, argument: argument)
        // Without a signal, a namespace's PID 1 is torn down (a TERM would be discarded by
        // the kernel unless it has a handler: one that catches TERM, a forwarder, gets
        // TERM); once it has ended too, a second `kill` names the signal it sends a PID 1.
        let isInit = proc.procStatus().map { $0.isNamespaceInit && $0.nspid.count > 1 && !$0.catches(signal: Signals.term) }
            ?? wasNamespaceInit(proc)
        return try send(signal ?? (isInit ? Signals.kill : Signals.term), to: proc, call: &call)
    }

    /// PID 1 of a namespace below pidsh's, as its last NSpid showed (also once ended).
    static func wasNamespaceInit(_ proc: ProcessHandle) -> Bool {
        let pids = proc.pids
        return pids.count > 1 && pids.last == 1
    }

    /// Sends and judges one signal. SIGKILL to a namespace's PID 1 waits until it is
    /// gone (reaped, with every member of its namespace that is pidsh's child).
    static func send(_ sig: Int32, to proc: ProcessHandle, call: inout BuiltinCall) throws -> SignalVerdict {
        // Read before sending: the verdict depends on the dispositions and the state
        // the signal meets (a SIGCONT changes the state itself).
        let status = proc.procStatus()
        try proc.signal(sig, recorder: call.session.recorder)
        guard let status else { return .delivered }
        if sig == Signals.kill && status.isNamespaceInit && status.nspid.count > 1 {
            try call.session.waitUntilGone(proc)
        }
        return SignalVerdict.judge(sig, target: status, pid: proc.pid)
    }

    /// `kill -SIG -1`: every process pidsh sees but itself and PID 1, judged one by one
    /// before the one kill(-1).
    static func signalEveryone(_ sig: Int32, quiet: Bool, call: inout BuiltinCall, argument: Int) throws -> [SignalVerdict] {
        if Namespace.ownInode == SignalEveryone.initialNamespaceInode {
            throw BuiltinError("kill(-1) from the host's own PID namespace would signal every process of the machine: refused. Inside a namespace it reaches the members only: `inside $ns { kill -\(Signals.name(of: sig).dropFirst(3)) -1 }`, or from its init: `ns init $ns kill \(Signals.name(of: sig).dropFirst(3)) -1`",
                               argument: argument)
        }
        let verdicts = SignalEveryone.targets().map { SignalVerdict.judge(sig, target: $0.status, pid: $0.pid) }
        try SignalEveryone.send(sig, recorder: call.session.recorder)
        if !quiet { for v in verdicts { if let rule = v.rule { call.warn(rule) } } }
        call.session.reapFinished()
        return verdicts
    }

    /// `kill --explain SIG TARGET [--from PROCESS]`: the verdict, printed with its rule.
    static func explain(_ args: Arguments, call: inout BuiltinCall) throws -> Value? {
        guard let sig = args.signal else { throw BuiltinError("kill --explain needs the signal (kill --explain USR1 $p)") }
        guard args.targets.count == 1, let (target, index) = args.targets.first else {
            throw BuiltinError("kill --explain needs one process or namespace")
        }
        var proc: ProcessHandle
        if case .namespace(let ns) = target {
            guard let initProcess = ns.findInit() else { throw BuiltinError("\(ns.id) has no live init", argument: index) }
            proc = initProcess
        } else {
            proc = try call.process(target, argument: index)
        }
        guard let status = proc.procStatus(), let targetNamespace = try? proc.namespace() else {
            throw BuiltinError("process \(proc.pid) has ended: there is nothing to signal", argument: index)
        }
        let sender: SignalSender
        do {
            sender = try args.from.map { try SignalSender.process(call.process($0.0, argument: $0.1)) } ?? .pidsh()
        } catch let e as BuiltinError {
            throw e
        } catch {
            throw BuiltinError("\(error)", argument: args.from?.1)
        }
        if let refusal = sender.refusal(target: proc, targetStatus: status) {
            call.print("refused: " + refusal)
            return .string("refused")
        }
        let verdict = SignalVerdict.judge(sig, target: status, pid: proc.pid, fromAncestor: sender.isAncestor(of: targetNamespace))
        call.print(verdict.reason)
        return .string(verdict.kind.rawValue)
    }
}
