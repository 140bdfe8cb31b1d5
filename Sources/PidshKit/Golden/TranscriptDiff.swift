/// A unified diff between expected and actual lines, in the usual order (`-` expected,
/// `+` actual), each line with its number in both files, from a longest-common-
/// subsequence alignment in which "equal" means "the expected line matches".
struct TranscriptDiff {
    /// One side's lines: each with its number in the file it comes from.
    struct Side {
        var numbers: [Int]
        var texts: [String]
    }

    enum Op { case same(Int, Int), removed(Int), added(Int) }

    let expected: Side
    let actual: Side
    let ops: [Op]

    init(expected: Side, actual: Side, matches: (Int, Int) -> Bool) {
        self.expected = expected
        self.actual = actual
        self.ops = TranscriptDiff.align(expected.texts.count, actual.texts.count, matches)
    }

    var isEmpty: Bool { !ops.contains { if case .same = $0 { return false }; return true } }

    static func align(_ n: Int, _ m: Int, _ matches: (Int, Int) -> Bool) -> [Op] {
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0 && m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = matches(i, j) ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
        }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, matches(i, j), lcs[i][j] == lcs[i + 1][j + 1] + 1 { ops.append(.same(i, j)); i += 1; j += 1 }
            else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] { ops.append(.removed(i)); i += 1 }
            else { ops.append(.added(j)); j += 1 }
        }
        return ops
    }

    /// The first expected line that has no match (its number), or where the missing
    /// lines would go (`fallback`).
    func firstDifference(fallback: Int) -> Int {
        for (k, op) in ops.enumerated() {
            switch op {
            case .same: continue
            case .removed(let i): return expected.numbers[i]
            case .added:
                // Before the next expected line, or after the last one.
                for later in ops[k...] { if case .same(let i, _) = later { return expected.numbers[i] }; if case .removed(let i) = later { return expected.numbers[i] } }
                return expected.numbers.last.map { $0 + 1 } ?? fallback
            }
        }
        return fallback
    }

    /// The hunks (context lines around each change), each headed `@@ -a,b +c,d @@`.
    /// `emptyOldStart`/`emptyNewStart`: where a side with no line in a hunk stands (the
    /// line it would follow, as unified diffs count).
    func render(heading: String = "", color: Palette, context: Int = 3, emptyOldStart: Int = 0, emptyNewStart: Int = 0) -> String {
        let changed = ops.indices.filter { if case .same = ops[$0] { return false }; return true }
        var out = ""
        var k = 0
        while k < changed.count {
            let start = max(0, changed[k] - context)
            var end = min(ops.count - 1, changed[k] + context)
            var next = k + 1
            while next < changed.count, changed[next] - context <= end + 1 {
                end = min(ops.count - 1, changed[next] + context)
                next += 1
            }
            let slice = ops[start...end]
            out += color.hunk(hunkHeader(slice, emptyOldStart: emptyOldStart, emptyNewStart: emptyNewStart) + (heading.isEmpty ? "" : " " + heading)) + "\n"
            for op in slice { out += line(op, color) + "\n" }
            k = next
        }
        return out
    }

    func hunkHeader(_ slice: ArraySlice<Op>, emptyOldStart: Int, emptyNewStart: Int) -> String {
        var old: [Int] = [], new: [Int] = []
        for op in slice {
            switch op {
            case .same(let i, let j): old.append(expected.numbers[i]); new.append(actual.numbers[j])
            case .removed(let i): old.append(expected.numbers[i])
            case .added(let j): new.append(actual.numbers[j])
            }
        }
        let oldStart = old.first ?? emptyOldStart, newStart = new.first ?? emptyNewStart
        return "@@ -\(oldStart),\(old.count) +\(newStart),\(new.count) @@"
    }

    func line(_ op: Op, _ color: Palette) -> String {
        switch op {
        case .same(let i, let j): return " \(Self.pad(expected.numbers[i])) \(Self.pad(actual.numbers[j])) | \(expected.texts[i])"
        case .removed(let i): return color.removed("-\(Self.pad(expected.numbers[i]))      | \(expected.texts[i])")
        case .added(let j): return color.added("+     \(Self.pad(actual.numbers[j])) | \(actual.texts[j])")
        }
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(0, 4 - s.count)) + s
    }
}

/// Terminal colours for the runner's report; none when off (a pipe, NO_COLOR).
struct Palette {
    let on: Bool
    func paint(_ code: String, _ s: String) -> String { on ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func removed(_ s: String) -> String { paint("31", s) }
    func added(_ s: String) -> String { paint("32", s) }
    func hunk(_ s: String) -> String { paint("36", s) }
    func header(_ s: String) -> String { paint("1", s) }
    func failed(_ s: String) -> String { paint("1;31", s) }
    func passed(_ s: String) -> String { paint("32", s) }
    func skipped(_ s: String) -> String { paint("33", s) }
}
