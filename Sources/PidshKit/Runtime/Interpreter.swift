import Glibc
import PidshSystem

/// Options that change how a session runs and prints.
public struct InterpreterOptions {
    public var stableIds = false
    public var trace = false
    public var narrate = false
    public var step = false
    /// Interactive REPL: bare command values print, errors don't end the session.
    public var interactive = false
    public var color = false
    public init() {}
}

/// The pidsh language, runnable from Swift. One interpreter is one session: it owns
/// every process, namespace and mount its scripts make, and `close()` tears them down.
/// It must be used from one thread (unshare/setns act on the calling thread).
public final class Interpreter {
    public let session: Session
    public var options: InterpreterOptions
    public let ids: StableIds
    public let globals = Scope(parent: nil)
    var scope: Scope
    public internal(set) var functions: [String: UserCommand] = [:]
    public let builtins: BuiltinTable
    /// `$?` as a number.
    public internal(set) var lastStatus: Int32 = 0
    public var scriptArguments: [String] = [] { didSet { positional = scriptArguments } }
    /// $1..$9: the script's arguments, or a def's inside it.
    var positional: [String] = []
    public var scriptName = "pidsh"
    public var out: OutputSink
    public var err: OutputSink
    /// The fd external commands read when not redirected.
    public var stdinFD: Int32 = 0
    /// Sources by name, to show caret excerpts for errors.
    public internal(set) var sources: [String: SourceFile] = [:]
    /// `source` depth, to stop a file sourcing itself forever.
    var sourceDepth = 0
    var callDepth = 0
    /// When set, pauses before each statement (`--step`); it throws to stop the script.
    public var stepper: ((Statement, SourceFile?) throws -> Void)?
    /// For `pidsh test` (PIDSH_STATEMENT_MARKS=1): before each top-level statement of the
    /// script, a mark with its index goes to this descriptor, in order with everything
    /// else printed there, so the runner can tell which statement printed what.
    public var statementMarks: Int32?
    /// `trap SIG { ... }`: the block to run when SIG arrives, by signal number.
    var traps: [Int32: (body: [Statement], location: SourceLocation)] = [:]
    /// Literal commands resolved before, by their place in the source (LiteralCommands).
    var literalCommands: [LiteralCommand.Key: LiteralCommand] = [:]
    /// A trap's block is running (a signal arriving meanwhile waits for it to end).
    var runningTrap = false
    /// Where a program left running writes, when not where the interpreter writes: a
    /// pidsh started by `inside` has its output in a pipe the outer pidsh reads until
    /// the block ends, and gets the outer one's own output for those.
    public var backgroundOutput: (out: Int32, err: Int32)?
    /// pidsh processes started by `inside` that stay to keep alive the processes their
    /// block handed back; their channel stays open while they run (its end tells them
    /// to go).
    var insideKept: [InsideProcess] = []

    public init(session: Session = Session(), options: InterpreterOptions = InterpreterOptions(),
                out: OutputSink? = nil, err: OutputSink? = nil) {
        self.session = session
        self.options = options
        self.ids = StableIds(enabled: options.stableIds)
        self.out = out ?? OutputSink(.descriptor(1), ids: nil)
        self.err = err ?? OutputSink(.descriptor(2), ids: nil)
        self.scope = globals
        self.builtins = BuiltinTable.standard
        // Sinks made by the caller learn the id rewriter here.
        self.out = OutputSink(self.out.target, ids: ids)
        self.err = OutputSink(self.err.target, ids: ids)
        ids.knowPid(FileIO.processID)
        ids.knowPid(FileIO.parentProcessID)
        if ids.enabled { for t in NamespaceType.allCases { ids.knowInode(Namespace.ownInode(t)) } }
        session.onNewProcess = { [weak self] p in
            // Its host PID and its namespaces' inodes vary from run to run; the PIDs
            // inside new namespaces (1, 2, 3...) do not, so they stay as they are. The
            // PID namespace of a PID 1 just started (pidsh's init, a --newpid program)
            // is new, whatever its inode was used for before.
            self?.ids.knowPid(p.pid)
            // Only --stable-ids uses the inodes; readlinks per spawn cost otherwise.
            guard self?.ids.enabled == true else { return }
            for t in NamespaceType.allCases {
                guard let inode = ProcFiles.readLink("/proc/\(p.pid)/ns/\(t.procName)").flatMap(ProcFiles.inode(fromLink:)) else { continue }
                if t == .pid && p.nspid == 1 && inode != Namespace.ownInode { self?.ids.knowNewInode(inode) } else { self?.ids.knowInode(inode) }
            }
        }
        session.onNewNamespace = { [weak self] ns in self?.ids.knowInode(ns.inode) }
        if options.trace { session.tracer = TraceWriter(interpreter: self) }
    }

    /// An interpreter whose output and errors are captured in memory (embedding, tests).
    public static func capturing(options: InterpreterOptions = InterpreterOptions()) -> Interpreter {
        Interpreter(options: options, out: OutputSink(.buffer), err: OutputSink(.buffer))
    }

    // MARK: running source text

    public enum Outcome: Equatable {
        case success
        case syntaxErrors(Int)
        case runtimeError
        case expectFailed
        case exit(Int32)
        case interrupted(Int32)
        /// Standard output's reader went away (see `BrokenPipe`).
        case brokenPipe

        /// The process exit code pidsh uses for it (documented in docs/language.md).
        public var exitCode: Int32 {
            switch self {
            case .success: return ExitCode.success
            case .syntaxErrors: return ExitCode.syntaxError
            case .runtimeError: return ExitCode.runtimeError
            case .expectFailed: return ExitCode.expectFailed
            case .exit(let c): return c
            case .interrupted(let s): return 128 + s
            case .brokenPipe: return 128 + SIGPIPE
            }
        }
    }

    /// Parses the whole text, then runs it. Errors are printed (located) to `err`.
    @discardableResult
    public func run(_ text: String, name: String = "<string>") -> Outcome {
        run(SourceFile(name: name, text: text))
    }

    /// `parsed`: the parser's result for `source` when the caller already has it.
    @discardableResult
    public func run(_ source: SourceFile, parsed: (statements: [Statement], diagnostics: [Diagnostic])? = nil) -> Outcome {
        sources[source.name] = source
        let (statements, diagnostics) = parsed ?? Parser.parse(source)
        if !diagnostics.isEmpty {
            report(diagnostics.sorted { $0.location.offset < $1.location.offset })
            return .syntaxErrors(diagnostics.count)
        }
        guard let marks = statementMarks else { return execute(statements) }
        return execute(statements) { index in FileIO.writeAll(marks, RunOutput.mark(index)) }
    }

    /// Runs parsed statements, turning what stops them into an outcome. `before` is
    /// called with each statement's index before it runs.
    public func execute(_ statements: [Statement], before: ((Int) -> Void)? = nil) -> Outcome {
        do {
            if let before {
                for (i, s) in statements.enumerated() { before(i); try runStatement(s) }
            } else {
                try runBlock(statements)
            }
            try runArrivedTraps()
            session.reapFinished()
            return .success
        } catch let e as ExitRequest {
            return .exit(e.code)
        } catch {
            return handleTopLevel(error)
        }
    }

    func handleTopLevel(_ error: Error) -> Outcome {
        switch error {
        case let e as ExpectationFailed:
            report([e.diagnostic])
            lastStatus = ExitCode.expectFailed
            return .expectFailed
        case let e as Interrupted:
            // At the prompt a Ctrl-C (or ^\) needs no words; a script, or a session
            // that ends, says why it stopped.
            err.write(options.interactive && OwnSignals.belongsToForegroundJob(e.signal) ? "\n" : "pidsh: \(e)\n")
            lastStatus = 128 + e.signal   // as sh: 130 after a ^C, at the prompt too
            return .interrupted(e.signal)
        case let e as ExitRequest:
            return .exit(e.code)
        case is BrokenPipe:
            return .brokenPipe
        case let e as CommandFailed where options.interactive && e.plainFailure:
            // At the prompt a program that merely exited non-zero (`false`, a grep
            // that found nothing) shows its status in the next prompt, not an error.
            lastStatus = e.status
            return .runtimeError
        default:
            report([diagnostic(for: error, at: nil)])
            lastStatus = (error as? RuntimeError)?.status ?? (error as? CommandFailed)?.status ?? 1
            return .runtimeError
        }
    }

    /// Prints diagnostics with their caret excerpts.
    public func report(_ diagnostics: [Diagnostic]) {
        for d in diagnostics {
            err.write(DiagnosticRenderer.render(d, source: sources[d.location.file], color: options.color) + "\n")
        }
        // An error that cannot be shown (stderr full or closed) is still an error; its
        // failed write is no fault of the next command.
        _ = err.takeFailure()
    }

    /// Fails the command (`what`, at `location`) that wrote to a sink whose write
    /// failed: with the errno and the target, or quietly when a pipe's reader is gone.
    func checkWrites(_ sinks: [OutputSink], by what: String, at location: SourceLocation) throws {
        for sink in sinks {
            guard let failure = sink.takeFailure() else { continue }
            let prefix = what.isEmpty ? "" : "\(what): "
            switch failure {
            case .system(EPIPE):
                throw BrokenPipe(location: location)
            case .system(let e):
                // A kernel that refuses a redirection's file (EACCES from a /proc file)
                // gets the caret on that file.
                throw RuntimeError(sink.redirection ?? location, prefix + "\(SystemError(errnoValue: e, "write to \(sink.name)"))")
            case .tooLarge:
                throw RuntimeError(location, prefix + "output larger than \(Limits.describeBytes(Limits.captureBytes)), more than `$(...)` or `let` captures")
            }
        }
    }

    func diagnostic(for error: Error, at fallback: SourceLocation?) -> Diagnostic {
        let loc = fallback ?? SourceLocation(file: scriptName, line: 0, column: 0)
        switch error {
        case let e as RuntimeError: return e.diagnostic
        case let e as CommandFailed: return e.diagnostic
        case let e as ExpectationFailed: return e.diagnostic
        case let e as Diagnostic: return e
        default: return Diagnostic(loc, "\(error)")
        }
    }

    /// Ends the session: kills every process, undoes every mount. Returns what it
    /// could not undo.
    @discardableResult
    public func close() -> [String] {
        removeTraps()
        return session.tearDown()
    }

    // MARK: variables

    public func variable(_ name: String) -> Value? { scope.lookup(name) }
    public func setVariable(_ name: String, _ value: Value) { scope.assign(name, value) }
    public var variableNames: [String] { scope.allNames }

    /// Where on the stack running began (0: not running). Nesting at run time —
    /// blocks inside defs calling defs — is bounded by the stack it uses, not by a
    /// count: a script must end with a located error, never a stack overflow.
    var stackBase: UInt = 0
    /// How much stack statements may use below `stackBase` (the main thread has 8 MiB
    /// on Linux; the rest is head-room for one statement's own evaluation).
    static let stackBudget: UInt = 6 << 20

    static func stackAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    /// Throws a located error when running has nested too deeply. The location is an
    /// autoclosure: it is needed only then, and copying it costs every statement.
    func checkStack(at location: @autoclosure () -> SourceLocation) throws {
        let here = Self.stackAddress()
        if stackBase == 0 || here > stackBase { stackBase = here; return }
        if stackBase - here > Self.stackBudget {
            throw RuntimeError(location(), "nested too deeply at run time (blocks inside defs calling defs used \(Self.stackBudget >> 20) MiB of stack): stopping")
        }
    }

    /// Checks SIGINT/SIGTERM between statements.
    func checkInterrupt() throws {
        let sig = OwnSignals.takePending()
        if sig != 0 { throw Interrupted(signal: sig) }
    }
}
