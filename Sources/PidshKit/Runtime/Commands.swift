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

extension Interpreter {
    /// Expands a command and decides what it is: a builtin, a def, or a program found on
    /// $PATH (else the error, with sh's status 127 or 126).
    func resolve(_ command: Command) throws -> Stage {
        if let known = literalCommand(command) { return known.stage }
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
            let stage = Stage.builtin(spec, Array(rest.dropFirst(consumed)), command)
            remember(command, as: stage)
            return stage
        }
        if builtinsAllowed, let f = functions[name] { return .user(f, rest, command) }
        let notFound = { builtinsAllowed ? "command not found: \(name) (not a builtin, not a def, not on $PATH)"
            : "command not found: \(name) (not on $PATH)" }
        switch ProgramLookup.find(name, notFound: notFound()) {
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

    func runInProcess(_ stage: Stage, io: CommandIO) throws -> CommandResult {
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

    func applyRedirections(_ redirections: [Redirection], to io: inout CommandIO, opened: inout [Int32]) throws {
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
