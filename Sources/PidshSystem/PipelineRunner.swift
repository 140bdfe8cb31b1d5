/// Runs a pipeline's stages as one job: the pipes between them, each program spawned
/// with its ends, the in-process stages (builtins, defs) run one after another on this
/// thread, what passes through pidsh read meanwhile, the programs waited for together.
/// Which stage is what, and what a stage's redirections open, is the language's
/// decision (PidshKit): it answers through the two closures `run` takes.
public final class PipelineRunner {
    /// A stage's standard input, output and error.
    public struct Descriptors: Equatable {
        public var input: Int32
        public var output: Int32
        public var error: Int32

        public init(input: Int32, output: Int32, error: Int32) {
            self.input = input
            self.output = output
            self.error = error
        }
    }

    public enum Stage {
        /// A program, spawned with its stage's descriptors.
        case program(path: String, arguments: [String])
        /// A builtin or a def: run in pidsh when its turn comes.
        case inProcess
    }

    /// A failure the language locates at a stage.
    public enum Failure: Error {
        /// The program of stage `stage` could not be started.
        case spawn(stage: Int, Error)
        /// More than the limit piled up in memory while the in-process stages ran one
        /// after another: the input held for stage `stage`, or (nil) the job's output.
        case heldTooLarge(stage: Int?)
    }

    /// Gives stage `stage` the descriptors its redirections name (the files they open
    /// go into `opened`, closed with the pipes once the job no longer needs them).
    public typealias Redirect = (_ stage: Int, _ descriptors: Descriptors, _ opened: inout [Int32]) throws -> Descriptors
    /// Runs in-process stage `stage`, reading `input`.
    public typealias RunInProcess = (_ stage: Int, _ input: Int32) throws -> Void

    private let session: Session
    private let stages: [Stage]
    /// The most a pipe's bytes may pile up in memory (see `Failure.heldTooLarge`).
    private let limit: Int
    /// Descriptors pidsh closes when the job no longer needs them.
    private var opened: [Int32] = []
    /// The pipe from stage i to stage i + 1.
    private var pipes: [(read: Int32, write: Int32)] = []
    private var running: [ProcessHandle] = []
    private var inProcess: [(stage: Int, descriptors: Descriptors)] = []
    /// The input of each in-process stage whose writer runs before it, read meanwhile.
    private var heldInputs: [Int: BackgroundReader] = [:]
    /// The first failure: the job goes on to its end (no pipe left open, no program left
    /// running), then throws it.
    private var failure: Error?

    private init(session: Session, stages: [Stage], limit: Int) {
        self.session = session
        self.stages = stages
        self.limit = limit
    }

    /// Runs `stages` as one job reading `input`; returns the programs' statuses, in
    /// stage order.
    public static func run(_ stages: [Stage], input: Int32, output: JobOutputs.Route, error: JobOutputs.Route,
                           session: Session, limit: Int, redirect: Redirect, runInProcess: RunInProcess) throws -> [ExitStatus] {
        let job = PipelineRunner(session: session, stages: stages, limit: limit)
        defer { job.closeOpened() }
        try job.makePipes()
        let outputs = try JobOutputs(output: output, error: error)
        job.opened += outputs.writeEnds
        job.startStages(input: input, outputs: outputs, redirect: redirect)
        job.closeProgramOnlyEnds()
        if !job.inProcess.isEmpty { OwnSignals.ignoreBrokenPipes() }
        job.holdInputs()
        let reader = job.readInBackground(outputs)
        job.runInProcessStages(runInProcess)
        // Our copies of the pipe ends must go, or readers never see EOF.
        job.closeOpened()
        job.passOnInterrupt()
        for (_, held) in job.heldInputs { _ = held.finish() }   // stages that did not run
        job.collect(outputs, readInBackground: reader)
        return try job.waitForPrograms()
    }

    private var last: Int { stages.count - 1 }

    private func isProgram(_ stage: Int) -> Bool {
        if case .program = stages[stage] { return true }
        return false
    }

    private func closeOpened() {
        for fd in opened { FileIO.close(fd) }
        opened.removeAll()
    }

    private func close(_ fd: Int32) {
        FileIO.close(fd)
        opened.removeAll { $0 == fd }
    }

    /// Pipes between stages; each program gets its ends by dup2 in the child.
    private func makePipes() throws {
        for _ in 0..<last {
            let (r, w) = try FileIO.pipe()
            opened += [r, w]
            pipes.append((r, w))
        }
    }

    /// Each stage in turn gets its descriptors (and its redirections); programs start
    /// at once, in-process stages wait for their turn. The first failure ends this.
    private func startStages(input: Int32, outputs: JobOutputs, redirect: Redirect) {
        for i in stages.indices {
            let wired = Descriptors(input: i == 0 ? input : pipes[i - 1].read,
                                    output: i == last ? outputs.output : pipes[i].write, error: outputs.error)
            let descriptors: Descriptors
            do {
                descriptors = try redirect(i, wired, &opened)
            } catch { failure = error; break }
            guard case .program(let path, let arguments) = stages[i] else {
                inProcess.append((i, descriptors))
                continue
            }
            var options = SpawnOptions(path: path, arguments: arguments)
            options.awaitExecVisible = false   // a foreground job: waited for at once
            options.waitedAtOnce = true
            options.fileDescriptors = [(0, descriptors.input), (1, descriptors.output), (2, descriptors.error)]
            do {
                running.append(try session.spawn(options))
            } catch {
                failure = Failure.spawn(stage: i, error)
                break
            }
        }
    }

    /// pidsh's copies of the pipe ends only programs use go now: a reader that exits
    /// (`head`) must give the stage writing to it EPIPE, not a pipe that blocks for
    /// ever, and a program writer's end must close for its in-process reader (a def) to
    /// see EOF.
    private func closeProgramOnlyEnds() {
        for (i, pipe) in pipes.enumerated() {
            if isProgram(i) { close(pipe.write) }
            if isProgram(i + 1) { close(pipe.read) }
        }
    }

    /// In-process stages run one after another, so one that reads a pipe whose writer
    /// runs before it (an earlier builtin or def, or a program downstream of one) would
    /// leave that writer blocked on a full pipe: such a pipe is drained in the
    /// background and its bytes fed to the reader when its turn comes.
    private func holdInputs() {
        guard failure == nil, let first = inProcess.first?.stage else { return }
        for (i, _) in inProcess where i > first {
            let read = pipes[i - 1].read
            do {
                heldInputs[i] = try BackgroundReader(fds: [read], limit: limit)
                opened.removeAll { $0 == read }
            } catch { failure = error; break }
        }
    }

    /// While in-process stages write into the pipeline, someone must read what the
    /// programs print into pidsh (a capture): a thread of its own does.
    private func readInBackground(_ outputs: JobOutputs) -> BackgroundReader? {
        guard !inProcess.isEmpty else { return nil }
        do { return try outputs.readInBackground(limit: limit) } catch {
            if failure == nil { failure = error }
            return nil
        }
    }

    /// In-process stages write to their pipe after the programs are running; a signal
    /// that stopped one stops the whole job.
    private func runInProcessStages(_ runInProcess: RunInProcess) {
        for (i, descriptors) in inProcess {
            if failure is Interrupted { break }
            do {
                try runFed(i, descriptors, runInProcess)
            } catch {
                if failure == nil { failure = error }
            }
            if i < last { close(pipes[i].write) }
        }
    }

    /// Runs one in-process stage; an input held for it is fed through a pipe of its
    /// own (unless a redirection gave it another).
    private func runFed(_ i: Int, _ descriptors: Descriptors, _ runInProcess: RunInProcess) throws {
        guard let held = heldInputs.removeValue(forKey: i) else {
            return try runInProcess(i, descriptors.input)
        }
        let bytes = held.finish()[0]
        if held.truncated[0] { throw Failure.heldTooLarge(stage: i) }
        guard descriptors.input == pipes[i - 1].read else { return try runInProcess(i, descriptors.input) }
        let (r, w) = try FileIO.pipe()
        let feeder: BackgroundWriter
        do { feeder = try BackgroundWriter(fd: w, bytes: bytes) } catch {
            FileIO.close(r)
            throw error
        }
        defer {
            // The read end first: a stage that stopped reading early gives the feeder
            // EPIPE, so it ends rather than waiting for room.
            FileIO.close(r)
            feeder.finish()
        }
        try runInProcess(i, r)
    }

    /// A signal stopped an in-process stage (its poll took it): the programs of the
    /// job get it too, or waiting for them (a `sleep` fed by the def) never ends.
    private func passOnInterrupt() {
        guard let stop = failure as? Interrupted else { return }
        for process in running where process.isRunning { try? process.signal(stop.signal) }
    }

    /// What passed through pidsh goes to its consumers: all of it now, or what the
    /// background reader kept.
    private func collect(_ outputs: JobOutputs, readInBackground reader: BackgroundReader?) {
        guard let reader else { return outputs.drain() }
        if !outputs.deliver(reader) && failure == nil { failure = Failure.heldTooLarge(stage: nil) }
    }

    /// Waits for every program; a SIGTERM, SIGHUP... to pidsh goes to the whole job and
    /// stops the script now. Then the job's failure, if any, is thrown (its programs
    /// still running killed).
    private func waitForPrograms() throws -> [ExitStatus] {
        var statuses: [ExitStatus] = []
        for process in running {
            do {
                statuses.append(try process.waitForeground(capturingFields: false))
            } catch let e as Interrupted {
                for other in running where other.isRunning { try? other.signal(e.signal) }
                session.reapFinished()
                _ = OwnSignals.takePending()
                throw e
            }
        }
        session.reapFinished()
        if let failure {
            for process in running where process.isRunning { try? process.signal(9) }
            throw failure
        }
        return statuses
    }
}
