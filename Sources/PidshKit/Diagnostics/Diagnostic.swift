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
    public static func closest(to name: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = distance(name, c)
            let limit = max(1, min(3, c.count / 3 + 1))
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
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
