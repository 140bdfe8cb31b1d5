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
        let session = TestSession(cases: scripts.map { TestCase(script: $0, options: options) }, options: options,
                                  palette: palette, out: out)
        let started = FileIO.monotonicMilliseconds()
        OwnSignals.install()
        let signal = session.runAll(TestScheduler(pidshPath: pidshPath, jobs: options.jobs, timeoutSeconds: options.timeoutSeconds))
        // The janitor of the runs' directories (Scratch): nothing left for it to do.
        SessionSetup.finish()
        return session.finish(signal: signal, milliseconds: FileIO.monotonicMilliseconds() - started)
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
