import PidshSystem

/// Compares a run with what its test expects — a NAME.out file or the script's own `#>`
/// lines — block by block, and makes the new expectations `--update` writes.
struct TranscriptCheck {
    /// Expected and actual lines that belong together: a whole `.out` file, or the
    /// output of one top-level statement (or group of statements on one line).
    struct Block {
        var expected: [ExpectedLine]
        var actual: [ActualLine]
        /// Each actual line's number in the run's whole transcript.
        var actualNumbers: [Int]
        /// For inline blocks: the statement's lines, where a new block goes.
        var heading = ""
        var insertBefore: Int = 1
        /// Where its output starts in the run's transcript (for an empty block's hunk).
        var actualStart: Int { actualNumbers.first ?? firstActualNumber }
        var firstActualNumber = 1

        var diff: TranscriptDiff {
            TranscriptDiff(expected: .init(numbers: expected.map { $0.line }, texts: expected.map { $0.text }),
                           actual: .init(numbers: actualNumbers, texts: actual.map { $0.shown }),
                           matches: { expected[$0].matches(actual[$1]) })
        }

        var passes: Bool {
            expected.count == actual.count && zip(expected, actual).allSatisfy { $0.matches($1) }
        }

        /// What `--update` writes: expected lines that still match stay as they are
        /// (patterns too), the others become the actual lines.
        var updated: [String] {
            var out: [String] = []
            for op in diff.ops {
                switch op {
                case .same(let i, _): out.append(expected[i].text)
                case .added(let j): out.append(actual[j].recorded)
                case .removed: break
                }
            }
            return out
        }
    }

    var blocks: [Block]
    /// The exit status the expectations state (`[N]` last; 0 without it).
    var expectedStatus: Int32
    /// The file the expected line numbers refer to.
    var expectedFile: String

    var passes: Bool { blocks.allSatisfy { $0.passes } }

    /// Against a `.out` file's text.
    init(outFile path: String, text: String, run: RunOutput) {
        var raw = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if raw.last == "" { raw.removeLast() }
        // A file that ends without a newline still has its last line literal.
        let expected = raw.enumerated().map { ExpectedLine($1, line: $0 + 1, last: $0 == raw.count - 1) }
        let actual = run.lines
        blocks = [Block(expected: expected, actual: actual, actualNumbers: actual.indices.map { $0 + 1 })]
        expectedStatus = TranscriptCheck.status(of: expected)
        expectedFile = path
    }

    /// Against the `#>` lines of the script.
    init(inline outline: ScriptOutline, run: RunOutput) {
        var texts = Array(repeating: "", count: outline.groups.count)
        var prelude = run.beforeStatements
        var lastGroup: Int?? = .none
        for (index, text) in run.byStatement {
            let group = index < outline.groupOfStatement.count ? outline.groupOfStatement[index] : nil
            if let g = group { texts[g] += text } else { prelude += text }
            lastGroup = .some(group)
        }
        var actual = [ActualLine.lines(of: prelude)] + texts.map(ActualLine.lines(of:))
        // The status goes with the statement that was running when the run ended.
        let statusBlock = lastGroup.flatMap { $0 }.map { $0 + 1 } ?? 0
        actual[statusBlock] += run.statusLine
        var number = 1
        blocks = []
        let firstStart = outline.groups.first?.startLine ?? outline.source.lineStarts.count + 1
        for (k, lines) in actual.enumerated() {
            let expectedLines = k == 0 ? outline.prelude : outline.expectations[k - 1]
            var block = Block(expected: outline.expectedLines(expectedLines), actual: lines,
                              actualNumbers: Array(number ..< number + lines.count))
            block.firstActualNumber = number
            if k == 0 {
                block.heading = "before the first statement"
                block.insertBefore = expectedLines.first ?? firstStart
            } else {
                let group = outline.groups[k - 1]
                block.heading = "after `\(TranscriptCheck.excerpt(outline.source.lineText(group.startLine)))` (line \(group.startLine))"
                block.insertBefore = expectedLines.first ?? group.endLine + 1
            }
            number += lines.count
            blocks.append(block)
        }
        expectedStatus = TranscriptCheck.status(of: blocks.flatMap { $0.expected })
        expectedFile = outline.source.name
    }

    static func status(of expected: [ExpectedLine]) -> Int32 {
        if let last = expected.last, case .status(let code) = last.form { return code }
        return 0
    }

    static func excerpt(_ line: String) -> String {
        let t = line.trimmingSpaces()
        return t.count > 40 ? String(t.prefix(37)) + "..." : t
    }

    /// Regexes that did not compile, each with its place.
    var problems: [String] {
        blocks.flatMap { $0.expected.compactMap { e in e.problem.map { "\(expectedFile):\(e.line): \($0)" } } }
    }

    /// The diff of every block that fails, and where the first difference is.
    func report(oldName: String, newName: String, palette: Palette, inline: Bool) -> (plain: String, colored: String, firstLine: Int) {
        var plain = "--- \(oldName)\n+++ \(newName)\n"
        var colored = palette.header("--- \(oldName)") + "\n" + palette.header("+++ \(newName)") + "\n"
        var first: Int?
        for b in blocks where !b.passes {
            let d = b.diff
            let heading = inline ? b.heading : ""
            plain += d.render(heading: heading, color: Palette(on: false), emptyOldStart: b.insertBefore - 1, emptyNewStart: b.actualStart - 1)
            colored += d.render(heading: heading, color: palette, emptyOldStart: b.insertBefore - 1, emptyNewStart: b.actualStart - 1)
            if first == nil { first = d.firstDifference(fallback: b.insertBefore) }
        }
        for p in problems { plain += "note: \(p)\n"; colored += "note: \(p)\n" }
        return (plain, colored, first ?? 1)
    }
}
