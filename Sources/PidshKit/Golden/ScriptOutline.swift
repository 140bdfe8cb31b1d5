/// A test script as `pidsh test` reads it: its top-level statements grouped by the line
/// they start on, the `#>` expectation lines after each group, and its `#test:`
/// directives.
struct ScriptOutline {
    /// Top-level statements that start on one line (usually one statement), with the
    /// lines they span.
    struct Group {
        var startLine: Int
        var endLine: Int
    }

    let source: SourceFile
    private(set) var groups: [Group] = []
    /// Statement index (among all top-level statements) -> its group; narration lines
    /// (`#:`) print nothing of their own and belong to the group before them (nil:
    /// before the first statement).
    private(set) var groupOfStatement: [Int?] = []
    /// The `#>` lines before the first statement (output printed before any statement
    /// runs: a syntax error), then each group's.
    private(set) var prelude: [Int] = []
    private(set) var expectations: [[Int]] = []
    /// `#>` lines inside a statement (a loop's body): output belongs to the top-level
    /// statement, so they are reported, not read.
    private(set) var misplaced: [Int] = []
    let directives: TestDirectives

    init(source: SourceFile) {
        self.source = source
        var parser = Parser(source: source)
        let statements = parser.parseScript()
        directives = TestDirectives(source: source)
        var lastGroup: Int?
        for (i, s) in statements.enumerated() {
            let start = s.location.line
            let end = max(start, ScriptOutline.line(ofOffset: max(0, parser.statementEnds[i] - 1), in: source))
            if case .narration = s {
                groupOfStatement.append(lastGroup)
                continue
            }
            if let g = lastGroup, groups[g].startLine == start {
                groups[g].endLine = max(groups[g].endLine, end)
            } else {
                groups.append(Group(startLine: start, endLine: end))
                lastGroup = groups.count - 1
            }
            groupOfStatement.append(lastGroup)
        }
        expectations = Array(repeating: [], count: groups.count)
        for line in parser.lexer.expectationLines.sorted() {
            // The last group starting at or before the line holds it.
            guard let g = groups.lastIndex(where: { $0.startLine <= line }) else { prelude.append(line); continue }
            if line <= groups[g].endLine { misplaced.append(line) } else { expectations[g].append(line) }
        }
    }

    var hasInlineExpectations: Bool { !prelude.isEmpty || expectations.contains { !$0.isEmpty } || !misplaced.isEmpty }

    /// The expected text of a `#>` line: what follows `#>` and one space.
    func expectedText(_ line: Int) -> String {
        var text = source.lineText(line)[...]
        while let f = text.first, f == " " || f == "\t" { text = text.dropFirst() }
        text = text.dropFirst(2)
        if text.hasPrefix(" ") { text = text.dropFirst() }
        return String(text)
    }

    /// The last `#>` line of the script: where `[N]` means the exit status.
    var lastExpectationLine: Int? { (prelude + expectations.flatMap { $0 }).max() }

    func expectedLines(_ lines: [Int]) -> [ExpectedLine] {
        let last = lastExpectationLine
        return lines.map { ExpectedLine(expectedText($0), line: $0, last: $0 == last) }
    }

    static func line(ofOffset offset: Int, in source: SourceFile) -> Int {
        let starts = source.lineStarts
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }
}

/// `#test:` lines: how the runner treats a script. `#test: skip-unless root`,
/// `#test: skip-unless command NAME`, `#test: exclusive` (runs alone under `-j`).
struct TestDirectives {
    var skipUnlessRoot = false
    var requiredCommands: [String] = []
    var exclusive = false
    /// Directives it could not read, with their lines.
    var problems: [(line: Int, message: String)] = []

    init(source: SourceFile) {
        for line in 1...max(1, source.lineStarts.count) {
            let text = source.lineText(line)
            guard text.hasPrefix("#test:") else { continue }
            let words = text.dropFirst("#test:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            switch words.first {
            case "exclusive" where words.count == 1:
                exclusive = true
            case "skip-unless" where words == ["skip-unless", "root"]:
                skipUnlessRoot = true
            case "skip-unless" where words.count == 3 && words[1] == "command":
                requiredCommands.append(words[2])
            default:
                problems.append((line, "unknown test directive `\(text)`: pidsh knows `#test: exclusive`, `#test: skip-unless root` and `#test: skip-unless command NAME`"))
            }
        }
    }

    /// Why the script is skipped on this machine, if it is.
    func skipReason(isRoot: Bool, findCommand: (String) -> Bool) -> String? {
        if skipUnlessRoot && !isRoot { return "needs root (#test: skip-unless root)" }
        for c in requiredCommands where !findCommand(c) { return "needs the command \(c), not on $PATH (#test: skip-unless command \(c))" }
        return nil
    }
}
