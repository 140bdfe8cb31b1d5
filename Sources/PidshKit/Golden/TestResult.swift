/// How one test script came out, in a form every report (text, TAP, JUnit) can show.
public struct TestResult {
    public enum Verdict: Equatable { case passed, failed, skipped }

    public var script: String
    public var verdict: Verdict
    /// One line: "output differs", "needs root ...", "updated x.out".
    public var summary: String
    /// FILE:LINE where it first differs, when it does.
    public var location: String?
    /// The unified diff (uncoloured), or other detail (the run's error).
    public var detail: String = ""
    /// The same, coloured for a terminal.
    public var coloredDetail: String = ""
    public var milliseconds: Int64 = 0
    /// `--update` moved the script's statements to other lines (new `#>` lines above
    /// them): what the run printed about its own lines (an error's `FILE:LINE:COL`) is
    /// out of date, so the runner records it once more.
    var movedStatements = false

    static func failed(_ script: String, _ summary: String, detail: String = "") -> TestResult {
        TestResult(script: script, verdict: .failed, summary: summary, detail: detail, coloredDetail: detail)
    }
}
