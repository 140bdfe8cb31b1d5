import PidshSystem

/// Builtins that show and steer signals: `signals` (a process's masks and dispositions,
/// from /proc), `signals received` (what pidsh's init of a namespace caught, with the
/// siginfo), `ns init` (pidsh's init acts itself). `kill` is KillBuiltin.
enum SignalBuiltins {
    static let all: [BuiltinSpec] = [KillBuiltin.spec, WaitBuiltin.spec, signals, received, nsInit]

    static let signals = BuiltinSpec(
        name: "signals", synopsis: "signals PROCESS|NS [--json]",
        summary: "A process's signals, decoded by name from /proc/PID/status: blocked (SigBlk), ignored (SigIgn), caught (SigCgt), pending for its thread (SigPnd) and for the whole process (ShdPnd). For a namespace, its PID 1's.",
        options: [OptionSpec("--json", "an object: blocked, ignored, caught, pending_thread, pending_shared (arrays of signal names)")],
        returns: "nothing (under `let`, the text)",
        examples: ["signals $child", "signals $ns", "signals $p --json"],
        errors: ["ESRCH: the process has ended", "signals needs one process or namespace"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("signals needs one process or namespace") }
        let (v, index) = p.positionals[0]
        let proc: ProcessHandle
        if case .namespace(let ns) = v {
            guard let initProcess = ns.findInit() else { throw BuiltinError("\(ns.id) has no live init", argument: index) }
            proc = initProcess
        } else {
            proc = try call.process(v, argument: index)
        }
        guard let s = proc.procStatus() else { throw BuiltinError("process \(proc.pid) has ended", argument: index) }
        let rows: [(String, String, UInt64)] = [("blocked", "SigBlk", s.sigBlocked), ("ignored", "SigIgn", s.sigIgnored),
                                               ("caught", "SigCgt", s.sigCaught), ("pending (thread)", "SigPnd", s.sigPendingThread),
                                               ("pending (shared)", "ShdPnd", s.sigPendingShared)]
        if p.has("--json") {
            let keys = ["blocked", "ignored", "caught", "pending_thread", "pending_shared"]
            call.print(JSON.object(zip(keys, rows).map { ($0, JSON.array(SignalSet($1.2).names().map(JSON.string))) }))
            return nil
        }
        for (label, field, bits) in rows {
            let names = SignalSet(bits).names()
            call.print("\((label + ":").padding(to: 17)) \(names.isEmpty ? "-" : names.joined(separator: " "))   (\(field))")
        }
        return nil
    }

    static let received = BuiltinSpec(
        name: "signals received", synopsis: "signals received NS|PROCESS [--json]",
        summary: "Every signal pidsh's init of the namespace caught, oldest first, with its siginfo as the kernel gave it to the init: the signal, si_code, si_pid as the init's namespace numbers the sender (0 when the sender is in an ancestor namespace: it has no PID there; 1 when the init sent it itself) and si_uid as the init's user namespace sees it. An init gets only the signals it catches (SIGCHLD always; more with --catch or `ns init NS catch`).",
        options: [OptionSpec("--json", "an array of objects: signal, code, pid, uid, status (docs/json.md)")],
        returns: "list of strings, one per signal (the same as $ns.received)",
        examples: ["signals received $ns", "let got = signals received $ns", "expect $ns.received.last == \"SIGUSR1 si_code=SI_USER si_pid=0 (the sender is in an ancestor namespace: it has no PID here) si_uid=0\""],
        errors: ["PID 1 of the namespace is not pidsh's init (pidsh can only ask its own)", "the namespace has no live init"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("signals received needs one namespace") }
        let ns = try call.namespace(p.positionals[0].0, argument: p.positionals[0].1)
        let initProcess = try call.pidshInit(of: ns, argument: p.positionals[0].1)
        let (list, dropped) = try initProcess.initChannel!.received(recorder: call.session.recorder, initPID: initProcess.pid)
        if p.has("--json") {
            call.print(JSON.array(list.map(ReceivedText.json)))
        } else {
            if dropped > 0 { call.print("(\(dropped) earlier signal(s) no longer kept)") }
            for r in list { call.print(ReceivedText.line(r)) }
        }
        return .list(list.map { .string(ReceivedText.line($0)) })
    }

    static let nsInit = BuiltinSpec(
        name: "ns init", synopsis: "ns init NS block|unblock|catch|ignore|default SIGS...\nns init NS kill SIGNAL TARGET",
        summary: "Have pidsh's init of NS act itself, so the rules where init is the actor can be shown: change its signal mask (block, unblock) or dispositions (catch: a handler that logs the siginfo; ignore: SIG_IGN; default: SIG_DFL) while it runs, or send a signal (kill: TARGET 1 is the init itself, so si_pid is 1; -1 is every member of its namespace but itself; a PID as its namespace numbers it, or a process). The init makes the call over its control channel and reports the kernel's result; a refusal is an error with its errno. `kill` returns the kernel's verdict, as `kill` does.",
        returns: "nothing; for kill the verdict (a list for -1)",
        examples: ["ns init $ns block USR1", "ns init $ns catch USR1 TERM", "ns init $ns kill USR1 1", "ns init $ns kill KILL -1", "ns init $ns default USR1"],
        errors: ["PID 1 of NS is not pidsh's init (pidsh steers only the inits it started)", "the init is stopped (SIGSTOP): it cannot act until SIGCONT",
                 "ESRCH: no such process in the init's namespace (a PID of an ancestor names nothing there), or kill -1 with no other member",
                 "SIGKILL and SIGSTOP cannot be caught, ignored or blocked", "an unknown action or signal"]
    ) { call in
        try InitActions.run(&call)
    }
}

/// The text of one signal an init received, as `signals received` and `$ns.received` give it.
enum ReceivedText {
    static func line(_ r: ReceivedSignal) -> String {
        var s = "\(Signals.name(of: r.signal)) si_code=\(code(r)) si_pid=\(r.pid)"
        if let note = pidNote(r) { s += " (\(note))" }
        if r.signal == 17 { s += " si_status=\(r.status)" }
        return s + " si_uid=\(r.uid)"
    }

    static func pidNote(_ r: ReceivedSignal) -> String? {
        if r.code == 0x80 { return "sent by the kernel" }
        if r.pid == 0 && r.code <= 0 { return "the sender is in an ancestor namespace: it has no PID here" }
        if r.pid == 1 && r.code <= 0 { return "the init itself" }
        return nil
    }

    static func code(_ r: ReceivedSignal) -> String {
        if r.signal == 17, r.code > 0 {   // SIGCHLD's own codes
            let names = [1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED", 6: "CLD_CONTINUED"]
            return names[Int(r.code)] ?? String(r.code)
        }
        let names = [0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO",
                     -5: "SI_SIGIO", -6: "SI_TKILL", -60: "SI_ASYNCNL"]
        return names[Int(r.code)] ?? String(r.code)
    }

    static func json(_ r: ReceivedSignal) -> String {
        JSON.object([("signal", JSON.string(Signals.name(of: r.signal))), ("code", JSON.string(code(r))),
                     ("pid", JSON.number(Int(r.pid))), ("uid", JSON.number(Int(r.uid))), ("status", JSON.number(Int(r.status)))])
    }
}
