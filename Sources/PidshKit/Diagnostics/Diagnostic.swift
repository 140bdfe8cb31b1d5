/// An error located in the source: rendered as `FILE:LINE:COL: error: MESSAGE`, the
/// source line, and a caret under the spot.
public struct Diagnostic: Error, Equatable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// "did you mean ..." and other hints, each printed on its own line.
    public var notes: [String]
    /// The input ended inside an open block, quote or `\`: the REPL reads more.
    public var isIncompleteInput: Bool

    public init(_ location: SourceLocation, _ message: String, notes: [String] = [], incomplete: Bool = false) {
        self.location = location
        self.message = message
        self.notes = notes
        self.isIncompleteInput = incomplete
    }

    public var description: String { "\(location): error: \(message)" }
}

public enum DiagnosticRenderer {
    /// The full excerpt: header, source line, caret, notes.
    public static func render(_ d: Diagnostic, source: SourceFile?, color: Bool = false) -> String {
        let bold = color ? "\u{1B}[1m" : "", red = color ? "\u{1B}[31m" : "", reset = color ? "\u{1B}[0m" : ""
        var out = "\(bold)\(d.location):\(reset) \(red)error:\(reset) \(bold)\(d.message)\(reset)"
        if let source {
            let text = source.lineText(d.location.line)
            if !text.isEmpty || d.location.column <= 1 {
                let shown = text.count > 200 ? String(text.prefix(200)) + "..." : text
                out += "\n  " + sanitize(shown)
                let pad = String(repeating: " ", count: max(0, min(d.location.column - 1, 203)))
                let marks = "^" + String(repeating: "~", count: max(0, min(d.location.length, 60) - 1))
                out += "\n  " + pad + red + marks + reset
            }
        }
        for note in d.notes { out += "\n  note: " + note }
        return out
    }

    /// Control characters (a NUL in a script) shown as spaces so the caret lines up.
    static func sanitize(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 32 && $0 != "\t" ? " " : Character($0) })
    }
}

/// Suggests the closest known name ("did you mean nspid?").
public enum Suggest {
    /// Longer names get no suggestion. Edit distance costs the product of the two
    /// lengths: a misspelt 100,000-character name against its original took 48 s.
    static let longestCompared = 64

    /// The candidate within a few edits of `name` (fewer for short names), if any. Only
    /// names of similar length are compared: the distance is at least the difference.
    public static func closest(to name: String, among candidates: [String]) -> String? {
        guard name.utf8.count <= longestCompared * 4 else { return nil }
        let a = Array(name)
        guard a.count <= longestCompared else { return nil }
        var best: (String, Int)?
        for c in candidates where c.utf8.count <= longestCompared * 4 {
            let b = Array(c)
            let limit = max(1, min(3, b.count / 3 + 1))
            guard b.count <= longestCompared, abs(a.count - b.count) <= limit else { continue }
            let d = distance(a, b)
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: String, _ b: String) -> Int { distance(Array(a), Array(b)) }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
