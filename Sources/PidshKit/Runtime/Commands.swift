import PidshSystem

/// Where one command reads and writes.
public struct CommandIO {
    public var stdin: Int32
    public var out: OutputSink
    public var err: OutputSink
}

/// What a command left: its status, a builtin's value, its captured text.
struct CommandResult {
    var status: Int32 = 0
    var value: Value?
    var capturedText: String = ""
    var failureMessage: String?
    /// `$?` when it differs from `status` (`spawn --wait` succeeds, and `$?` is the
    /// waited program's code).
    var dollarQuestion: Int32?
    var failureLocation: SourceLocation?
    /// The failure is only a status (see `CommandFailed.plainFailure`).
    var plainFailure = false
    /// The builtin printed its value itself (`BuiltinCall.printedItsValue`).
    var valuePrinted = false
}

/// One stage of a pipeline after expansion.
private enum Stage {
    case builtin(BuiltinSpec, [Value], Command)
    case user(UserCommand, [Value], Command)
    case external(path: String, argv: [String], Command)
}

extension Interpreter {
    /// Runs a pipeline. `capture` sends the last stage's output to memory (for `let`
    /// and `$(...)`); `reportErrors` prints a failing builtin's error instead of
    /// throwing it (conditions).
    func runPipeline(_ p: Pipeline, capture: Bool, reportErrors: Bool = false) throws -> CommandResult {
        var result: CommandResult
        do {
            result = try located(at: p.location) { try runStages(p, capture: capture) }
        } catch let e as RuntimeError where reportErrors || p.negated {
            if !e.shownOnRedirectedError { report([e.diagnostic]) }
            result = CommandResult(status: e.status)
        } catch let e as CommandFailed where reportErrors || p.negated {
            // A def whose body failed, under if/while/!: its status decides, as a
            // failing external's does (the script goes on).
            result = CommandResult(status: e.status == 0 ? 1 : e.status)
        }
        if p.negated {
            result.status = result.status == 0 ? 1 : 0
            result.failureMessage = "`!` command succeeded"
            result.plainFailure = true
        }
        lastStatus = result.dollarQuestion ?? result.status
        return result
    }

    /// A kernel error with no place of its own (a pipe pidsh could not make) is the
    /// pipeline's: located there, never at line 0.
    private func located<T>(at location: SourceLocation, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SystemError {
            throw RuntimeError(location, "\(e)")
        } catch let e as UsageError {
            throw RuntimeError(location, "\(e)")
        }
    }

    private func resolve(_ command: Command) throws -> Stage {
        var args: [Value] = []
        for w in command.words { args.append(contentsOf: try expand(w)) }
        guard let first = args.first else {
            throw RuntimeError(command.location, "the command expanded to nothing")
        }
        var name = Printer.string(first)
        var rest = Array(args.dropFirst())
        var builtinsAllowed = true
        if name == "command" {
            guard let next = rest.first else { throw RuntimeError(command.location, "`command` needs a command name") }
            name = Printer.string(next)
            rest.removeFirst()
            builtinsAllowed = false
        }
        if builtinsAllowed, let (spec, consumed) = builtins.match(name, rest.map(Printer.string)) {
            return .builtin(spec, Array(rest.dropFirst(consumed)), command)
        }
        if builtinsAllowed, let f = functions[name] { return .user(f, rest, command) }
        let notFound = builtinsAllowed ? "command not found: \(name) (not a builtin, not a def, not on $PATH)"
            : "command not found: \(name) (not on $PATH)"
        switch ProgramLookup.find(name, notFound: notFound) {
        case .program(let path):
            return .external(path: path, argv: [name] + rest.map(Printer.string), command)
        case .refused(let why, let status):
            var notes: [String] = []
            let known = builtins.names + Array(functions.keys)
            if !builtinsAllowed && known.contains(name) {
                notes.append("`\(name)` is a builtin or a def: `command` skips those and looks only on $PATH")
            } else if status == 127, let s = Suggest.closest(to: name, among: known) { notes.append("did you mean `\(s)`?") }
            let at = !builtinsAllowed && command.words.count > 1 ? command.words[1].location : command.words[0].location
            throw RuntimeError(at, why, notes: notes, status: status)
        }
    }

    private func runStages(_ p: Pipeline, capture: Bool) throws -> CommandResult {
        let stages = try p.commands.map(resolve)
        var opened: [Int32] = []
        defer { for fd in opened { FileIO.close(fd) } }
        let finalOut = capture ? OutputSink(.buffer) : out

        // One stage that isn't external runs in-process with its redirections.
        if stages.count == 1, case .external = stages[0] {} else if stages.count == 1 {
            var io = CommandIO(stdin: stdinFD, out: finalOut, err: err)
            try applyRedirections(stageCommand(stages[0]).redirections, to: &io, opened: &opened)
            var r = try runInProcess(stages[0], io: io)
            if capture { r.capturedText = finalOut.text }
            return r
        }

        // Pipes between stages; each external gets its ends by dup2 in the child.
        var pipes: [(r: Int32, w: Int32)] = []
        for _ in 0..<(stages.count - 1) {
            let pp = try FileIO.pipe()
            opened.append(pp.0); opened.append(pp.1)
            pipes.append((pp.0, pp.1))
        }
        var pumps: [(fd: Int32, consume: ([UInt8]) -> Bool)] = []
        // Sinks that output passes through pidsh to: a failed write there fails the job.
        var pumpedSinks: [OutputSink] = []
        // Output that must pass through pidsh (capture, stable ids, embedding).
        var lastOutFD: Int32
        if let fd = finalOut.directDescriptor {
            lastOutFD = fd
        } else {
            let (r, w) = try FileIO.pipe()
            opened.append(w)
            lastOutFD = w
            pumps.append((r, { finalOut.writeBytes($0) }))
            pumpedSinks.append(finalOut)
        }
        var errFD: Int32
        if let fd = err.directDescriptor {
            errFD = fd
        } else if !capture, let o = out.descriptor, let e = err.descriptor, FileIO.sameFile(o, e) {
            errFD = lastOutFD   // merged output stays in order
        } else {
            let (r, w) = try FileIO.pipe()
            opened.append(w)
            errFD = w
            let sink = err
            pumps.append((r, { sink.writeBytes($0) }))
            pumpedSinks.append(sink)
        }

        var running: [(ProcessHandle, Command)] = []
        var inProcess: [(Int, Stage, CommandIO)] = []
        var failure: Error?
        for (i, stage) in stages.enumerated() {
            let command = stageCommand(stage)
            let inFD = i == 0 ? stdinFD : pipes[i - 1].r
            let outFD = i == stages.count - 1 ? lastOutFD : pipes[i].w
            var io = CommandIO(stdin: inFD, out: OutputSink(.descriptor(outFD), ids: nil), err: OutputSink(.descriptor(errFD), ids: nil))
            if i == stages.count - 1, lastOutFD == finalOut.descriptor { io.out = finalOut }
            do {
                try applyRedirections(command.redirections, to: &io, opened: &opened)
            } catch { failure = error; break }
            switch stage {
            case .external(let path, let argv, _):
                var opts = SpawnOptions(path: path, arguments: argv)
                opts.awaitExecVisible = false   // a foreground job: waited for at once
                opts.fileDescriptors = [(0, io.stdin), (1, io.out.descriptor ?? outFD), (2, io.err.descriptor ?? errFD)]
                do {
                    let proc = try session.spawn(opts)
                    running.append((proc, command))
                } catch {
                    failure = RuntimeError(command.location, "\(error)", status: (error as? SystemError)?.shellStatus ?? 1)
                }
            default:
                inProcess.append((i, stage, io))
            }
            if failure != nil { break }
        }
        // pidsh's copies of the pipe ends only externals use go now: a reader that
        // exits (`head`) must give the stage writing to it EPIPE, not a pipe that
        // blocks forever, and an external writer's end must close for its in-process
        // reader (a def) to see EOF.
        for (i, p) in pipes.enumerated() {
            if case .external = stages[i] { FileIO.close(p.w); opened.removeAll { $0 == p.w } }
            if case .external = stages[i + 1] { FileIO.close(p.r); opened.removeAll { $0 == p.r } }
        }
        if !inProcess.isEmpty { OwnSignals.ignoreBrokenPipes() }
        // In-process stages run one after another, so one that reads a pipe whose
        // writer runs before it (an earlier builtin or def, or a program downstream of
        // one) would leave that writer blocked on a full pipe: such a pipe is drained in
        // the background and its bytes fed to the reader when its turn comes.
        var heldInputs: [Int: BackgroundReader] = [:]
        if failure == nil, let firstInProcess = inProcess.first?.0 {
            for (i, _, _) in inProcess where i > firstInProcess {
                let p = pipes[i - 1]
                do {
                    heldInputs[i] = try BackgroundReader(fds: [p.r], limit: Limits.captureBytes)
                    opened.removeAll { $0 == p.r }
                } catch { failure = error; break }
            }
        }
        // While in-process stages write into the pipeline, someone must read what the
        // programs print into pidsh (a capture): a thread of its own does.
        var reader: BackgroundReader?
        if !inProcess.isEmpty && !pumps.isEmpty {
            do { reader = try BackgroundReader(fds: pumps.map { $0.fd }, limit: Limits.captureBytes) } catch { if failure == nil { failure = error } }
        }
        // In-process stages write to their pipe after the externals are running.
        var lastResult = CommandResult()
        for (i, stage, stageIO) in inProcess {
            if failure is Interrupted { break }   // a signal stops the whole job
            var io = stageIO
            var feeder: BackgroundWriter?
            var fedFD: Int32 = -1
            defer {
                if fedFD >= 0 { FileIO.close(fedFD) }
                feeder?.finish()
            }
            do {
                if let held = heldInputs.removeValue(forKey: i) {
                    let bytes = held.finish()[0]
                    if held.truncated[0] { throw RuntimeError(stageCommand(stage).location, Self.heldTooLarge) }
                    if io.stdin == pipes[i - 1].r {   // not redirected with `<`
                        let (r, w) = try FileIO.pipe()
                        fedFD = r
                        feeder = try BackgroundWriter(fd: w, bytes: bytes)
                        io.stdin = r
                    }
                }
                let r = try runInProcess(stage, io: io)
                if i == stages.count - 1 { lastResult = r }
            } catch let e where i < stages.count - 1 && (e is CommandFailed || e is BrokenPipe) {
                // A def that fails before the last stage, or whose reader is gone (its
                // `yes` when `head` is done): as for an external, only the last
                // stage's status counts.
            } catch {
                if failure == nil { failure = error }
            }
            if i < stages.count - 1 { FileIO.close(pipes[i].w); opened.removeAll { $0 == pipes[i].w } }
        }
        // Our copies of the pipe ends must go, or readers never see EOF.
        for fd in opened { FileIO.close(fd) }
        opened.removeAll()
        // A signal stopped an in-process stage (its poll took it): the programs of the
        // job get it too, or waiting for them (a `sleep` fed by the def) never ends.
        if let stop = failure as? Interrupted {
            for (proc, _) in running where proc.isRunning { try? proc.signal(stop.signal) }
        }
        for (_, held) in heldInputs { _ = held.finish() }   // stages that did not run
        if let reader {
            for (i, bytes) in reader.finish().enumerated() where !bytes.isEmpty { _ = pumps[i].consume(bytes) }
            if failure == nil, reader.truncated.contains(true) { failure = RuntimeError(p.location, Self.heldTooLarge) }
        } else {
            PipeDrain.pump(pumps)
        }

        var statuses: [ExitStatus] = []
        for (proc, _) in running {
            do {
                statuses.append(try proc.waitForeground(capturingFields: false))
            } catch let e as Interrupted {
                // SIGTERM/SIGHUP: the whole job gets it, and the script stops now.
                for (other, _) in running where other.isRunning { try? other.signal(e.signal) }
                session.reapFinished()
                _ = OwnSignals.takePending()
                throw e
            }
        }
        session.reapFinished()
        if let failure {
            for (proc, _) in running where proc.isRunning { try? proc.signal(9) }
            throw failure
        }
        try checkWrites(pumpedSinks, by: "", at: p.location)
        try interruptIfForegroundDied(statuses)

        var result = lastResult
        if case .external(_, let argv, let command) = stages.last!, let s = statuses.last {
            result.status = s.shellCode
            if s.shellCode != 0 {
                result.failureMessage = "`\(argv.joined(separator: " ").prefix(60))` \(s == .exited(s.shellCode) ? "exited with status \(s.shellCode)" : "was \(s)")"
                result.failureLocation = command.location
                result.plainFailure = true
            }
        }
        if capture { result.capturedText = finalOut.text }
        return result
    }

    static let heldTooLarge = "more than \(Limits.describeBytes(Limits.captureBytes)) of output piled up in memory while pidsh ran the in-process stages of this pipeline one after another"

    private func stageCommand(_ s: Stage) -> Command {
        switch s {
        case .builtin(_, _, let c), .user(_, _, let c), .external(_, _, let c): return c
        }
    }

    /// A Ctrl-C that killed the foreground job stops the script (and returns the REPL
    /// to its prompt); one the job caught and survived is forgotten.
    private func interruptIfForegroundDied(_ statuses: [ExitStatus]) throws {
        let pending = OwnSignals.peekPending()
        guard pending != 0 else { return }
        if OwnSignals.belongsToForegroundJob(pending) && !statuses.contains(.signaled(pending)) {
            _ = OwnSignals.takePending()
            return
        }
        _ = OwnSignals.takePending()
        throw Interrupted(signal: pending)
    }

    private func runInProcess(_ stage: Stage, io: CommandIO) throws -> CommandResult {
        switch stage {
        case .builtin(let spec, let args, let command):
            var call = BuiltinCall(interpreter: self, spec: spec, arguments: args, io: io, command: command)
            // A failed write that the builtin's own error overtook is not reported later.
            defer { _ = io.out.takeFailure(); _ = io.err.takeFailure() }
            do {
                let v = try spec.run(&call)
                try checkWrites([io.out, io.err], by: spec.name, at: command.location)
                lastStatus = call.status
                var r = CommandResult(status: call.status, value: v)
                r.dollarQuestion = call.dollarQuestion
                r.valuePrinted = call.printedItsValue
                if call.status != 0 {
                    r.failureMessage = call.failureMessage ?? "`\(spec.name)` failed with status \(call.status)"
                    r.failureLocation = command.location
                    r.plainFailure = call.plainFailure
                }
                return r
            } catch let e as BuiltinError {
                let loc = e.argumentIndex.flatMap { argLocation(command, $0, nameWords: spec.name.split(separator: " ").count) } ?? command.location
                throw builtinFailure(RuntimeError(loc, Self.naming(spec.name, e.message), notes: e.notes, status: e.status), command: command, io: io)
            } catch let e as SystemError {
                throw builtinFailure(RuntimeError(command.location, Self.naming(spec.name, "\(e)"), status: e.shellStatus ?? 1), command: command, io: io)
            } catch let e as UsageError {
                throw builtinFailure(RuntimeError(command.location, Self.naming(spec.name, "\(e)")), command: command, io: io)
            }
        case .user(let f, let args, let command):
            let status = try call(f, arguments: args, io: io)
            var r = CommandResult(status: status)
            if status != 0 { r.failureMessage = "`\(f.name)` failed with status \(status)"; r.failureLocation = command.location }
            return r
        case .external:
            fatalError("externals are spawned, not run in-process")
        }
    }

    /// A builtin's error, headed by the builtin's name unless the message starts with it
    /// already (`nest 40: clone...`, `unshare(CLONE_NEWPID): ...`): no "nest: nest".
    static func naming(_ name: String, _ message: String) -> String {
        if message.hasPrefix(name), let next = message.dropFirst(name.count).first, next == " " || next == ":" || next == "(" {
            return message
        }
        return "\(name): \(message)"
    }

    /// A builtin's error is its standard error: under `2> FILE` or `2>&1` it is written
    /// there, as a program's message would be.
    private func builtinFailure(_ error: RuntimeError, command: Command, io: CommandIO) -> RuntimeError {
        guard command.redirections.contains(where: { $0.kind == .error || $0.kind == .errorToOutput }) else { return error }
        var e = error
        io.err.write(DiagnosticRenderer.render(e.diagnostic, source: sources[e.location.file]) + "\n")
        e.shownOnRedirectedError = true
        return e
    }

    /// The location of argument `i` (after the command name), when the words map 1:1.
    func argLocation(_ c: Command, _ i: Int, nameWords: Int = 1) -> SourceLocation? {
        var offset = nameWords
        if c.words.first?.literalText == "command" { offset = 2 }
        return i + offset < c.words.count ? c.words[i + offset].location : nil
    }

    private func applyRedirections(_ redirections: [Redirection], to io: inout CommandIO, opened: inout [Int32]) throws {
        for r in redirections {
            if r.kind == .errorToOutput { io.err = io.out; continue }
            guard let target = r.target else { continue }
            let values = try expand(target)
            guard values.count == 1 else {
                throw RuntimeError(target.location, "a redirection needs one file name, the word expanded to \(values.count)")
            }
            let path = Printer.string(values[0])
            let fd: Int32
            do {
                switch r.kind {
                case .input: fd = try FileIO.open(path, .read)
                case .output, .error: fd = try FileIO.open(path, .truncate)
                case .append: fd = try FileIO.open(path, .append)
                case .errorToOutput: continue
                }
            } catch {
                throw RuntimeError(target.location, "\(error)")
            }
            opened.append(fd)
            switch r.kind {
            case .input: io.stdin = fd
            // A file gets the real text: --stable-ids rewrites what is shown, never data
            // (`echo $p.pid > .../cgroup.procs` must write the PID).
            case .output, .append:
                io.out = OutputSink(.descriptor(fd), ids: nil, name: path)
                io.out.redirection = target.location
            case .error:
                io.err = OutputSink(.descriptor(fd), ids: nil, name: path)
                io.err.redirection = target.location
            case .errorToOutput: break
            }
        }
    }

    /// `$(...)`: runs statements with stdout captured; errors propagate.
    func captureOutput(of statements: [Statement], at loc: SourceLocation) throws -> String {
        let sink = OutputSink(.buffer)
        let saved = out
        out = sink
        defer { out = saved }
        for s in statements {
            if case .pipeline(let p) = s {
                let r = try runPipeline(p, capture: false)
                if r.status != 0 {
                    throw CommandFailed(location: r.failureLocation ?? p.location, message: r.failureMessage ?? "command failed", status: r.status)
                }
            } else {
                try runStatement(s)
            }
        }
        return sink.text
    }
}
