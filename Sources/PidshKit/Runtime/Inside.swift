import PidshSystem

/// `inside NS|PROCESS { ... }`: the block runs in a new pidsh that is a member of that
/// PID namespace (InsideProcess), so its builtins act from inside: `kill -KILL 1` is a
/// kill from the init's own namespace, `ps` numbers as the namespace does. It gets the
/// block's text and the values the block reads; it gives back `$?` and the variables
/// the block sets, processes and namespaces as handles (pidfds, namespace fds).
extension Interpreter {
    func runInside(target: Word, body: [Statement], text: BlockText, location: SourceLocation) throws {
        let values = try expand(target)
        guard values.count == 1 else {
            throw RuntimeError(target.location, "`inside` needs one namespace or process, the word gave \(values.count) values")
        }
        let namespace = try insideNamespace(values[0], at: target.location)
        guard let source = sources[location.file] else {
            throw RuntimeError(location, "inside: the text of \(location.file) is not at hand")
        }
        let use = VariableUse(body)
        var request = InsideRequest(fileName: source.name, source: source.bytes, text: text, scriptName: scriptName,
                                    positional: positional, trace: options.trace,
                                    variables: use.reads.sorted().compactMap { name in scope.lookup(name).map { (name, $0) } },
                                    wanted: use.sets.sorted())
        request.narrate = options.narrate || options.step
        let result: InsideResult
        do {
            result = try runInsideProcess(&request, namespace: namespace)
        } catch let e as SystemError {
            throw RuntimeError(location, "inside: \(e)")
        } catch let e as UsageError {
            throw RuntimeError(location, "inside: \(e)")
        }
        for (name, value) in result.variables {
            adoptHandles(value)
            scope.assign(name, value)
        }
        lastStatus = result.status
        if result.status != 0 {
            throw CommandFailed(location: location, message: "the `inside` block failed with status \(result.status)",
                                status: result.status, plainFailure: true)
        }
    }

    /// The namespace a value names: a namespace, a process's, a PID's.
    private func insideNamespace(_ v: Value, at loc: SourceLocation) throws -> Namespace {
        do {
            switch v {
            case .namespace(let ns): return ns
            case .process(let p): return try p.namespace()
            case .integer, .string:
                if let pid = Int32(Printer.string(v)), pid > 0 { return try Namespace.of(pid: pid) }
            default: break
            }
        } catch {
            throw RuntimeError(loc, "inside: \(error)")
        }
        throw RuntimeError(loc, "inside: expected a namespace, a process or a PID, got \(Printer.describe(v))")
    }

    /// Starts the pidsh inside, sends the request, relays its output, reads its result.
    private func runInsideProcess(_ request: inout InsideRequest, namespace: Namespace) throws -> InsideResult {
        let outputs = try JobOutputs(output: out.jobRoute, error: err.errorRoute(beside: out))
        let inner: InsideProcess
        do {
            inner = try InsideProcess.start(in: namespace, session: session, stdin: stdinFD, stdout: outputs.output, stderr: outputs.error)
        } catch {
            outputs.abandon()
            throw error
        }
        outputs.closeWriteEnds()
        // Programs the block leaves running write where this pidsh's own do.
        request.backgroundOut = backgroundOutput?.out ?? out.descriptor ?? 1
        request.backgroundErr = backgroundOutput?.err ?? err.descriptor ?? 2
        request.janitor = inner.janitorSocket
        do {
            try inner.send(request.document())
        } catch {
            // It could not take the block (it died at start): nothing of it stays.
            outputs.closeReadEnds()
            try? inner.process.signal(Signals.kill)
            _ = try? inner.process.wait(interruptible: false)
            throw error
        }
        let doc = try inner.collect(outputs: outputs)
        session.reapFinished()
        insideKept.removeAll { !$0.process.isRunning }
        if let doc {
            let result = try InsideResult.read(doc)
            if result.lingers { insideKept.append(inner) } else { _ = try inner.process.waitForeground() }
            return result
        }
        // It ended without a result: killed, or it could not start.
        let status = try inner.process.waitForeground()
        return InsideResult(status: status.shellCode == 0 ? 1 : status.shellCode, lingers: false, variables: [])
    }

    /// Processes and namespaces that came back belong to this session from now on.
    private func adoptHandles(_ v: Value) {
        switch v {
        case .process(let p): if !session.children.contains(where: { $0.pid == p.pid }) { session.track(p) }
        case .namespace(let ns): session.adopt(ns)
        case .list(let items): items.forEach(adoptHandles)
        default: break
        }
    }
}
