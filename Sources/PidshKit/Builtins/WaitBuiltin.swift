import PidshSystem

/// `wait`: for processes to end, at most a while (`--timeout`), for the first of several
/// (`--any`), or for a signal the script traps. Waits go through ChildReaper, by pidfd.
enum WaitBuiltin {
    static let spec = BuiltinSpec(
        name: "wait", synopsis: "wait [--timeout DURATION] [--any] PROCESS...\nwait --timeout DURATION",
        summary: "Wait for processes to end (each is watched by its pidfd, so a recycled PID is never mistaken for it; pidsh's other children are reaped meanwhile). A signal the script traps (`trap SIG { ... }`) ends the wait at once: its trap runs next, and `$?` is 128+N. With --timeout the wait gives up after DURATION seconds (fractions allowed) with status 124; without a process it waits only for a trapped signal.",
        options: [OptionSpec("--timeout", "DURATION", "give up after DURATION seconds (fractions allowed: 0.5, 2): status 124, as timeout(1)"),
                  OptionSpec("--any", "return as soon as one of the processes has ended")],
        returns: "status (exit code, or the signal that ended it) of a child pidsh started, with `$?` its code; several: a list of them; --any: the process that ended; a trapped signal: its name (SIGUSR1)",
        examples: ["let st = wait $child", "echo $st.code $st.signal", "wait --timeout 2 $p", "let first = wait --any $a $b", "trap USR1 { echo got USR1 }; wait --timeout 5"],
        errors: ["ECHILD: not pidsh's child (plain wait; --any and --timeout watch any process)", "ESRCH: no such process",
                 "timed out (status 124): the processes still run after DURATION", "DURATION is not a number of seconds"]
    ) { call in
        let p = try call.parse()
        var timeout: Double?
        if let v = p.value("--timeout") {
            guard let t = Double(Printer.string(v)), t >= 0, t.isFinite else {
                throw BuiltinError("--timeout needs a number of seconds (0.5, 2), got \(Printer.describe(v))", argument: p.valueIndex["--timeout"])
            }
            timeout = t
        }
        var procs: [ProcessHandle] = []
        for (v, i) in p.positionals {
            for item in v.elements { procs.append(try call.process(item, argument: i)) }
        }
        if procs.isEmpty && timeout == nil {
            throw BuiltinError("wait needs one process or more (or --timeout DURATION alone, to wait for a trapped signal)")
        }
        let plain = timeout == nil && !p.has("--any")
        if plain, let stranger = procs.first(where: { !$0.isChild }) {
            throw BuiltinError("process \(stranger.pid) is not pidsh's child: only a process's parent can wait for it and learn how it ended (`wait --any` and `wait --timeout` watch any process)",
                               argument: p.positionals.first?.1)
        }
        return try outcome(ChildReaper.shared.waitForEvents(procs, any: p.has("--any"), timeout: timeout),
                           procs: procs, any: p.has("--any"), timeout: timeout, call: &call)
    }

    static func outcome(_ o: ChildReaper.WaitOutcome, procs: [ProcessHandle], any: Bool, timeout: Double?,
                        call: inout BuiltinCall) throws -> Value? {
        call.session.reapFinished()
        switch o {
        case .trapped:
            // Its trap runs before the next statement; `$?` says which signal ended the wait.
            let sig = SignalTraps.peekArrived() ?? 0
            call.dollarQuestion = 128 + sig
            return .string(Signals.name(of: sig))
        case .timedOut:
            call.status = 124
            call.plainFailure = true
            let still = procs.filter { $0.isRunning }.map { String($0.pid) }
            call.failureMessage = "wait timed out after \(timeout.map { $0 == $0.rounded() ? String(Int($0)) : String($0) } ?? "?") s" + (still.isEmpty ? "" : ": \(still.joined(separator: " ")) still running")
            return nil
        case .ended(let index):
            if any {
                let p = procs[index]
                if let s = p.exitStatus { call.dollarQuestion = s.shellCode }
                return .process(p)
            }
            let statuses = procs.map { $0.exitStatus }
            if let last = statuses.last, let s = last { call.dollarQuestion = s.shellCode }
            let values: [Value] = statuses.map { $0.map { .status($0) } ?? .string("ended") }
            return values.count == 1 ? values[0] : .list(values)
        }
    }
}
