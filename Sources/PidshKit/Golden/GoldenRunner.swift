import PidshSystem

/// What `pidsh test` was asked to do.
public struct GoldenOptions {
    /// Record the runs as the new expectations (`.out` files, or the `#>` lines).
    public var update = false
    /// With `update`: record a failing run even where the old expectations do not say so.
    public var acceptFailures = false
    /// With `update`: record as `#>` lines in the script (removing NAME.out).
    public var inline = false
    /// How many scripts run at once (`-j N`).
    public var jobs = 1
    public var junitPath: String?
    public var tap = false
    /// A run taking longer is stopped (SIGTERM, then SIGKILL) and fails.
    public var timeoutSeconds = 300
    public init() {}
}

/// `pidsh test [--update] PATHS...`: runs each NAME.pidsh in a child pidsh with
/// `--stable-ids` in a clean environment and compares what it printed (stdout and
/// stderr merged, in order) and its exit status with its expectations — the script's
/// `#>` lines, or NAME.out — line by line, with the matching forms of `ExpectedLine`.
public struct GoldenRunner {
    public var options: GoldenOptions
    /// The pidsh to run the scripts with (default: this executable).
    public var pidshPath: String
    public var out: OutputSink

    public init(options: GoldenOptions, pidshPath: String = SessionSetup.executablePath, out: OutputSink = OutputSink(.descriptor(1))) {
        self.options = options
        self.pidshPath = pidshPath
        self.out = out
    }

    public func run(paths: [String]) -> Int32 {
        let scripts = GoldenRunner.collect(paths)
        if scripts.isEmpty {
            out.write("pidsh test: no .pidsh scripts in \(paths.joined(separator: " "))\n")
            return 1
        }
        if options.inline && !options.update {
            out.write("pidsh test: --inline records expectations, so it goes with --update\n")
            return 64
        }
        let palette = Palette(on: !options.tap && out.descriptor.map(FileIO.isTerminal) == true
                                  && (FileIO.environment("NO_COLOR") ?? "").isEmpty)
        let cases = scripts.map { TestCase(script: $0, options: options) }
        var results: [TestResult?] = Array(repeating: nil, count: cases.count)
        var printed = 0
        if options.tap { out.write(TestReports.tapHeader(count: cases.count)) }
        // Reports come in the order of the scripts, whatever order the runs end in.
        func flush() {
            while printed < results.count, let r = results[printed] {
                out.write(options.tap ? TestReports.tap(r, number: printed + 1) : TestReports.text(r, palette: palette))
                printed += 1
            }
        }
        for (i, c) in cases.enumerated() where c.verdictBeforeRunning != nil { results[i] = c.verdictBeforeRunning }
        flush()
        let started = FileIO.monotonicMilliseconds()
        let scheduler = TestScheduler(pidshPath: pidshPath, jobs: options.jobs, timeoutSeconds: options.timeoutSeconds)
        scheduler.finished = { index, run, problem, took in
            var r: TestResult
            if let run { r = GoldenRunner.judge(cases[index], run, options: self.options, palette: palette) }
            else { r = .failed(cases[index].script, problem ?? "could not run") }
            r.milliseconds = took
            results[index] = r
            flush()
        }
        OwnSignals.install()
        let signal = scheduler.run(cases.indices.filter { results[$0] == nil }.map { ($0, cases[$0].script, cases[$0].exclusive) })
        let total = FileIO.monotonicMilliseconds() - started
        let done = results.compactMap { $0 }
        if signal != 0 {
            out.write("pidsh test: stopped by \(Signals.name(of: signal)) after \(done.count) of \(cases.count) scripts\n")
            return 128 + signal
        }
        if let path = options.junitPath {
            do { try FileIO.writeFile(path, TestReports.junit(done, totalMilliseconds: total)) } catch {
                out.write("pidsh test: cannot write the JUnit report: \(error)\n")
                return 1
            }
        }
        out.write((options.tap ? "# " : "") + TestReports.summary(done) + "\n")
        return done.contains { $0.verdict == .failed } ? 1 : 0
    }

    static func judge(_ c: TestCase, _ run: RunOutput, options: GoldenOptions, palette: Palette) -> TestResult {
        if let limit = run.timedOut {
            let tail = run.text.split(separator: "\n").suffix(6).map { "  " + $0 }.joined(separator: "\n")
            return .failed(c.script, "timed out after \(limit) s (--timeout): stopped with SIGTERM",
                           detail: tail.isEmpty ? "" : "its output ended with:\n" + tail + "\n")
        }
        return c.evaluate(run, options: options, palette: palette)
    }

    /// The scripts named by the paths: files as given, directories' *.pidsh sorted.
    public static func collect(_ paths: [String]) -> [String] {
        var scripts: [String] = []
        for p in paths {
            if FileIO.isDirectory(p) {
                let base = p.hasSuffix("/") ? String(p.dropLast()) : p
                scripts += FileIO.directoryEntries(p).filter { $0.hasSuffix(".pidsh") }.map { base + "/" + $0 }
            } else {
                scripts.append(p)
            }
        }
        return scripts
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
