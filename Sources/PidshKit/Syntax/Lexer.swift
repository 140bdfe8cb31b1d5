/// Which tokens the parser wants next: shell words, or expression operators.
public enum LexMode: Sendable { case command, expression }

/// Turns source bytes into tokens on demand. The parser picks the mode per token (a
/// `<` is a redirection in a command and less-than in an expression), and can rewind
/// to a saved state to re-read a token in the other mode.
public struct Lexer {
    public struct State: Equatable {
        var pos: Int
        var line: Int
        var lineStart: Int
    }

    public let source: SourceFile
    let bytes: [UInt8]
    let end: Int
    public private(set) var state: State
    public private(set) var diagnostics: [Diagnostic] = []
    /// Set when the text ended inside a quote, `${`, `$(` or after a `\`.
    public private(set) var endedInsideConstruct = false
    /// How deeply nested the text this lexer reads is (blocks, parentheses, `$(...)`),
    /// kept by the parser; a `$(...)` or `${...}` sub-parser starts one deeper, so the
    /// limit (Parser.maxNesting) holds across substitutions too.
    public var nesting = 0
    /// Lines that hold a `#>` comment first on the line (inline expectations of
    /// `pidsh test`): comments, never the inside of a quoted string.
    public private(set) var expectationLines: Set<Int> = []
    /// Each `${...}`/`$(...)` already read, by the offset of its `$`: the part and where it ends.
    private var substitutions: [Int: (part: WordPart, end: State)] = [:]

    /// The source holds no byte above 0x7F: columns are byte counts.
    let asciiOnly: Bool
    /// The source's name number, read once: `SourceFile.nameID` is a lazy property,
    /// whose every read is a check and a call, and every token needs it.
    let fileID: Int32

    public init(source: SourceFile, start: Int = 0, end: Int? = nil, line: Int = 1, lineStart: Int = 0) {
        self.source = source
        self.bytes = source.bytes
        self.asciiOnly = source.isASCII
        self.fileID = source.nameID
        self.columnMemo = ColumnMemo()
        self.end = end ?? source.bytes.count
        self.state = State(pos: start, line: line, lineStart: lineStart)
    }

    public mutating func restore(_ s: State) { state = s }

    // MARK: locations

    /// The last column computed: counting resumes there, so the tokens of one long line
    /// cost O(line) in all, not O(line) each (a 30 KB line was a multi-second parse).
    final class ColumnMemo { var lineStart = -1, pos = 0, column = 1 }
    let columnMemo: ColumnMemo

    func column(at pos: Int, lineStart: Int) -> Int {
        // Plain ASCII (nearly every script): a column is a byte count.
        if asciiOnly { return pos - lineStart + 1 }
        var col = 1
        var i = lineStart
        let memo = columnMemo
        if memo.lineStart == lineStart && memo.pos <= pos { col = memo.column; i = memo.pos }
        bytes.withUnsafeBufferPointer { b in
            while i < pos && i < b.count {
                if b[i] & 0xC0 != 0x80 { col += 1 }
                i += 1
            }
        }
        memo.lineStart = lineStart; memo.pos = i; memo.column = col
        return col
    }

    func location(from start: State, to endPos: Int) -> SourceLocation {
        let col = column(at: start.pos, lineStart: start.lineStart)
        var len = 0
        var i = start.pos
        let ascii = asciiOnly
        bytes.withUnsafeBufferPointer { b in
            while i < endPos && i < b.count {
                if b[i] == 10 { break }
                if ascii || b[i] & 0xC0 != 0x80 { len += 1 }
                i += 1
            }
        }
        return SourceLocation(fileID: fileID, line: start.line, column: col, length: max(1, len), offset: start.pos)
    }

    /// The location of a token that holds no newline (a plain word, an operator, a
    /// name): in an ASCII source its column and length are byte counts, no scan needed.
    @inline(__always)
    func lineLocation(from start: State, to endPos: Int) -> SourceLocation {
        guard asciiOnly else { return location(from: start, to: endPos) }
        return SourceLocation(fileID: fileID, line: start.line, column: start.pos - start.lineStart + 1,
                              length: max(1, endPos - start.pos), offset: start.pos)
    }

    /// The source's bytes in `range` as a String (the one place the lexer makes text).
    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { b in Self.string(b, range) }
    }

    /// Built in place (a short one in the String itself); ill-formed UTF-8 is repaired
    /// with U+FFFD as `String(decoding:as:)` does, which costs more for short text.
    static func string(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        if range.isEmpty { return "" }
        let from = UnsafeBufferPointer(rebasing: b[range])
        return String(unsafeUninitializedCapacity: from.count) { to in
            _ = to.initialize(from: from)
            return from.count
        }
    }

    var here: SourceLocation { location(from: state, to: state.pos + 1) }

    mutating func error(_ loc: SourceLocation, _ message: String, incomplete: Bool = false, notes: [String] = []) {
        diagnostics.append(Diagnostic(loc, message, notes: notes, incomplete: incomplete))
        if incomplete { endedInsideConstruct = true }
    }

    // MARK: scanning helpers

    @inline(__always)
    func peekByte(_ offset: Int = 0) -> UInt8? {
        let i = state.pos + offset
        return i < end ? bytes[i] : nil
    }

    @inline(__always)
    mutating func advance() {
        if state.pos < end {
            if bytes[state.pos] == 10 {
                state.line += 1
                state.lineStart = state.pos + 1
            }
            state.pos += 1
        }
    }

    static func isIdentStart(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 }
    static func isIdentChar(_ b: UInt8) -> Bool { isIdentStart(b) || (b >= 48 && b <= 57) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    static func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 }

    /// Skips blanks, `\`-newline continuations and comments; stops before a newline or
    /// a narration line (`#:` first on its line).
    mutating func skipBlanks() {
        while let b = peekByte() {
            if Self.isBlank(b) { state.pos += 1; continue }   // a blank is no newline
            if b == 92, peekByte(1) == 10 || (peekByte(1) == 13 && peekByte(2) == 10) {  // \ newline
                let backslash = state
                advance(); if peekByte() == 13 { advance() }; advance()
                continuationAtEnd(backslash)
                continue
            }
            if b == 35 {                                                               // #
                if peekByte(1) == 58, atLineStart() { return }                          // #: narration
                if peekByte(1) == 62, atLineStart() { expectationLines.insert(state.line) }  // #> expected output
                while let c = peekByte(), c != 10 { advance() }
                continue
            }
            return
        }
    }

    /// A `\`-newline that is the last thing in the text continues into nothing: the
    /// REPL must read another line (a script gets a located error).
    mutating func continuationAtEnd(_ backslash: State) {
        if state.pos >= bytes.count {
            error(location(from: backslash, to: backslash.pos + 1), "`\\` at the end of the input: the line continues into nothing", incomplete: true)
        }
    }

    func atLineStart() -> Bool {
        var i = state.pos - 1
        while i >= state.lineStart {
            if !Self.isBlank(bytes[i]) { return false }
            i -= 1
        }
        return true
    }

    /// Does `b` end a word (blank, newline, `;`, `|`, `>`, `<`, `&`) or make it more than
    /// plain text (`'`, `"`, `\`, `$`)? One bit test instead of a chain of compares:
    /// this runs for every byte of every word.
    static func stopsPlainWord(_ b: UInt8) -> Bool {
        let low: UInt64 = 1 << 9 | 1 << 10 | 1 << 13 | 1 << 32 | 1 << 34 | 1 << 36 | 1 << 38 | 1 << 39 | 1 << 59 | 1 << 60 | 1 << 62
        let high: UInt64 = 1 << (92 - 64) | 1 << (124 - 64)
        if b < 64 { return (low >> UInt64(b)) & 1 != 0 }
        return b < 128 && (high >> UInt64(b - 64)) & 1 != 0
    }

    /// After a token: does the next byte end a word?
    @inline(__always)
    func isWordEnd(_ b: UInt8?) -> Bool {
        guard let b else { return true }
        return Self.isBlank(b) || b == 10 || b == 59 || b == 124 || b == 62 || b == 60 || b == 38
    }

    // MARK: the token stream

    /// The next token, in its public form.
    public mutating func next(_ mode: LexMode) -> Token { lex(mode).token }

    /// The next token, as the parser reads it.
    mutating func lex(_ mode: LexMode) -> LexedToken {
        skipBlanks()
        let start = state
        guard let b = peekByte() else {
            return LexedToken(lexeme: Lexeme(kind: .eof, location: lineLocation(from: start, to: start.pos + 1)), payload: .none)
        }
        switch b {
        case 10:
            advance()
            return LexedToken(lexeme: Lexeme(kind: .newline, location: lineLocation(from: start, to: start.pos + 1)), payload: .none)
        case 59:
            advance()
            return LexedToken(lexeme: Lexeme(kind: .semicolon, location: lineLocation(from: start, to: start.pos + 1)), payload: .none)
        case 35: // narration
            advance(); advance()
            let textStart = state.pos
            while let c = peekByte(), c != 10 { advance() }
            var text = string(textStart..<state.pos)
            if text.hasPrefix(" ") { text.removeFirst() }
            return LexedToken(lexeme: Lexeme(kind: .narration, location: location(from: start, to: state.pos)), payload: .text(text))
        default:
            break
        }
        return mode == .command ? nextCommandToken(start) : nextExpressionToken(start)
    }

    mutating func nextCommandToken(_ start: State) -> LexedToken {
        let b = peekByte()!
        func single(_ kind: LexemeKind, _ len: Int) -> LexedToken {
            LexedToken(lexeme: Lexeme(kind: kind, location: lineLocation(from: start, to: start.pos + len)), payload: .none)
        }
        switch b {
        case 123 where isWordEnd(peekByte(1)) || peekByte(1) == 125: // {
            advance(); return single(.leftBrace, 1)
        case 125 where isWordEnd(peekByte(1)) || peekByte(1) == 125: // }
            advance(); return single(.rightBrace, 1)
        case 124: // |
            advance()
            if peekByte() == 124 {
                advance()
                error(location(from: start, to: start.pos + 2), "pidsh has no `||`: use `if` (e.g. `if ! cmd { ... }`)")
            }
            return single(.pipe, 1)
        case 38: // &
            advance()
            if peekByte() == 38 {
                advance()
                error(location(from: start, to: start.pos + 2), "pidsh has no `&&`: put the commands on separate lines (a failing command stops the script)")
            } else {
                error(location(from: start, to: start.pos + 1), "pidsh has no background jobs (`&`): use `spawn CMD` to start a process without waiting")
            }
            return lex(.command)
        case 62: // > >>
            advance()
            if peekByte() == 62 { advance(); return single(.redirect(.append), 2) }
            return single(.redirect(.output), 1)
        case 60: // <
            advance()
            return single(.redirect(.input), 1)
        case 50 where peekByte(1) == 62: // 2> 2>&1
            advance(); advance()
            if peekByte() == 38, peekByte(1) == 49 { advance(); advance(); return single(.redirect(.errorToOutput), 4) }
            return single(.redirect(.error), 2)
        case 33 where isWordEnd(peekByte(1)): // ! alone
            advance(); return single(.bang, 1)
        default:
            if let plain = scanPlainWord(start) { return plain }
            let word = scanWord(start)
            let reserved = word.bareText.flatMap(Reserved.init(rawValue:))
            return LexedToken(lexeme: Lexeme(kind: .word(reserved), location: word.location), payload: .wordParts(word.parts))
        }
    }

    /// A shell word: literal runs, quotes, escapes and `$` substitutions.
    mutating func scanWord(_ start: State) -> Word {
        var parts: [WordPart] = []
        var literal = ""
        var literalQuoted = false
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal, quoted: literalQuoted)); literal = "" }
        }
        func addLiteral(_ s: String, quoted: Bool) {
            if quoted != literalQuoted { flush(); literalQuoted = quoted }
            Self.append(s, to: &literal)
        }
        var rawStart = state.pos
        func takeRaw(upTo pos: Int) -> String { string(rawStart..<pos) }
        while let b = peekByte(), !isWordEnd(b) {
            switch b {
            case 39: // '
                addLiteral(takeRaw(upTo: state.pos), quoted: false)
                let q = state
                advance()
                let s = state.pos
                while let c = peekByte(), c != 39 { advance() }
                if peekByte() == nil {
                    error(location(from: q, to: q.pos + 1), "unterminated single quote", incomplete: true)
                    addLiteral(string(s..<state.pos), quoted: true)
                } else {
                    addLiteral(string(s..<state.pos), quoted: true)
                    advance()
                }
                rawStart = state.pos
            case 34: // "
                addLiteral(takeRaw(upTo: state.pos), quoted: false)
                flush()
                parts.append(contentsOf: scanDoubleQuoted())
                literalQuoted = true
                rawStart = state.pos
            case 92: // backslash
                addLiteral(takeRaw(upTo: state.pos), quoted: false)
                let backslash = state
                advance()
                if let c = peekByte() {
                    if c == 10 || (c == 13 && peekByte(1) == 10) {
                        if c == 13 { advance() }
                        advance()
                        continuationAtEnd(backslash)
                    } else {
                        let s = state.pos
                        advance()
                        while let d = peekByte(), d & 0xC0 == 0x80 { advance() }
                        addLiteral(string(s..<state.pos), quoted: true)
                    }
                } else {
                    error(location(from: backslash, to: backslash.pos + 1), "`\\` at the end of the input", incomplete: true)
                }
                rawStart = state.pos
            case 36: // $
                addLiteral(takeRaw(upTo: state.pos), quoted: false)
                if let part = scanDollar(inQuotes: false) { flush(); parts.append(part); literalQuoted = false }
                else { addLiteral("$", quoted: true) }
                rawStart = state.pos
            default:
                advance()
            }
        }
        addLiteral(takeRaw(upTo: state.pos), quoted: false)
        flush()
        return Word(parts: parts, location: location(from: start, to: state.pos))
    }

    /// Most words are plain text (`echo`, `-n`, `/tmp/x`): one literal made from the
    /// bytes in one go, without the general loop's pieces, and recognised as a keyword
    /// from the bytes. Nil (nothing consumed) when the word holds a quote, `\\` or `$`.
    mutating func scanPlainWord(_ start: State) -> LexedToken? {
        let from = state.pos, end = self.end
        let scanned: (text: String, reserved: Reserved?, end: Int)? = bytes.withUnsafeBufferPointer { b in
            var i = from
            while i < end && !Self.stopsPlainWord(b[i]) { i += 1 }
            if i == from || (i < end && !isWordEnd(b[i])) { return nil }   // empty, or a quote, `\` or `$`
            let range = from..<i
            return (Self.string(b, range), Reserved.spelled(by: b, range), i)
        }
        guard let (text, reserved, i) = scanned else { return nil }
        // No newline inside (it ends a word), so the line stays the same.
        state.pos = i
        let loc = lineLocation(from: start, to: i)
        return LexedToken(lexeme: Lexeme(kind: .word(reserved), location: loc), payload: .plainWord(text))
    }

    /// Appends a piece of a literal: most pieces are empty or the first, which need no
    /// appending (`+=` costs a call even then).
    static func append(_ piece: String, to text: inout String) {
        if piece.isEmpty { return }
        if text.isEmpty { text = piece } else { text += piece }
    }

    /// Inside "...": literal text, escapes and substitutions. Starts at the quote.
    mutating func scanDoubleQuoted() -> [WordPart] {
        let q = state
        advance()
        var parts: [WordPart] = []
        var text = ""
        var runStart = state.pos
        func flushRun() {
            Self.append(string(runStart..<state.pos), to: &text)
        }
        while let b = peekByte(), b != 34 {
            if b == 92 {
                flushRun()
                advance()
                guard let c = peekByte() else { break }
                switch c {
                case 110: text += "\n"; advance()
                case 116: text += "\t"; advance()
                case 34, 92, 36, 96: text += String(UnicodeScalar(c)); advance()
                case 10: advance()
                default: text += "\\"
                }
                runStart = state.pos
            } else if b == 36 {
                flushRun()
                if let part = scanDollar(inQuotes: true) {
                    if !text.isEmpty { parts.append(.literal(text, quoted: true)); text = "" }
                    parts.append(part)
                } else {
                    text += "$"
                }
                runStart = state.pos
            } else {
                advance()
            }
        }
        flushRun()
        if peekByte() == nil {
            error(location(from: q, to: q.pos + 1), "unterminated double quote", incomplete: true)
        } else {
            advance()
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.literal(text, quoted: true)) }
        return parts
    }

    /// `$name.field`, `${expr}`, `$(cmd)`, `$?`, `$$`, `$1`. Starts at `$`; returns nil
    /// (consuming only the `$`) when what follows is no substitution.
    mutating func scanDollar(inQuotes: Bool) -> WordPart? {
        let start = state
        advance()
        guard let b = peekByte() else { return nil }
        if b == 63 || b == 36 { // $? $$
            advance()
            return .special(b == 63 ? "?" : "$", location: lineLocation(from: start, to: state.pos))
        }
        if Self.isDigit(b) {
            advance()
            return .special(String(UnicodeScalar(b)), location: lineLocation(from: start, to: state.pos))
        }
        if Self.isIdentStart(b) {
            let nameStart = state.pos
            while let c = peekByte(), Self.isIdentChar(c) { advance() }
            let name = string(nameStart..<state.pos)
            var fields: [String] = []
            while peekByte() == 46, let c = peekByte(1), Self.isIdentStart(c) {
                advance()
                let f = state.pos
                while let c = peekByte(), Self.isIdentChar(c) { advance() }
                fields.append(string(f..<state.pos))
            }
            let loc = lineLocation(from: start, to: state.pos)    // a name has no newline
            if name == "args" && fields.isEmpty { return .special("args", location: loc) }
            return .variable(name: name, fields: fields, location: loc)
        }
        if b == 123 || b == 40 {
            // The parser re-reads a token when it switches modes; without this cache a
            // substitution nested N deep (`$(let x = $(let y = ...))`) is parsed 2^N times.
            if let hit = substitutions[start.pos] { state = hit.end; return hit.part }
            let part = scanSubstitution(start, b)
            substitutions[start.pos] = (part, state)
            return part
        }
        return nil
    }

    /// `${expr}` or `$(cmd)`, parsed by a sub-parser; `start` is at the `$`, the lexer
    /// just after it.
    mutating func scanSubstitution(_ start: State, _ b: UInt8) -> WordPart {
        let braced = b == 123                       // ${ ... } or $( ... )
        let name = braced ? "${" : "$("             // as written
        advance()
        let innerStart = state
        guard let close = matching(open: b, close: braced ? 125 : 41) else {
            error(location(from: start, to: start.pos + 2), "unclosed `\(name)`", incomplete: true)
            while peekByte() != nil { advance() }
            return .literal("", quoted: true)
        }
        if nesting >= Parser.maxNesting {
            error(location(from: start, to: start.pos + 2), Parser.tooDeepMessage)
            while state.pos < close { advance() }
            advance()
            return .literal("", quoted: true)
        }
        var sub = Parser(lexer: Lexer(source: source, start: innerStart.pos, end: close, line: innerStart.line, lineStart: innerStart.lineStart))
        sub.lexer.nesting = nesting + 1
        let part: WordPart
        if braced {
            part = .expression(sub.parseBracedExpression(at: location(from: start, to: close + 1)))
        } else {
            let statements = sub.parseScript()
            part = .commandSubstitution(statements, location: location(from: start, to: close + 1))
        }
        diagnostics.append(contentsOf: sub.diagnostics)
        while state.pos < close { advance() }
        advance()
        return part
    }

    /// The offset of the bracket closing the one just consumed, skipping quotes and
    /// nested pairs; nil when the input ends first.
    func matching(open: UInt8, close: UInt8) -> Int? {
        var depth = 1
        var i = state.pos
        while i < end {
            let c = bytes[i]
            if c == 92 { i += 2; continue }
            if c == 39 {
                i += 1
                while i < end && bytes[i] != 39 { i += 1 }
            } else if c == 34 {
                i += 1
                while i < end && bytes[i] != 34 { if bytes[i] == 92 { i += 1 }; i += 1 }
            } else if c == open {
                depth += 1
            } else if c == close {
                depth -= 1
                if depth == 0 { return i }
            }
            i += 1
        }
        return nil
    }

    // MARK: expression mode

    mutating func nextExpressionToken(_ start: State) -> LexedToken {
        let b = peekByte()!
        func token(_ kind: LexemeKind, _ payload: LexemePayload = .none) -> LexedToken {
            LexedToken(lexeme: Lexeme(kind: kind, location: lineLocation(from: start, to: state.pos)), payload: payload)
        }
        func op(_ o: Operator) -> LexedToken {
            state.pos += o.rawValue.utf8.count     // no newline in an operator
            return token(.op(o))
        }
        if let o = Self.singleByteOperator(b) { return op(o) }
        switch b {
        case 123: advance(); return token(.leftBrace)
        case 125: advance(); return token(.rightBrace)
        case 61: return peekByte(1) == 61 ? op(.equal) : op(.assign)
        case 33: return peekByte(1) == 61 ? op(.notEqual) : op(.not)
        case 60: return peekByte(1) == 61 ? op(.lessOrEqual) : op(.less)
        case 62: return peekByte(1) == 61 ? op(.greaterOrEqual) : op(.greater)
        case 47 where !(peekByte(1).map { Self.isIdentStart($0) || $0 == 46 } ?? false): return op(.divide)
        case 46 where peekByte(1) == 46: return op(.range)
        case 34, 39:
            let w = scanQuotedOnly(start)
            return LexedToken(lexeme: Lexeme(kind: .string, location: w.location), payload: .wordParts(w.parts))
        case 36:
            if let part = scanDollar(inQuotes: false) {
                let loc = location(from: start, to: state.pos)
                return LexedToken(lexeme: Lexeme(kind: .variable, location: loc), payload: .wordParts([part]))
            }
            return token(.identifier(nil), .text("$"))
        default:
            break
        }
        if Self.isDigit(b) {
            while let c = peekByte(), Self.isDigit(c) { advance() }
            if let c = peekByte(), Self.isIdentStart(c) {
                while let c = peekByte(), Self.isExprWordChar(c) { advance() }
                return identifier(start)
            }
            let loc = lineLocation(from: start, to: state.pos)
            guard let n = integerValue(start.pos..<state.pos) else {
                let text = string(start.pos..<state.pos)
                error(loc, "integer \(text) is too large")
                return LexedToken(lexeme: Lexeme(kind: .integer, location: loc), payload: .number(0))
            }
            return LexedToken(lexeme: Lexeme(kind: .integer, location: loc), payload: .number(n))
        }
        // A bare word: identifiers, keywords, paths.
        advance()
        while let c = peekByte(), Self.isExprWordChar(c) {
            if c == 46, peekByte(1) == 46 { break }
            advance()
        }
        return identifier(start)
    }

    /// The bytes from `start` to here as an identifier (no newline among them).
    func identifier(_ start: State) -> LexedToken {
        let range = start.pos..<state.pos
        let (text, reserved) = bytes.withUnsafeBufferPointer { b in
            (Self.string(b, range), Reserved.spelled(by: b, range))
        }
        return LexedToken(lexeme: Lexeme(kind: .identifier(reserved), location: lineLocation(from: start, to: state.pos)),
                          payload: .text(text))
    }

    /// The value of the decimal digits in `range`, nil when it does not fit an Int.
    func integerValue(_ range: Range<Int>) -> Int? {
        var n = 0
        for i in range {
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(bytes[i] - 48))
            if o1 || o2 { return nil }
            n = sum
        }
        return n
    }

    /// The operator one byte always is in expression mode: `+ * % ( ) [ ] , -`.
    static func singleByteOperator(_ b: UInt8) -> Operator? {
        switch b {
        case 43: return .plus
        case 42: return .times
        case 37: return .remainder
        case 40: return .leftParen
        case 41: return .rightParen
        case 91: return .leftBracket
        case 93: return .rightBracket
        case 44: return .comma
        case 45: return .minus
        default: return nil
        }
    }

    static func isExprWordChar(_ b: UInt8) -> Bool {
        isIdentChar(b) || b == 47 || b == 46 || b == 58 || b == 45 || b >= 0x80
    }

    /// A quoted string in an expression (`"..."` or `'...'`), as a Word.
    mutating func scanQuotedOnly(_ start: State) -> Word {
        var parts: [WordPart]
        if peekByte() == 34 {
            parts = scanDoubleQuoted()
        } else {
            let q = state
            advance()
            let s = state.pos
            while let c = peekByte(), c != 39 { advance() }
            parts = [.literal(string(s..<state.pos), quoted: true)]
            if peekByte() == nil { error(location(from: q, to: q.pos + 1), "unterminated single quote", incomplete: true) }
            else { advance() }
        }
        return Word(parts: parts, location: location(from: start, to: state.pos))
    }
}
