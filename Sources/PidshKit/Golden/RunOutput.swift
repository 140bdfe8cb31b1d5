import PidshSystem

/// What a test run printed (stdout and stderr merged, in order) and how it ended.
/// With PIDSH_STATEMENT_MARKS=1 in its environment pidsh writes a mark into its output before each top-level
/// statement; the marks split the output by the statement that was running when it
/// was written, for inline expectations.
struct RunOutput {
    /// Output before any statement ran (a syntax error), then each statement's, by its
    /// index among the script's top-level statements. Marks removed.
    var beforeStatements = ""
    var byStatement: [(index: Int, text: String)] = []
    var status: ExitStatus
    /// Set (to the limit in seconds) when the runner stopped a run that took too long.
    var timedOut: Int?

    /// Set to 1 in a test run's environment: its pidsh writes the marks.
    static let markVariable = "PIDSH_STATEMENT_MARKS"
    static let markPrefix: [UInt8] = Array("\u{0}pidsh-statement ".utf8)

    /// The mark the interpreter writes before top-level statement `index`.
    static func mark(_ index: Int) -> String { "\u{0}pidsh-statement \(index)\u{0}" }

    init(bytes: [UInt8], status: ExitStatus) {
        self.status = status
        var current: [UInt8] = []
        var index: Int?
        func flush() {
            let text = String(decoding: current, as: UTF8.self)
            if let index { byStatement.append((index, text)) } else { beforeStatements += text }
            current = []
        }
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0, let (n, end) = RunOutput.mark(in: bytes, at: i) {
                flush()
                index = n
                i = end
                continue
            }
            current.append(bytes[i])
            i += 1
        }
        flush()
    }

    /// A mark starting at `i`: the statement index and where the mark ends.
    static func mark(in bytes: [UInt8], at i: Int) -> (Int, Int)? {
        let p = markPrefix
        guard i + p.count < bytes.count, Array(bytes[i..<i + p.count]) == p else { return nil }
        var j = i + p.count
        var n = 0
        while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57, j - i - p.count < 9 {
            n = n * 10 + Int(bytes[j] - 48)
            j += 1
        }
        guard j < bytes.count, bytes[j] == 0, j > i + p.count else { return nil }
        return (n, j + 1)
    }

    /// Everything printed, as one text (what a `.out` file holds).
    var text: String { beforeStatements + byStatement.map { $0.text }.joined() }

    /// The whole transcript as lines, with `[N]` last when the status is not 0.
    var lines: [ActualLine] { ActualLine.lines(of: text) + statusLine }

    var statusLine: [ActualLine] { status.shellCode == 0 ? [] : [.status(status.shellCode)] }
}
