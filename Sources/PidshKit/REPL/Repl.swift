import PidshSystem

/// The interactive shell: reads (multi-line) input, runs it, prints values and located
/// errors, and goes on. Ctrl-D on an empty line leaves, tearing the session down.
public final class Repl {
    let interpreter: Interpreter
    /// Every line typed so far, so `<repl>:LINE:COL` and caret excerpts refer to it.
    var transcript = ""
    var lineCount = 0

    public init(interpreter: Interpreter) { self.interpreter = interpreter }

    public func run() -> Int32 {
        let env = Dictionary(currentEnvironment().compactMap { entry -> (String, String)? in
            guard let eq = entry.firstIndex(of: "=") else { return nil }
            return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }, uniquingKeysWith: { a, _ in a })
        let editor = makeEditor(env)
        interpreter.out.write("pidsh: see and steer PID namespaces. `help` lists the commands; Ctrl-D leaves.\n")
        var exitCode: Int32 = 0
        var pending = ""
        var pendingStartLine = 1
        loop: while true {
            let prompt = pending.isEmpty ? promptText(env) : continuationPrompt()
            let (input, stopped) = readLine(editor, prompt: prompt)
            if let stopped {
                exitCode = stopped
                break loop
            }
            switch input {
            case .stopped:
                continue
            case .interrupted, .endOfFile:
                // Ctrl-D on an empty line leaves. Ctrl-C drops the line or the unfinished
                // entry; so does Ctrl-D in a continuation (the editor already moved to a
                // fresh line). Dropped lines are not numbered: `<repl>:LINE` counts the
                // lines that were run, so the excerpts of later errors show the right line.
                if input == .endOfFile && pending.isEmpty { break loop }
                if !pending.isEmpty { lineCount = pendingStartLine - 1 }
                pending = ""
                continue
            case .line(let line):
                if pending.isEmpty { pendingStartLine = lineCount + 1 }
                pending += line + "\n"
                lineCount += 1
            }
            let startOffset = transcript.utf8.count
            let candidate = transcript + pending
            let source = SourceFile(name: "<repl>", text: candidate)
            var parser = Parser(lexer: Lexer(source: source, start: startOffset, line: pendingStartLine, lineStart: startOffset))
            let statements = parser.parseScript()
            let diagnostics = parser.diagnostics
            if let open = diagnostics.first(where: { $0.isIncompleteInput }) {
                // An open block, quote or `\`: read more. Blank lines do not end it (a
                // string or a block may hold them); the second in a row says what is open.
                if pending.hasSuffix("\n\n\n") && !pending.hasSuffix("\n\n\n\n") {
                    interpreter.err.write("pidsh: still reading: \(open.message); Ctrl-C drops the entry\n")
                }
                continue
            }
            transcript = candidate
            interpreter.sources["<repl>"] = source
            let entry = String(pending.dropLast())
            pending = ""
            if !entry.trimmingSpaces().isEmpty { editor.addHistory(entry) }
            if !diagnostics.isEmpty {
                interpreter.report(diagnostics.sorted { $0.location.offset < $1.location.offset })
                continue
            }
            if let code = execute(statements) {
                exitCode = code
                break loop
            }
        }
        if let error = editor.saveHistory() {
            // A full disk or a read-only home: the new entries are lost, and the user is told.
            interpreter.err.write("pidsh: history not saved: \(error)\n")
        }
        if let goodbye = teardownSummary() { interpreter.err.write(goodbye + "\n") }
        return exitCode
    }

    /// The line editor with its history and completion. A history file that cannot be
    /// used (a device, too large, a missing home) is said once; the session runs without.
    func makeEditor(_ env: [String: String]) -> LineEditor {
        let history = History(path: LineEditors.defaultHistoryPath(environment: env), maxEntries: 1000,
                              base: LineEditors.historyBase(environment: env))
        if let problem = history.problem { interpreter.err.write("pidsh: no history this session: \(problem)\n") }
        let editor = LineEditors.make(history: history)
        let completer = Completer(interpreter: interpreter)
        editor.completer = { line, start, word in completer.complete(line: line, wordStart: start, word: word) }
        return editor
    }

    /// One line of input, or the exit code when a signal at the prompt ends the
    /// session (`OwnSignals` says which; SIGINT only drops the line), torn down as at
    /// Ctrl-D. Also a signal that came with the end of input: a closed terminal sends
    /// SIGHUP, and then every read ends.
    func readLine(_ editor: LineEditor, prompt: String) -> (LineInput, stopped: Int32?) {
        let input = editor.readLine(prompt: prompt)
        OwnSignals.install()
        let signal = OwnSignals.takePending()
        guard signal != 0 && OwnSignals.endsSession(signal, duringCommand: false) else { return (input, nil) }
        interpreter.err.write("pidsh: \(Interrupted(signal: signal))\n")
        return (input, 128 + signal)
    }

    /// Runs one entry; the exit code when it ends the session (`exit`, a signal other
    /// than ^C or ^\, already reported by the interpreter).
    func execute(_ statements: [Statement]) -> Int32? {
        switch interpreter.execute(statements) {
        case .exit(let code): return code
        case .interrupted(let signal) where OwnSignals.endsSession(signal, duringCommand: true): return 128 + signal
        default: return nil
        }
    }

    /// What leaving tears down, when anything of the session is alive: its namespaces
    /// (with their inits), its other processes and its mounts.
    func teardownSummary() -> String? {
        let session = interpreter.session
        session.reapFinished()
        let namespaces = session.namespaces.filter { $0.initProcess?.isRunning ?? false }
        let inits = Set(namespaces.compactMap { $0.initProcess?.pid })
        let processes = session.children.filter { $0.isRunning && !inits.contains($0.pid) }
        let mounts = session.mounts.mountedPaths
        func counted(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        var parts: [String] = []
        if !namespaces.isEmpty {
            let each = namespaces.map { "\($0.id) with init \($0.initProcess.map { String($0.pid) } ?? "?")" }
            parts.append(counted(namespaces.count, "namespace", "namespaces") + " (" + each.joined(separator: ", ") + ")")
        }
        if !processes.isEmpty {
            let noun = namespaces.isEmpty ? ("process", "processes") : ("more process", "more processes")
            parts.append(counted(processes.count, noun.0, noun.1) + " (" + processes.map { String($0.pid) }.joined(separator: ", ") + ")")
        }
        if !mounts.isEmpty {
            parts.append(counted(mounts.count, "mount", "mounts") + " (" + mounts.joined(separator: ", ") + ")")
        }
        guard let last = parts.popLast() else { return nil }
        let listed = parts.isEmpty ? last : parts.joined(separator: ", ") + " and " + last
        return "pidsh: leaving; tearing down " + listed
    }

    /// `pidsh>`, or a marker of where pidsh's next children go; PIDSH_PROMPT overrides.
    func promptText(_ env: [String: String]) -> String {
        if let custom = env["PIDSH_PROMPT"] { return custom }
        let marker: String
        switch interpreter.session.childrenTarget {
        case .own: marker = ""
        case .unshared: marker = "[unshared]"
        case .joined(let inode): marker = "[→pid:[\(inode)]]"
        }
        // The last status when it was not 0, first (as fish shows `[1]`), so that the
        // prompt still ends in `pidsh> `.
        let status = interpreter.lastStatus == 0 ? "" : "[\(interpreter.lastStatus)] "
        let text = "\(status)pidsh\(marker)> "
        guard interpreter.options.color else { return text }
        let shownStatus = status.isEmpty ? "" : "\u{1}\u{1B}[31m\u{2}[\(interpreter.lastStatus)]\u{1}\u{1B}[0m\u{2} "
        return shownStatus + "\u{1}\u{1B}[1;36m\u{2}pidsh\(marker)>\u{1}\u{1B}[0m\u{2} "
    }

    func continuationPrompt() -> String { "....> " }
}

/// `--step`: shows each statement before it runs and, on a terminal, waits: Enter runs
/// it, `q` quits the script there as `exit` would, Ctrl-C stops it as a SIGINT does.
final class Stepper {
    unowned let interpreter: Interpreter
    init(interpreter: Interpreter) { self.interpreter = interpreter }

    func pause(_ statement: Statement, _ source: SourceFile?) throws {
        let loc = statement.location
        let text = source?.lineText(loc.line).trimmingSpaces() ?? ""
        interpreter.out.write("[\(loc.file):\(loc.line)] \(text)\n")
        guard FileIO.isTerminal(0) else { return }
        interpreter.err.write("  (Enter runs it, q quits, Ctrl-C stops) ")
        var answer: [UInt8] = []
        var byte: [UInt8] = [0]
        // pidsh's SIGINT handler does not restart the read: a ^C ends it at once.
        while FileIO.readByte(0, &byte) && byte[0] != 10 { answer.append(byte[0]) }
        let signal = OwnSignals.takePending()
        if signal != 0 {
            interpreter.err.write("\n")
            throw Interrupted(signal: signal)
        }
        if String(decoding: answer, as: UTF8.self).trimmingSpaces() == "q" {
            throw ExitRequest(code: interpreter.lastStatus)
        }
    }
}
