import PidshSystem

/// What a builtin gets: its arguments (typed values), its I/O and the interpreter.
public struct BuiltinCall {
    public let interpreter: Interpreter
    /// The builtin being run (its options drive `parse()`).
    public let spec: BuiltinSpec
    public var arguments: [Value]
    public let io: CommandIO
    public let command: Command
    /// Set by builtins that fail without an error (a dropped signal...).
    public var status: Int32 = 0
    public var failureMessage: String?
    /// The status says it all (`false`): at the prompt, no error block, as for a
    /// program that exits non-zero.
    public var plainFailure = false
    /// What `$?` becomes, when not the builtin's own status.
    public var dollarQuestion: Int32?
    /// What it printed is its value (`pids`, `ns id`): the REPL does not show it again.
    public var printedItsValue = false

    public var session: Session { interpreter.session }

    public func print(_ line: String) { io.out.write(line + "\n") }
    public func write(_ text: String) { io.out.write(text) }
    public func warn(_ line: String) { io.err.write(line + "\n") }
    /// Parsed arguments: options by name, positionals, and a trailing command.
    public struct Parsed {
        public var options: [String: Value] = [:]
        /// Where each option's value stands (an argument index), for carets.
        public var valueIndex: [String: Int] = [:]
        /// Every value of an option given more than once (`ps -o pid -o comm`), in
        /// order, each with its argument index; `options` keeps the last.
        public var allValues: [String: [(Value, Int)]] = [:]
        public var flags: Set<String> = []
        public var positionals: [(Value, Int)] = []   // value, argument index
        public var command: [Value] = []
        public var commandIndex: Int?

        public func has(_ flag: String) -> Bool { flags.contains(flag) }
        public func value(_ name: String) -> Value? { options[name] }
    }

    /// Parses against the spec's options. A trailing command starts at the first word
    /// after `commandAfterPositionals` positionals; everything from there is its own.
    public func parse() throws -> Parsed {
        // A literal command parses the same way every time (LiteralCommands).
        guard let known = interpreter.literalCommand(command) else { return try parseArguments() }
        if let parsed = known.parsed { return parsed }
        let parsed = try parseArguments()
        known.parsed = parsed
        return parsed
    }

    private func parseArguments() throws -> Parsed {
        var p = Parsed()
        var i = 0
        let args = arguments
        while i < args.count {
            let v = args[i]
            let word: String? = { if case .string(let s) = v { return s }; return nil }()
            if let word, word == "--" {
                i += 1
                if spec.commandAfterPositionals != nil { p.command = Array(args[i...]); p.commandIndex = i; break }
                while i < args.count { p.positionals.append((args[i], i)); i += 1 }
                break
            }
            // Looked at as bytes: `-`, `--` and `=` are ASCII, and a Character walk of
            // every word (its count, a search for `=`) cost more than the rest of the parse.
            if let word, word.utf8.first == UInt8(ascii: "-"), word.utf8.count > 1, Int(word) == nil {
                var name = word
                var inlineValue: String?
                if word.hasPrefix("--"), let eq = word.utf8.firstIndex(of: UInt8(ascii: "=")) {
                    name = String(word[..<eq])
                    inlineValue = String(word[word.utf8.index(after: eq)...])
                }
                guard let opt = spec.option(name) else {
                    var notes: [String] = []
                    let all = spec.options.flatMap { [$0.name] + $0.aliases }
                    if let s = Suggest.closest(to: name, among: all) { notes.append("did you mean \(s)?") }
                    if !all.isEmpty { notes.append("options of \(spec.name): " + all.joined(separator: " ")) }
                    throw BuiltinError("unknown option \(name)", notes: notes, argument: i)
                }
                if let valueName = opt.value {
                    if let inlineValue {
                        p.options[opt.name] = .string(inlineValue)
                        p.valueIndex[opt.name] = i
                        p.allValues[opt.name, default: []].append((.string(inlineValue), i))
                    } else if i + 1 < args.count, !opt.valueOptional || Self.looksLikePath(args[i + 1]) {
                        p.options[opt.name] = args[i + 1]
                        p.valueIndex[opt.name] = i + 1
                        p.allValues[opt.name, default: []].append((args[i + 1], i + 1))
                        i += 1
                    } else if opt.valueOptional {
                        p.flags.insert(opt.name)
                    } else {
                        throw BuiltinError("\(opt.name) needs a value (\(valueName))", argument: i)
                    }
                } else {
                    p.flags.insert(opt.name)
                }
                i += 1
                continue
            }
            if let n = spec.commandAfterPositionals, p.positionals.count >= n {
                p.command = Array(args[i...])
                p.commandIndex = i
                break
            }
            p.positionals.append((v, i))
            i += 1
        }
        return p
    }

    /// An optional option value is taken only when it reads as a path.
    static func looksLikePath(_ v: Value) -> Bool {
        guard case .string(let s) = v else { return false }
        return s.hasPrefix("/") || s.hasPrefix("./") || s.hasPrefix("../") || s.hasPrefix("~")
    }

    // MARK: typed arguments

    public func namespace(_ v: Value, argument: Int?) throws -> Namespace {
        switch v {
        case .namespace(let ns): return ns
        case .process(let p):
            do { return try p.namespace() } catch { throw BuiltinError("\(error)", argument: argument) }
        case .integer, .string:
            let s = Printer.string(v)
            if let pid = Int32(s) {
                do { return try Namespace.of(pid: pid) } catch { throw BuiltinError("\(error)", argument: argument) }
            }
            if s.hasPrefix("pid:["), let inode = ProcFiles.inode(fromLink: s),
               let ns = session.namespaces.first(where: { $0.inode == inode }) {
                return ns
            }
            throw BuiltinError("expected a namespace, a process or a PID, got \(Printer.describe(v))", argument: argument)
        default:
            throw BuiltinError("expected a namespace, a process or a PID, got \(Printer.describe(v))", argument: argument)
        }
    }

    /// `transient`: the handle serves this command only (see ProcessHandle.observe).
    public func process(_ v: Value, argument: Int?, transient: Bool = false) throws -> ProcessHandle {
        switch v {
        case .process(let p): return p
        case .integer, .string:
            guard let pid = Int32(Printer.string(v)), pid > 0 else {
                throw BuiltinError("expected a process or a PID, got \(Printer.describe(v))", argument: argument)
            }
            if let known = session.children.first(where: { $0.pid == pid }) { return known }
            do { return try ProcessHandle.observe(pid: pid, transient: transient) } catch { throw BuiltinError("\(error)", argument: argument) }
        default:
            throw BuiltinError("expected a process or a PID, got \(Printer.describe(v))", argument: argument)
        }
    }

    public func integer(_ v: Value, argument: Int?, what: String) throws -> Int {
        guard let n = Printer.integer(v) else {
            throw BuiltinError("\(what) must be a number, got \(Printer.describe(v))", argument: argument)
        }
        return n
    }

    /// Spawns a program with this call's I/O. When output must pass through pidsh (a
    /// capture, stable ids), a process that is waited for writes into a pipe pidsh reads;
    /// a process left running writes to the session's real output.
    public func spawnProgram(_ words: [Value], configure: (inout SpawnOptions) throws -> Void, wait: Bool,
                             argument: Int?) throws -> (ProcessHandle, ExitStatus?) {
        let argv = words.map(Printer.string)
        guard let name = argv.first else { throw BuiltinError("a command to run is missing") }
        var opts = SpawnOptions(path: name, arguments: argv)
        try configure(&opts)
        // A child that enters another filesystem (a container's) finds its program
        // there (Spawner); pidsh's own files say nothing about it.
        if opts.namespaces.join?.entersOtherFilesystem != true {
            switch ProgramLookup.find(name, notFound: "command not found: \(name) (not on $PATH)") {
            case .program(let found): opts.path = found
            case .refused(let why, let status): throw BuiltinError(why, argument: argument, status: status)
            }
        }
        // A program left running writes to the session's real output.
        let background = (out: interpreter.backgroundOutput?.out ?? interpreter.out.descriptor ?? 1,
                          err: interpreter.backgroundOutput?.err ?? interpreter.err.descriptor ?? 2)
        let outputs = wait ? try JobOutputs(output: io.out.jobRoute, error: io.err.errorRoute(beside: io.out))
            : try JobOutputs(output: .direct(io.out.directDescriptor ?? background.out),
                             error: .direct(io.err.directDescriptor ?? background.err))
        // clone(2) keeps the child in pidsh's process group, and so does a script. Only the
        // REPL puts a background program in a group of its own, for job control: a ^C at
        // the prompt is for the foreground job, not for what runs in the background.
        if !wait && interpreter.options.interactive { opts.newProcessGroup = true }
        opts.awaitExecVisible = !wait
        opts.waitedAtOnce = wait
        let proc = try outputs.spawn(opts, input: io.stdin, in: session)
        guard wait else { return (proc, nil) }
        let status: ExitStatus
        do {
            // Only the status is returned: the handle's fields are never read again.
            status = try proc.waitForeground(capturingFields: false, namespaceInit: opts.newPIDNamespace)
        } catch let e as Interrupted {
            _ = OwnSignals.takePending()
            throw e
        }
        try OwnSignals.stopIfPending(after: [status])
        return (proc, status)
    }
}
