import PidshSystem

/// What the command line asked for.
public struct LaunchConfiguration {
    public var scriptPath: String?
    public var code: String?
    public var arguments: [String] = []
    public var options = InterpreterOptions()
    public var sharedMounts = false
    public var noColor = false
    /// `-n`/`--check`: parse, report syntax errors, run nothing (no session either).
    public var checkOnly = false
    /// `--own-pid-namespace`: rootless, be PID 1 of a PID namespace of its own from the
    /// start even when the script does not name setns/unshare/source.
    public var ownPIDNamespace = false
    /// Mark each top-level statement in the output (for `pidsh test`, which asks by
    /// setting PIDSH_STATEMENT_MARKS=1; see `statementMarksRequested`).
    public var statementMarks = false
    /// `--no-subreaper`: orphans go where the kernel sends them (PID 1), not to pidsh.
    public var subreaper = true
    public init() {}
}

/// Runs pidsh the three ways a command line can ask for: a script file, `-c CODE`,
/// stdin that is not a terminal, or the REPL. Returns the process exit code.
public enum Launcher {
    public static func run(_ config: LaunchConfiguration) -> Int32 {
        if config.checkOnly { return check(config) }
        let interactive = config.scriptPath == nil && config.code == nil && FileIO.isTerminal(0)
        // The script is read and parsed before the session starts: a rootless pidsh
        // chooses its PID namespace by what the script uses (ChildrenNamespaceUse).
        var script: (source: SourceFile, parsed: (statements: [Statement], diagnostics: [Diagnostic]))?
        if !interactive {
            guard let source = readScript(config) else { return ExitCode.usage }
            script = (source, Parser.parse(source))
        }
        UserHome.lookUpFallback()
        ResourceLimits.raiseDescriptorLimit()
        // Before the session's first fork: a signal from now on is pidsh's to handle.
        OwnSignals.install()
        SessionCgroup.pidshJoins = CgroupUse.pidshJoins(script?.source, statements: script?.parsed.statements)
        let session: Session
        switch startSession(config, interactive: interactive, statements: script?.parsed.statements) {
        case .started(let s): session = s
        case .failed(let code): return code
        }
        var options = config.options
        // NO_COLOR counts when set and not empty (no-color.org).
        options.color = FileIO.isTerminal(2) && (FileIO.environment("NO_COLOR") ?? "").isEmpty && !config.noColor
        options.interactive = interactive
        let interpreter = Interpreter(session: session, options: options)
        interpreter.scriptArguments = config.arguments
        if options.step { interpreter.stepper = Stepper(interpreter: interpreter).pause }
        if config.statementMarks || statementMarksRequested() { interpreter.statementMarks = 1 }

        var code: Int32
        if let script {
            if config.code != nil { interpreter.scriptName = "pidsh" }
            else if let path = config.scriptPath { interpreter.scriptName = path }
            code = interpreter.run(script.source, parsed: script.parsed).exitCode
        } else {
            code = Repl(interpreter: interpreter).run()
        }
        let failures = interpreter.close()
        for f in failures { FileIO.writeAll(2, "pidsh: clean-up: \(f)\n") }
        SessionSetup.finish()
        return code
    }

    enum SessionStart {
        case started(Session)
        case failed(Int32)
    }

    /// The session a run needs: none at all for a script that only computes and prints
    /// (SessionUse); otherwise the namespaces, the janitor, the cgroup and the subreaper
    /// role, as the options ask.
    static func startSession(_ config: LaunchConfiguration, interactive: Bool, statements: [Statement]?) -> SessionStart {
        // As bash sets $BASH: scripts can start another pidsh (`$PIDSH -c ...`) even
        // when it is not on $PATH (e.g. under `swift run`).
        FileIO.setEnvironment("PIDSH", SessionSetup.executablePath)
        let asked = interactive || config.sharedMounts || !config.subreaper || config.ownPIDNamespace
        guard asked || statements.map({ SessionUse.needed($0, root: SessionSetup.isRoot) }) ?? true else {
            return .started(Session(mounts: MountLog(sharedMounts: false, journalPath: nil)))
        }
        let ownPIDNamespace = config.ownPIDNamespace || interactive
            || (statements.map { ChildrenNamespaceUse.mayMoveChildren($0) } ?? true)
        do {
            try SessionSetup.enter(privateMounts: !config.sharedMounts, ownPIDNamespace: ownPIDNamespace)
        } catch {
            FileIO.writeAll(2, "pidsh: cannot start a session: \(error)\n")
            return .failed(ExitCode.startupFailed)
        }
        // After the janitor started: the journal is handed to it.
        let journal = config.sharedMounts ? journalPath() : nil
        let session = Session(mounts: MountLog(sharedMounts: config.sharedMounts, journalPath: journal))
        session.containsInCgroup = true
        session.requestCgroup()
        if config.subreaper {
            session.becomeSubreaper()
        } else if let why = Self.subreaperRefusal(session) {
            FileIO.writeAll(2, "pidsh: --no-subreaper: \(why)\n")
            SessionSetup.finish()
            return .failed(ExitCode.usage)
        }
        return .started(session)
    }

    /// `pidsh test` asks a run to mark its statements through the environment, not the
    /// command line (which scripts show: `ns list`, `ps`). The variable is removed at
    /// once, so a pidsh the script starts (`$PIDSH -c ...`) marks nothing.
    static func statementMarksRequested() -> Bool {
        guard let v = FileIO.environment(RunOutput.markVariable) else { return false }
        FileIO.unsetEnvironment(RunOutput.markVariable)
        return v == "1"
    }

    /// `pidsh -n FILE`: the whole script is parsed and every syntax error reported.
    nonisolated(unsafe) private static var checkedScript: [Statement] = []

    static func check(_ config: LaunchConfiguration) -> Int32 {
        guard let source = readScript(config) else { return ExitCode.usage }
        let (statements, diagnostics) = Parser.parse(source)
        for d in diagnostics.sorted(by: { $0.location.offset < $1.location.offset }) {
            FileIO.writeAll(2, DiagnosticRenderer.render(d, source: source) + "\n")
        }
        // pidsh exits next: freeing a large script's syntax tree node by node would
        // cost about as much as parsing it (docs/performance.md).
        checkedScript = statements
        return diagnostics.isEmpty ? ExitCode.success : ExitCode.syntaxError
    }

    /// Why `--no-subreaper` cannot apply, or nil (it can: orphans go to PID 1, and the
    /// session's cgroup still finds them at the end).
    static func subreaperRefusal(_ session: Session) -> String? {
        if SessionSetup.placement == .rootlessInOwnNamespace || FileIO.processID == 1 {
            return "pidsh is PID 1 of its own PID namespace here (as a normal user, when the script names setns, unshare or source, or with --own-pid-namespace), so the kernel re-parents every orphan of that namespace to pidsh whatever it does"
        }
        if !session.ensureCgroup() {
            return "without being a subreaper pidsh would lose sight of the orphans of its programs, and it may not make a cgroup of its own here (cgroup v2, writable: as root) to find them at the end; run as root, or keep the subreaper"
        }
        return nil
    }

    /// The script of a command line: `-c CODE`, FILE, or stdin; nil (after saying why)
    /// when it cannot be read or is larger than `Limits.scriptBytes`.
    static func readScript(_ config: LaunchConfiguration) -> SourceFile? {
        if let text = config.code { return SourceFile(name: "-c", text: text) }
        if let path = config.scriptPath {
            do {
                return SourceFile(name: path, bytes: try FileIO.readFile(path, limit: Limits.scriptBytes))
            } catch {
                FileIO.writeAll(2, "pidsh: cannot read script: \(error)\n")
                return nil
            }
        }
        guard let bytes = FileIO.readAll(fd: 0, limit: Limits.scriptBytes) else {
            FileIO.writeAll(2, "pidsh: cannot read script: standard input gives more than \(Limits.describeBytes(Limits.scriptBytes))\n")
            return nil
        }
        return SourceFile(name: "<stdin>", bytes: bytes)
    }

    static func journalPath() -> String? {
        guard SessionSetup.isRoot else { return nil }
        FileIO.makeDirectory(SessionSetup.journalDirectory, mode: 0o700)
        return SessionSetup.journalDirectory + "/\(FileIO.processID).journal"
    }
}

extension Launcher {
    /// `pidsh cleanup`: undoes the journals of --shared-mounts runs that are gone.
    public static func cleanup() -> Int32 {
        var status: Int32 = 0
        var undone = 0
        for name in FileIO.directoryEntries(SessionSetup.journalDirectory) where name.hasSuffix(".journal") {
            let pidText = name.dropLast(".journal".count)
            guard let pid = Int32(pidText) else { continue }
            if FileIO.processExists(pid) {
                FileIO.writeAll(1, "pidsh cleanup: run \(pid) is still alive; leaving its mounts\n")
                continue
            }
            let path = SessionSetup.journalDirectory + "/" + name
            FileIO.writeAll(1, "pidsh cleanup: run \(pid) is gone; undoing its journal \(path)\n")
            // Newest first, and only what is still there and still what was recorded (its
            // janitor may have undone part of it before it was killed too).
            let failures = MountJournal.undo(MountJournal.read(path)) { FileIO.writeAll(1, $0 + "\n") }
            if failures.isEmpty { try? FileIO.removeFile(path) }
            for f in failures { FileIO.writeAll(2, "pidsh cleanup: \(f)\n"); status = 1 }
            undone += 1
        }
        // The processes of runs gone with their janitor, in the session's cgroup.
        let failures = SessionCgroup.cleanUpStale { FileIO.writeAll(1, "pidsh cleanup: " + $0 + "\n"); undone += 1 }
        for f in failures { FileIO.writeAll(2, "pidsh cleanup: \(f)\n"); status = 1 }
        if undone == 0 { FileIO.writeAll(1, "pidsh cleanup: nothing left behind\n") }
        return status
    }
}
