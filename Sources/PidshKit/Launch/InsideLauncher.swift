import PidshSystem

/// `pidsh --inside` (hidden): a pidsh started by `inside NS { ... }` as a member of NS,
/// with its request on descriptor 3 (InsideRequest). It runs the block in a session of
/// its own, sends back the result (InsideResult), and stays while processes it handed
/// back run. Its exit code is the block's status.
extension Launcher {
    public static func runInside() -> Int32 {
        let request: InsideRequest
        do {
            guard let doc = try TransferChannel.receive(on: InsideMember.channel) else { return ExitCode.startupFailed }
            request = try InsideRequest.read(doc)
        } catch {
            FileIO.writeAll(2, "pidsh: inside: \(error)\n")
            return ExitCode.startupFailed
        }
        InsideMember.adoptJanitor(request.janitor)
        do {
            try SessionSetup.enter(privateMounts: true, ownPIDNamespace: false)
        } catch {
            FileIO.writeAll(2, "pidsh: inside: cannot start a session: \(error)\n")
            return ExitCode.startupFailed
        }
        OwnSignals.install()
        FileIO.setEnvironment("PIDSH", SessionSetup.executablePath)
        let session = Session(mounts: MountLog())
        session.becomeSubreaper()
        var options = InterpreterOptions()
        options.trace = request.trace
        options.narrate = request.narrate
        let interpreter = Interpreter(session: session, options: options)
        interpreter.scriptName = request.scriptName
        interpreter.scriptArguments = request.positional
        interpreter.backgroundOutput = (request.backgroundOut, request.backgroundErr)
        for (name, value) in request.variables { interpreter.setVariable(name, value) }
        let code = runBlock(request, interpreter)
        interpreter.close()
        SessionSetup.finish()
        return code
    }

    /// Parses exactly the block's text (located as in the script) and runs it; sends
    /// the result and lingers while handed-back processes run.
    static func runBlock(_ request: InsideRequest, _ interpreter: Interpreter) -> Int32 {
        let file = SourceFile(name: request.fileName, bytes: request.source)
        let t = request.text
        var parser = Parser(lexer: Lexer(source: file, start: t.start, end: t.end, line: t.line, lineStart: t.lineStart))
        let statements = parser.parseScript()
        let code = interpreter.run(file, parsed: (statements, parser.diagnostics)).exitCode
        let values = request.wanted.compactMap { name in interpreter.variable(name).map { (name, $0) } }
        let keep = values.flatMap { liveChildren(in: $0.1) }
        let result = InsideResult(status: code, lingers: !keep.isEmpty, variables: values)
        do {
            try TransferChannel.send(result.document(), on: InsideMember.channel)
        } catch {
            return code
        }
        if !keep.isEmpty { InsideMember.linger(keeping: keep) }
        return code
    }

    /// Processes of this session a value holds that still run (they die with it).
    static func liveChildren(in v: Value) -> [ProcessHandle] {
        switch v {
        case .process(let p): return p.isChild && p.isRunning ? [p] : []
        case .namespace(let ns): return ns.initProcess.map { liveChildren(in: .process($0)) } ?? []
        case .list(let items): return items.flatMap(liveChildren)
        default: return []
        }
    }
}
