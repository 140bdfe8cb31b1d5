import PidshSystem

/// Runs test scripts, up to `jobs` at a time, each in a child pidsh of its own with a
/// private temporary directory and HOME; a `#test: exclusive` script runs alone. One
/// thread reads every child's output (PipeWatch), so results never depend on threads.
final class TestScheduler {
    struct Running {
        let index: Int
        let exclusive: Bool
        let process: ProcessHandle
        let fd: Int32
        let scratch: ScratchDirectory
        let started: Int64
        var output: [UInt8] = []
        var stopped = 0      // 1: SIGTERM sent at the deadline, 2: SIGKILL too
        var reading = true
    }

    let pidshPath: String
    let jobs: Int
    let timeoutMilliseconds: Int64
    /// Called with each finished run (its index, output and status, duration).
    var finished: (Int, RunOutput?, String?, Int64) -> Void = { _, _, _, _ in }

    init(pidshPath: String, jobs: Int, timeoutSeconds: Int) {
        self.pidshPath = pidshPath
        self.jobs = max(1, jobs)
        self.timeoutMilliseconds = Int64(timeoutSeconds) * 1000
    }

    /// Runs `cases` (indices into the caller's list); returns a signal number when a
    /// SIGINT/SIGTERM/SIGHUP stopped it, after every child is gone.
    func run(_ cases: [(index: Int, script: String, exclusive: Bool)]) -> Int32 {
        // Shared scripts first, in parallel; the exclusive ones alone, at the end.
        var queue = cases.filter { !$0.exclusive } + cases.filter { $0.exclusive }
        var running: [Running] = []
        var interrupted: Int32 = 0
        while !queue.isEmpty || !running.isEmpty {
            while interrupted == 0, let next = queue.first, running.count < jobs,
                  running.isEmpty || !next.exclusive && !running.contains(where: { $0.exclusive }) {
                queue.removeFirst()
                do { running.append(try start(next.index, next.script, exclusive: next.exclusive)) } catch {
                    finished(next.index, nil, "could not run: \(error)", 0)
                }
            }
            if running.isEmpty { break }
            let now = FileIO.monotonicMilliseconds()
            let wait = running.map { deadline(of: $0) - now }.min() ?? 1000
            let events = PipeWatch.next(running.filter { $0.reading }.map { $0.fd }, timeoutMilliseconds: Int32(clamping: max(0, min(wait, 1000))))
            for e in events {
                switch e {
                case .data(let fd, let bytes): if let k = running.firstIndex(where: { $0.fd == fd }) { running[k].output += bytes }
                case .closed(let fd): if let k = running.firstIndex(where: { $0.fd == fd }) { running[k].reading = false }
                }
            }
            let signal = OwnSignals.takePending()
            if signal != 0 && interrupted == 0 {
                interrupted = signal
                queue.removeAll()
                for r in running { try? r.process.signal(15) }
            }
            enforceDeadlines(&running)
            running.removeAll { r in
                guard !r.reading else { return false }
                complete(r)
                return true
            }
        }
        return interrupted
    }

    func deadline(of r: Running) -> Int64 {
        r.started + timeoutMilliseconds + Int64(r.stopped) * 5000
    }

    /// Past its time a run gets SIGTERM (pidsh stops and tears down), 5 s later
    /// SIGKILL, and 5 s after that its pipe is given up (something else holds it).
    func enforceDeadlines(_ running: inout [Running]) {
        let now = FileIO.monotonicMilliseconds()
        for k in running.indices where running[k].reading && now >= deadline(of: running[k]) {
            switch running[k].stopped {
            case 0: try? running[k].process.signal(15)   // SIGTERM
            case 1: try? running[k].process.signal(9)    // SIGKILL
            default: running[k].reading = false
            }
            running[k].stopped += 1
        }
    }

    func complete(_ r: Running) {
        FileIO.close(r.fd)
        if r.stopped >= 2 { try? r.process.signal(9) }
        let status = (try? r.process.wait(interruptible: false)) ?? .exited(-1)
        r.scratch.remove()
        let took = FileIO.monotonicMilliseconds() - r.started
        var output = RunOutput(bytes: r.output, status: status)
        if r.stopped > 0 {
            output.timedOut = Int(timeoutMilliseconds / 1000)
        }
        finished(r.index, output, nil, took)
    }

    /// Starts one script: `pidsh --stable-ids NAME` in the script's directory, stdout
    /// and stderr into one pipe, in a clean environment that asks for statement marks.
    func start(_ index: Int, _ script: String, exclusive: Bool) throws -> Running {
        let scratch = try ScratchDirectory.make()
        let env = ["LANG=C", "LC_ALL=C", "TZ=UTC", "NO_COLOR=1", "COLUMNS=80",
                   "HOME=\(scratch.path)/home", "TMPDIR=\(scratch.path)/tmp",
                   // pidsh itself comes first, so a script can run `pidsh -c ...`.
                   "PATH=\(GoldenRunner.directory(of: pidshPath)):\(FileIO.environment("PATH") ?? "/usr/local/bin:/usr/bin:/bin")",
                   "PIDSH_HISTFILE=/dev/null", RunOutput.markVariable + "=1"]
        var r: Int32 = -1, w: Int32 = -1, devnull: Int32 = -1
        do {
            (r, w) = try FileIO.pipe()
            devnull = try FileIO.open("/dev/null", .read)
            var opts = SpawnOptions(path: pidshPath, arguments: ["pidsh", "--stable-ids", GoldenRunner.baseName(script)],
                                    environment: env)
            opts.fileDescriptors = [(0, devnull), (1, w), (2, w)]
            opts.workingDirectory = GoldenRunner.directory(of: script)
            opts.awaitExecVisible = false
            let process = try Spawner.spawn(opts)
            FileIO.close(w)
            FileIO.close(devnull)
            return Running(index: index, exclusive: exclusive, process: process, fd: r, scratch: scratch, started: FileIO.monotonicMilliseconds())
        } catch {
            for fd in [r, w, devnull] where fd >= 0 { FileIO.close(fd) }
            scratch.remove()
            throw error
        }
    }
}
