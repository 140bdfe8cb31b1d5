import PidshSystem

/// One stage of a pipeline after expansion.
enum Stage {
    case builtin(BuiltinSpec, [Value], Command)
    case user(UserCommand, [Value], Command)
    case external(path: String, argv: [String], Command)

    var command: Command {
        switch self {
        case .builtin(_, _, let c), .user(_, _, let c), .external(_, _, let c): return c
        }
    }

    /// What the pipeline runner does with it: a program is spawned, a builtin or def
    /// runs in pidsh.
    var runnerStage: PipelineRunner.Stage {
        if case .external(let path, let argv, _) = self { return .program(path: path, arguments: argv) }
        return .inProcess
    }
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

    private func runStages(_ p: Pipeline, capture: Bool) throws -> CommandResult {
        let stages = try p.commands.map(resolve)
        let finalOut = capture ? OutputSink(.buffer) : out
        var result: CommandResult
        if stages.count == 1, case .inProcess = stages[0].runnerStage {
            result = try runAlone(stages[0], output: finalOut)
        } else {
            result = try runJob(stages, of: p, output: finalOut, capture: capture)
        }
        if capture { result.capturedText = finalOut.text }
        return result
    }

    /// One stage that isn't a program runs in-process with its redirections.
    private func runAlone(_ stage: Stage, output: OutputSink) throws -> CommandResult {
        var opened: [Int32] = []
        defer { for fd in opened { FileIO.close(fd) } }
        var io = CommandIO(stdin: stdinFD, out: output, err: err)
        try applyRedirections(stage.command.redirections, to: &io, opened: &opened)
        return try runInProcess(stage, io: io)
    }

    /// Runs the stages as one job (`PipelineRunner` wires them); what is the language's
    /// stays here: each stage's redirections, running its builtins and defs, the result.
    private func runJob(_ stages: [Stage], of p: Pipeline, output finalOut: OutputSink, capture: Bool) throws -> CommandResult {
        let last = stages.count - 1
        let (outputRoute, errorRoute, pumped) = jobRoutes(output: finalOut, capture: capture)
        var stageIO: [Int: CommandIO] = [:]
        var lastResult = CommandResult()
        let statuses: [ExitStatus]
        do {
            statuses = try PipelineRunner.run(
                stages.map(\.runnerStage), input: stdinFD, output: outputRoute, error: errorRoute,
                session: session, limit: Limits.captureBytes,
                redirect: { i, wired, opened in
                    var io = CommandIO(stdin: wired.input, out: OutputSink(.descriptor(wired.output), ids: nil),
                                       err: OutputSink(.descriptor(wired.error), ids: nil))
                    if i == last, wired.output == finalOut.descriptor { io.out = finalOut }
                    try applyRedirections(stages[i].command.redirections, to: &io, opened: &opened)
                    stageIO[i] = io
                    return PipelineRunner.Descriptors(input: io.stdin, output: io.out.descriptor ?? wired.output,
                                                      error: io.err.descriptor ?? wired.error)
                },
                runInProcess: { i, input in
                    var io = stageIO[i]!
                    io.stdin = input
                    do {
                        let r = try runInProcess(stages[i], io: io)
                        if i == last { lastResult = r }
                    } catch let e where i < last && (e is CommandFailed || e is BrokenPipe) {
                        // A def that fails before the last stage, or whose reader is gone
                        // (its `yes` when `head` is done): as for an external, only the
                        // last stage's status counts.
                    }
                })
        } catch let failure as PipelineRunner.Failure {
            throw located(failure, stages, pipeline: p.location)
        }
        try checkWrites(pumped, by: "", at: p.location)
        try OwnSignals.stopIfPending(after: statuses)
        return jobResult(lastResult, lastStage: stages[last], lastStatus: statuses.last)
    }

    /// Where a job's output and errors go, and the sinks pidsh writes them to (a failed
    /// write there fails the job).
    private func jobRoutes(output: OutputSink, capture: Bool) -> (JobOutputs.Route, JobOutputs.Route, [OutputSink]) {
        let outputRoute = output.jobRoute
        let errorRoute = capture ? err.jobRoute : err.errorRoute(beside: out)
        let pumped = [(output, outputRoute), (err, errorRoute)].compactMap { sink, route -> OutputSink? in
            if case .throughPidsh = route { return sink }
            return nil
        }
        return (outputRoute, errorRoute, pumped)
    }

    /// A failure of the job, located at its stage (or at the pipeline).
    private func located(_ failure: PipelineRunner.Failure, _ stages: [Stage], pipeline: SourceLocation) -> RuntimeError {
        switch failure {
        case .spawn(let i, let error):
            return RuntimeError(stages[i].command.location, "\(error)", status: (error as? SystemError)?.shellStatus ?? 1)
        case .heldTooLarge(let i):
            return RuntimeError(i.map { stages[$0].command.location } ?? pipeline, Self.heldTooLarge)
        }
    }

    static let heldTooLarge = "more than \(Limits.describeBytes(Limits.captureBytes)) of output piled up in memory while pidsh ran the in-process stages of this pipeline one after another"

    /// The last stage's result; a program's status, and in words why it failed.
    private func jobResult(_ inProcessResult: CommandResult, lastStage: Stage, lastStatus: ExitStatus?) -> CommandResult {
        var result = inProcessResult
        if case .external(_, let argv, let command) = lastStage, let s = lastStatus {
            result.status = s.shellCode
            if s.shellCode != 0 {
                result.failureMessage = "`\(argv.joined(separator: " ").prefix(60))` \(s == .exited(s.shellCode) ? "exited with status \(s.shellCode)" : "was \(s)")"
                result.failureLocation = command.location
                result.plainFailure = true
            }
        }
        return result
    }
}

extension OutputSink {
    /// How a job's programs reach this sink: its descriptor when nothing needs
    /// rewriting, else a pipe pidsh reads and writes here.
    var jobRoute: JobOutputs.Route {
        if let fd = directDescriptor { return .direct(fd) }
        return .throughPidsh { self.writeBytes($0) }
    }

    /// How a job's errors reach this sink while its output goes to `output`: into the
    /// output's pipe when both are one open file (a terminal), so the two stay in order.
    func errorRoute(beside output: OutputSink) -> JobOutputs.Route {
        if directDescriptor == nil, let o = output.descriptor, let e = descriptor, FileIO.sameFile(o, e) { return .sameAsOutput }
        return jobRoute
    }
}
