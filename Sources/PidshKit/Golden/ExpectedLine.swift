import PidshSystem

/// One line of an expected transcript, in the forms cram gives its users: a line that
/// ends in ` (re)` is a POSIX extended regular expression over the whole line, one
/// that ends in ` (glob)` a glob (`*`, `?`, `\` escapes), `[N]` as the last line the
/// run's exit status; ` (no-eol)` last marks output that did not end in a newline.
/// Every other line is literal.
struct ExpectedLine {
    enum Form {
        case literal(String)
        case regex(ExtendedRegex?, problem: String?)
        case glob(String)
        case status(Int32)
    }

    /// As written (what a diff shows and `--update` keeps).
    let text: String
    let form: Form
    let noEOL: Bool
    /// Its line in the file that holds it (a `.out` file, or the script for `#>`).
    let line: Int

    static let reSuffix = " (re)", globSuffix = " (glob)", noEOLSuffix = " (no-eol)"

    init(_ text: String, line: Int, last: Bool) {
        self.text = text
        self.line = line
        if last, let code = ExpectedLine.status(text) {
            form = .status(code)
            noEOL = false
            return
        }
        var body = text
        noEOL = body.hasSuffix(Self.noEOLSuffix)
        if noEOL { body.removeLast(Self.noEOLSuffix.count) }
        if body.hasSuffix(Self.reSuffix) {
            let pattern = String(body.dropLast(Self.reSuffix.count))
            do { form = .regex(try ExtendedRegex(wholeLine: pattern), problem: nil) } catch {
                form = .regex(nil, problem: "`\(pattern)` is not a valid extended regular expression (\(error))")
            }
        } else if body.hasSuffix(Self.globSuffix) {
            form = .glob(String(body.dropLast(Self.globSuffix.count)))
        } else {
            form = .literal(body)
        }
    }

    /// `[N]` (and `[exit N]`, the form of pidsh 0.x's goldens): an exit status.
    static func status(_ text: String) -> Int32? {
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        var inner = text.dropFirst().dropLast()
        if inner.hasPrefix("exit ") { inner = inner.dropFirst(5) }
        guard !inner.isEmpty, inner.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int32(inner)
    }

    /// A regex that did not compile, said once in the report.
    var problem: String? {
        if case .regex(_, let p) = form { return p }
        return nil
    }

    func matches(_ actual: ActualLine) -> Bool {
        switch (form, actual) {
        case (.status(let want), .status(let got)): return want == got
        case (.status, .text), (_, .status): return false
        case (_, .text(let s, let actualNoEOL)):
            guard noEOL == actualNoEOL else { return false }
            switch form {
            case .literal(let l): return l == s
            case .regex(let re, _): return re?.matches(s) ?? false
            case .glob(let g): return Glob.matches(g, s)
            case .status: return false
            }
        }
    }
}

/// A line of what a run printed, or its exit status when that was not 0.
enum ActualLine: Equatable {
    case text(String, noEOL: Bool)
    case status(Int32)

    /// How `--update` records it: literally, unless the text would be read as one of
    /// the matching forms, then as a regex that matches exactly it.
    var recorded: String {
        switch self {
        case .status(let code): return "[\(code)]"
        case .text(let s, let noEOL):
            var line = s
            let special = [ExpectedLine.reSuffix, ExpectedLine.globSuffix, ExpectedLine.noEOLSuffix].contains { s.hasSuffix($0) }
                || ExpectedLine.status(s) != nil
            if special { line = Glob.regexEscaped(s) + ExpectedLine.reSuffix }
            return noEOL ? line + ExpectedLine.noEOLSuffix : line
        }
    }

    /// The text a diff shows for it.
    var shown: String { recorded }

    /// Text split into lines; a last line without its newline is marked so.
    static func lines(of text: String) -> [ActualLine] {
        guard !text.isEmpty else { return [] }
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let endsInNewline = parts.last == ""
        if endsInNewline { parts.removeLast() }
        return parts.enumerated().map { i, s in .text(s, noEOL: !endsInNewline && i == parts.count - 1) }
    }
}

/// cram's globs: `*` any run of characters, `?` one character, `\` takes the next
/// character literally; everything else (brackets too) is itself.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        // Iterative matching with one backtrack point (the last `*`), linear in practice.
        var pi = 0, ti = 0
        var star: (p: Int, t: Int)?
        while ti < t.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    star = (pi, ti); pi += 1; continue
                case "?":
                    pi += 1; ti += 1; continue
                case "\\" where pi + 1 < p.count:
                    if p[pi + 1] == t[ti] { pi += 2; ti += 1; continue }
                default:
                    if p[pi] == t[ti] { pi += 1; ti += 1; continue }
                }
            }
            guard let s = star else { return false }
            star = (s.p, s.t + 1)
            pi = s.p + 1
            ti = s.t + 1
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// `text` as an extended regular expression that matches exactly it.
    static func regexEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
