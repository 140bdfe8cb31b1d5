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

    static func failed(_ script: String, _ summary: String, detail: String = "") -> TestResult {
        TestResult(script: script, verdict: .failed, summary: summary, detail: detail, coloredDetail: detail)
    }
}
