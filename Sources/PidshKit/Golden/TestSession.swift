import PidshSystem

/// One `pidsh test` run over its scripts: the results as they come, reported in the
/// order of the scripts (whatever order the runs end in), and the summary at the end.
final class TestSession {
    var cases: [TestCase]
    let options: GoldenOptions
    let palette: Palette
    let out: OutputSink
    private var results: [TestResult?]
    /// First-round results held back while their script is recorded again.
    private var pending: [Int: TestResult] = [:]
    private var printed = 0
    /// Scripts to record once more, and which round of recording this is.
    private var again: [Int] = []
    private var round = 0

    init(cases: [TestCase], options: GoldenOptions, palette: Palette, out: OutputSink) {
        self.cases = cases
        self.options = options
        self.palette = palette
        self.out = out
        results = cases.map { $0.verdictBeforeRunning }
        if options.tap { out.write(TestReports.tapHeader(count: cases.count)) }
        flush()
    }

    /// Runs every script that has no verdict yet; a signal number if one stopped it.
    /// `--update` of `#>` lines moves statements down, so a run that printed its own
    /// line numbers is recorded again (at most twice more) until nothing moves.
    func runAll(_ scheduler: TestScheduler) -> Int32 {
        scheduler.finished = { [unowned self] index, run, problem, took in self.finished(index, run, problem, took) }
        var toRun = cases.indices.filter { results[$0] == nil }
        var signal: Int32 = 0
        while !toRun.isEmpty && signal == 0 {
            signal = scheduler.run(toRun.map { ($0, cases[$0].script, cases[$0].exclusive) })
            toRun = again.sorted()
            again = []
            round += 1
            for i in toRun { cases[i] = TestCase(script: cases[i].script, options: options) }
        }
        return signal
    }

    func finished(_ index: Int, _ run: RunOutput?, _ problem: String?, _ took: Int64) {
        var r: TestResult
        if let run { r = GoldenRunner.judge(cases[index], run, options: options, palette: palette) }
        else { r = .failed(cases[index].script, problem ?? "could not run") }
        r.milliseconds = took
        if r.movedStatements && round < 2 {
            again.append(index)
            if pending[index] == nil { pending[index] = r }
            return
        }
        // The first round's news ("updated ... (inline; x.out removed)") is what counts.
        if let first = pending[index], r.verdict == .passed { r.summary = first.summary }
        results[index] = r
        flush()
    }

    func flush() {
        while printed < results.count, let r = results[printed] {
            out.write(options.tap ? TestReports.tap(r, number: printed + 1) : TestReports.text(r, palette: palette))
            printed += 1
        }
    }

    /// The JUnit file and the last line; the exit code of `pidsh test`.
    func finish(signal: Int32, milliseconds: Int64) -> Int32 {
        let done = results.compactMap { $0 }
        if signal != 0 {
            out.write("pidsh test: stopped by \(Signals.name(of: signal)): the runs under way were stopped, the rest not started\n")
            return 128 + signal
        }
        if let path = options.junitPath {
            do { try FileIO.writeFile(path, TestReports.junit(done, totalMilliseconds: milliseconds)) } catch {
                out.write("pidsh test: cannot write the JUnit report: \(error)\n")
                return 1
            }
        }
        out.write((options.tap ? "# " : "") + TestReports.summary(done) + "\n")
        return done.contains { $0.verdict == .failed } ? 1 : 0
    }
}
