/// The parser's view of a token. The parser looks at the next token several times
/// before it takes it; a `Token` (its kind carries Strings and Words) is copied through
/// the runtime's value witnesses with a retain and a release each time, which was
/// about a quarter of parsing. A Lexeme holds plain values only (copied as bytes); the text or
/// word a token carries travels beside it (`LexemePayload`) and is moved, never copied.
struct Lexeme: Equatable {
    var kind: LexemeKind
    var location: SourceLocation
}

/// `TokenKind` without its text: a word, string, variable, identifier, narration or
/// integer has its `LexemePayload`; a word or identifier that is a reserved word says
/// which. Two bytes: an Int in here made it nine, whose odd-sized copies (at every
/// return of a token) stalled the processor on partly overlapping loads and stores.
enum LexemeKind: Equatable {
    case newline, semicolon, leftBrace, rightBrace, eof
    case narration                   // payload: its text
    // command mode
    case word(Reserved?)             // payload: the word; reserved only when bare (unquoted, no `$`)
    case pipe
    case redirect(RedirectKind)
    case bang
    // expression mode
    case integer                     // payload: its value
    case string                      // payload: the word
    case variable                    // payload: the word
    case identifier(Reserved?)       // payload: its text
    case op(Operator)

    /// A newline, `;`, `}` or the end: what may follow a statement.
    var endsStatement: Bool {
        switch self {
        case .newline, .semicolon, .eof, .rightBrace: return true
        default: return false
        }
    }
}

/// What a lexeme carries besides its kind. A word is held as its parts: its location
/// is the lexeme's, and a smaller payload is a smaller copy at every step.
enum LexemePayload {
    case none
    case wordParts([WordPart])
    /// A plain word (one unquoted literal) as its text: its Word, an array, is made
    /// only if the parser uses it. Keywords and words read in the mode not taken never do.
    case plainWord(String)
    case text(String)
    case number(Int)
}

/// A lexeme and its payload, as `take` hands them over.
struct LexedToken {
    var lexeme: Lexeme
    var payload: LexemePayload

    var kind: LexemeKind { lexeme.kind }
    var location: SourceLocation { lexeme.location }

    /// The word of a `.word`, `.string` or `.variable`.
    var word: Word {
        switch payload {
        case .wordParts(let parts): return Word(parts: parts, location: lexeme.location)
        case .plainWord(let text): return Word(parts: [.literal(text, quoted: false)], location: lexeme.location)
        default: preconditionFailure("no word in \(lexeme.kind)")
        }
    }

    /// The text of an `.identifier` or `.narration`.
    var text: String {
        guard case .text(let s) = payload else { preconditionFailure("no text in \(lexeme.kind)") }
        return s
    }

    /// The value of an `.integer`.
    var number: Int {
        guard case .number(let n) = payload else { preconditionFailure("no number in \(lexeme.kind)") }
        return n
    }

    /// The public form (what `Lexer.next` returns).
    var token: Token {
        let kind: TokenKind
        switch lexeme.kind {
        case .newline: kind = .newline
        case .semicolon: kind = .semicolon
        case .leftBrace: kind = .leftBrace
        case .rightBrace: kind = .rightBrace
        case .eof: kind = .eof
        case .narration: kind = .narration(text)
        case .word: kind = .word(word)
        case .pipe: kind = .pipe
        case .redirect(let r): kind = .redirect(r)
        case .bang: kind = .bang
        case .integer: kind = .integer(number)
        case .string: kind = .string(word)
        case .variable: kind = .variable(word)
        case .identifier: kind = .identifier(text)
        case .op(let o): kind = .op(o.rawValue)
        }
        return Token(kind: kind, location: lexeme.location)
    }
}

/// The operators of expression mode.
enum Operator: String {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case assign = "=", not = "!", plus = "+", minus = "-", times = "*", divide = "/", remainder = "%"
    case range = "..", leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]", comma = ","

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        default: return false
        }
    }
}

/// Words the parser treats specially: the statement keywords (`Parser.keywords`) and
/// the words of expressions. Told apart by the lexer from the bytes, so the parser
/// never hashes or compares a String to recognise one.
enum Reserved: String, CaseIterable {
    case `let`, `if`, `else`, `while`, `for`, `in`, `repeat`, def, `try`, expect, inside, trap
    case and, or, not, `true`, `false`

    /// Whether it is one of `Parser.keywords` (a statement's first word, or `in`/`else`).
    var isStatementKeyword: Bool {
        switch self {
        case .and, .or, .not, .true, .false: return false
        default: return true
        }
    }

    /// The reserved word spelled by `bytes[range]`, if any.
    static func spelled(by bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Reserved? {
        guard range.count >= 2, range.count <= 6 else { return nil }
        // Most words are no reserved word: their length and first letter tell.
        let first = bytes[range.lowerBound]
        guard first >= 97, first <= 122, firstLetters[range.count] & (1 << UInt32(first - 97)) != 0 else { return nil }
        var key: UInt64 = 0
        for i in range {
            let b = bytes[i]
            guard b >= 97 && b <= 122 else { return nil }   // all are lowercase letters
            key = key << 8 | UInt64(b)
        }
        for (k, word) in keys where k == key { return word }
        return nil
    }

    /// For each length, the first letters of the reserved words that long (bit 0: `a`).
    private static let firstLetters: [UInt32] = allCases.reduce(into: [UInt32](repeating: 0, count: 7)) { letters, word in
        let utf8 = word.rawValue.utf8
        letters[utf8.count] |= 1 << UInt32(utf8.first! - 97)
    }

    /// Each word's bytes packed into an integer (at most 6 of them), compared in one go.
    private static let keys: [(UInt64, Reserved)] = allCases.map { word in
        (word.rawValue.utf8.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, word)
    }
}
