import PidshSystem

/// `ns init NS ACTION ...`: pidsh's init of NS does the call itself (over its control
/// channel, init.c), so the rules where the init is the actor show: its own mask, its
/// own handlers, a signal sent by it (si_pid 1 to itself, kill(-1) to every member).
enum InitActions {
    static let actions = ["block", "unblock", "catch", "ignore", "default", "kill"]

    static func run(_ call: inout BuiltinCall) throws -> Value? {
        let args = call.arguments
        guard args.count >= 2 else {
            throw BuiltinError("ns init needs a namespace and an action (\(actions.joined(separator: ", "))): ns init $ns block USR1")
        }
        let word = Printer.string(args[1])
        guard actions.contains(word) else {
            var notes = ["ns init does: " + actions.joined(separator: ", ")]
            if let s = Suggest.closest(to: word, among: actions) { notes.insert("did you mean `\(s)`?", at: 0) }
            throw BuiltinError("unknown action `\(word)`", notes: notes, argument: 1)
        }
        let ns = try call.namespace(args[0], argument: 0)
        let initProcess = try call.pidshInit(of: ns, argument: 0)
        if initProcess.procStatus()?.isStopped == true {
            throw BuiltinError("the init of \(ns.id) is stopped (SIGSTOP): it cannot act until a SIGCONT resumes it (`kill -CONT $ns.init`)", argument: 0)
        }
        let rest = args.indices.dropFirst(2).map { (args[$0], Optional($0)) }
        if word == "kill" { return try kill(rest, ns: ns, initProcess: initProcess, call: &call) }
        guard !rest.isEmpty else { throw BuiltinError("ns init NS \(word) needs the signals: ns init $ns \(word) USR1", argument: 1) }
        let set = try call.signalSet(rest)
        if word != "unblock" {
            try call.refuseUncatchable(set, word == "block" ? "blocked" : word == "catch" ? "caught" : word == "ignore" ? "ignored" : "given a handler or a default of their own", argument: rest.first?.1)
        }
        let action: InitAction
        switch word {
        case "block": action = .block(set)
        case "unblock": action = .unblock(set)
        case "catch": action = .catchSignals(set)
        case "ignore": action = .ignore(set)
        default: action = .reset(set)
        }
        try perform(action, initProcess, call, argument: rest.first?.1)
        return nil
    }

    /// The init's call; the kernel's refusal is located at the argument it concerns.
    static func perform(_ action: InitAction, _ initProcess: ProcessHandle, _ call: BuiltinCall, argument: Int?) throws {
        do {
            try initProcess.initChannel!.perform(action, recorder: call.session.recorder, initPID: initProcess.pid)
        } catch let e as SystemError {
            throw BuiltinError("\(e)", argument: argument)
        }
    }

    /// `ns init NS kill SIG TARGET`: the verdicts are judged before the init sends, as
    /// `kill` judges its own, with the init as the sender.
    static func kill(_ rest: [(Value, Int?)], ns: Namespace, initProcess: ProcessHandle, call: inout BuiltinCall) throws -> Value? {
        guard rest.count == 2 else {
            throw BuiltinError("ns init NS kill needs a signal and a target: ns init $ns kill USR1 1 (1: the init itself, -1: every other member)")
        }
        let sig = try call.signal(rest[0].0, argument: rest[0].1)
        let depth = initProcess.pids.count - 1
        let target = try targetPID(rest[1].0, argument: rest[1].1, ns: ns, depth: depth, call: call)
        let reached = recipients(of: target, ns: ns, depth: depth, initProcess: initProcess, known: call.session.children)
        let verdicts = reached.map { r in
            SignalVerdict.judge(sig, target: r.status, pid: r.handle.pid, fromAncestor: (try? r.handle.namespace().inode) != ns.inode)
        }
        try perform(.kill(signal: sig, target: target), initProcess, call, argument: rest[1].1)
        for v in verdicts { if let rule = v.rule { call.warn(rule) } }
        // A SIGKILL that acts: the processes are gone before the next statement looks.
        for (r, v) in zip(reached, verdicts) where sig == Signals.kill && v.kind == .delivered {
            try? ChildReaper.shared.waitUntilEnded(r.handle, interruptible: false, recorder: nil)
        }
        call.session.reapFinished()
        let values = verdicts.map { Value.string($0.kind.rawValue) }
        return target == -1 ? .list(values) : (values.first ?? .string("delivered"))
    }

    /// The target as the init's namespace numbers it: a number as written, a process by
    /// its PID at the init's level (it must be in the init's namespace or below).
    static func targetPID(_ v: Value, argument: Int?, ns: Namespace, depth: Int, call: BuiltinCall) throws -> Int32 {
        if case .process(let p) = v {
            let inside = (try? p.namespace()).map { $0.inode == ns.inode || $0.ancestorInodes().contains(ns.inode) } ?? false
            guard inside, p.pids.count > depth else {
                throw BuiltinError("process \(p.pid) is not in \(ns.id) or below it: its init cannot see it (give a PID as the init's namespace numbers it)", argument: argument)
            }
            return p.pids[depth]
        }
        guard let n = Int32(Printer.string(v)) else {
            throw BuiltinError("expected a PID as the init's namespace numbers it (1: the init, -1: every other member) or a process, got \(Printer.describe(v))", argument: argument)
        }
        return n
    }

    /// Who the init's kill reaches, held by pidfd and read now: one process, or for -1
    /// every process its namespace numbers above 1.
    static func recipients(of target: Int32, ns: Namespace, depth: Int, initProcess: ProcessHandle,
                           known: [ProcessHandle]) -> [(handle: ProcessHandle, status: ProcStatus)] {
        let rows = ProcTable.snapshot(ProcNeeds(commandLines: false, seenFrom: (ns.inode, depth))).view(fromNamespace: ns.inode, level: depth)
        let hosts = target == 1 ? [initProcess.pid] : rows.filter { target == -1 ? $0.pid > 1 : $0.pid == target }.map { $0.entry.pid }
        return hosts.compactMap { pid in
            let handle = pid == initProcess.pid ? initProcess : (known.first { $0.pid == pid && $0.isRunning } ?? (try? ProcessHandle.observe(pid: pid)))
            guard let handle, let status = handle.procStatus(), !status.state.hasPrefix("Z") else { return nil }
            return (handle, status)
        }
    }
}
