import Glibc

/// Recursive descent over the lexer. Reports every error it can find in one pass,
/// recovering at the next statement boundary; a script runs only if there are none.
public struct Parser {
    var lexer: Lexer
    public private(set) var diagnostics: [Diagnostic] = []
    /// The next token, as read in each mode asked for so far (see `peek`).
    private var commandAhead = Lookahead()
    private var expressionAhead = Lookahead()
    /// Where the lexer stood before the token(s) looked at.
    private var aheadStart = Lexer.State(pos: 0, line: 1, lineStart: 0)

    /// One mode's reading of the next token. Not an Optional: telling whether an
    /// Optional of a struct holding a multi-payload enum is nil goes through the
    /// runtime's generic value witnesses; a plain lexeme Optional is a byte test.
    private struct Lookahead {
        var lexeme: Lexeme?
        var payload = LexemePayload.none
        /// Where the lexer stands after the token.
        var after = Lexer.State(pos: 0, line: 1, lineStart: 0)
    }
    /// Nesting of blocks, to tell a stray `}` from a closing one.
    private var depth = 0
    /// Whether "nested too deeply" was reported (once is enough).
    private var reportedTooDeep = false
    /// Where each statement `parseScript` returned ends (the byte after its last token).
    public private(set) var statementEnds: [Int] = []
    /// The text between the braces of the block `parseBlock` read last.
    private var lastBlockText: BlockText?

    public static let keywords: Set<String> = ["let", "if", "else", "while", "for", "in", "repeat", "def", "try", "expect",
                                               "inside", "trap"]

    public init(lexer: Lexer) { self.lexer = lexer }

    public init(source: SourceFile) { self.lexer = Lexer(source: source) }

    /// Parses a whole script (or `$(...)` body).
    public static func parse(_ source: SourceFile) -> (statements: [Statement], diagnostics: [Diagnostic]) {
        var p = Parser(source: source)
        let statements = p.parseScript()
        return (statements, encodingDiagnostics(source) + p.diagnostics)
    }

    // MARK: limits

    /// How deep blocks, parentheses, lists, `not`/`-` chains and `$(...)`/`${...}` may
    /// nest, all counted together. The parser is recursive: without a limit a hostile
    /// script (2,000 nested `if true {`) would overflow the stack and crash pidsh.
    public static let maxNesting = 100

    static var tooDeepMessage: String {
        "nested too deeply: pidsh allows at most \(maxNesting) levels of blocks, parentheses, lists and substitutions"
    }

    /// Enters one level of nesting at `loc`; past `maxNesting`, reports it (once per
    /// parser) and returns false: the caller gives up on the construct without recursing.
    mutating func enterNesting(_ loc: SourceLocation) -> Bool {
        if lexer.nesting >= Self.maxNesting {
            if !reportedTooDeep { error(loc, Self.tooDeepMessage) }
            reportedTooDeep = true
            return false
        }
        lexer.nesting += 1
        return true
    }

    mutating func leaveNesting() { lexer.nesting -= 1 }

    /// A script is UTF-8 text: a NUL byte or an invalid UTF-8 sequence is a located
    /// error (each would otherwise be passed on silently changed: a NUL cannot be in an
    /// argument, an invalid byte would become U+FFFD). At most one per line, ten in all.
    static func encodingDiagnostics(_ source: SourceFile) -> [Diagnostic] {
        // Nearly every script: ASCII (known already, columns need it) and no NUL.
        if source.isASCII, !source.bytes.withUnsafeBufferPointer({ $0.count > 0 && memchr($0.baseAddress!, 0, $0.count) != nil }) {
            return []
        }
        let bytes = source.bytes
        var out: [Diagnostic] = []
        var line = 1, lineStart = 0, lastLine = 0
        var i = 0
        func report(_ message: String) {
            guard line != lastLine, out.count < 10 else { return }
            lastLine = line
            var col = 1
            for b in bytes[lineStart..<i] where b & 0xC0 != 0x80 { col += 1 }
            out.append(Diagnostic(SourceLocation(fileID: source.nameID, line: line, column: col, offset: i), message))
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == 10 { line += 1; lineStart = i + 1; i += 1; continue }
            if b == 0 { report("NUL byte in the script: a script is text (and no argument can hold a NUL)"); i += 1; continue }
            if b < 0x80 { i += 1; continue }
            let n = utf8SequenceLength(bytes, at: i)
            if n == 0 {
                report("invalid UTF-8 (byte 0x\(String(b, radix: 16, uppercase: true))): pidsh reads scripts as UTF-8 text")
                i += 1
            } else {
                i += n
            }
        }
        return out
    }

    /// The length of the well-formed UTF-8 sequence at i (2...4), or 0 if there is none.
    static func utf8SequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
        let b = bytes[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: return 0
        }
        guard i + n <= bytes.count else { return 0 }
        guard bytes[i + 1] >= lo && bytes[i + 1] <= hi else { return 0 }
        for k in 2..<max(2, n) where bytes[i + k] & 0xC0 != 0x80 { return 0 }
        return n
    }

    // MARK: token plumbing

    /// The next token's kind and location, read in `mode` (a `<` is a redirection in a
    /// command, less-than in an expression). Each mode's reading is kept until a token
    /// is taken: the parser often looks at one token in both modes (`let x = ...` asks
    /// whether a command or an expression follows), and re-reading it was a large part
    /// of parsing.
    mutating func peek(_ mode: LexMode) -> Lexeme {
        switch mode {
        case .command:
            if let l = commandAhead.lexeme { return l }
            commandAhead = readAhead(.command)
            return commandAhead.lexeme!
        case .expression:
            if let l = expressionAhead.lexeme { return l }
            expressionAhead = readAhead(.expression)
            return expressionAhead.lexeme!
        }
    }

    /// Whether a token has been read ahead (in either mode).
    private var hasAhead: Bool { commandAhead.lexeme != nil || expressionAhead.lexeme != nil }

    /// Reads the next token in `mode`, from where the token(s) looked at start.
    private mutating func readAhead(_ mode: LexMode) -> Lookahead {
        if hasAhead {
            lexer.restore(aheadStart)
        } else {
            aheadStart = lexer.state
        }
        let token = lexer.lex(mode)
        return Lookahead(lexeme: token.lexeme, payload: token.payload, after: lexer.state)
    }

    /// The next token, consumed: its payload is moved out, not copied.
    @discardableResult
    mutating func take(_ mode: LexMode) -> LexedToken {
        let lexeme = peek(mode)
        var payload = LexemePayload.none
        let after: Lexer.State
        switch mode {
        case .command:
            swap(&payload, &commandAhead.payload)
            after = commandAhead.after
        case .expression:
            swap(&payload, &expressionAhead.payload)
            after = expressionAhead.after
        }
        commandAhead.lexeme = nil
        commandAhead.payload = .none
        expressionAhead.lexeme = nil
        expressionAhead.payload = .none
        lexer.restore(after)
        return LexedToken(lexeme: lexeme, payload: payload)
    }

    /// Where the next token starts (after blanks and comments), once it has been read.
    var nextTokenStart: Int { hasAhead ? aheadStart.pos : lexer.state.pos }

    /// The bare text of the next word in command mode (nil if it is no bare word).
    mutating func peekBareWord() -> String? { peekWord()?.bareText }

    /// The next word in command mode, if it is one (a copy: for rare checks only).
    mutating func peekWord() -> Word? {
        guard case .word = peek(.command).kind else { return nil }
        return LexedToken(lexeme: commandAhead.lexeme!, payload: commandAhead.payload).word
    }

    /// Takes the next token, except one that ends the statement (newline, `;`, `}`, end)
    /// or opens a block: after an error, recovery must still see it, or it would skip
    /// the following line or block too.
    @discardableResult
    mutating func takeUnlessEnd(_ mode: LexMode) -> LexedToken {
        let t = peek(mode)
        if t.kind.endsStatement || t.kind == .leftBrace { return LexedToken(lexeme: t, payload: .none) }
        return take(mode)
    }

    mutating func error(_ loc: SourceLocation, _ message: String, notes: [String] = [], incomplete: Bool = false) {
        diagnostics.append(Diagnostic(loc, message, notes: notes, incomplete: incomplete))
    }

    /// Collects the lexer's diagnostics (they arrive as tokens are read).
    mutating func mergeLexerDiagnostics() {
        if lexer.diagnostics.isEmpty { return }
        var seen = Set(diagnostics.map { "\($0.location.offset):\($0.message)" })
        // The lexer may report one spot twice (a token re-read after a rewind).
        for d in lexer.diagnostics where seen.insert("\(d.location.offset):\(d.message)").inserted {
            diagnostics.append(d)
        }
    }

    /// After an error: skip to the end of the statement, jumping over whole blocks.
    mutating func synchronize() {
        var braces = 0
        while true {
            switch peek(.command).kind {
            case .eof: return
            case .leftBrace: braces += 1; take(.command)
            case .rightBrace:
                if braces == 0 { return }
                braces -= 1; take(.command)
            case .newline, .semicolon:
                if braces == 0 { return }
                take(.command)
            default: take(.command)
            }
        }
    }

    // MARK: statements

    public mutating func parseScript() -> [Statement] {
        var out: [Statement] = []
        while true {
            let t = peek(.command)
            switch t.kind {
            case .eof:
                mergeLexerDiagnostics()
                return out
            case .newline, .semicolon:
                take(.command)
            case .rightBrace:
                take(.command)
                error(t.location, "`}` without a matching `{`")
            default:
                if let s = parseStatement() {
                    out.append(s)
                    statementEnds.append(nextTokenStart)
                    endStatement()
                } else {
                    synchronize()
                }
            }
        }
    }

    /// Requires a newline, `;`, `}` or the end after a statement.
    mutating func endStatement() {
        let t = peek(.command)
        if t.kind.endsStatement { return }
        error(t.location, "unexpected \(describeNext(.command)) after the statement; put a newline or `;` between statements")
        synchronize()
    }

    mutating func parseStatement() -> Statement? {
        let t = peek(.command)
        switch t.kind {
        case .narration:
            return .narration(take(.command).text, location: t.location)
        case .word(let reserved?) where reserved.isStatementKeyword:
            return parseKeywordStatement(reserved, at: t.location)
        case .word, .bang, .redirect:
            return parsePipeline().map { .pipeline($0) }
        case .leftBrace:
            error(t.location, "a block `{` must follow if, else, while, for, repeat or def")
            synchronize()
            return nil
        default:
            let taken = take(.command)
            error(t.location, "unexpected \(describe(taken))")
            synchronize()
            return nil
        }
    }

    /// A statement that starts with a keyword (`let`, `if`, ...).
    mutating func parseKeywordStatement(_ keyword: Reserved, at location: SourceLocation) -> Statement? {
        switch keyword {
        case .let: return parseLet()
        case .if: return parseIf()
        case .while: return parseWhile()
        case .for: return parseFor()
        case .repeat: return parseRepeat()
        case .def: return parseDef()
        case .try: return parseTry()
        case .expect: return parseExpect()
        case .inside: return parseInside()
        case .trap: return parseTrap()
        case .else:
            take(.command)
            error(location, "`else` without an `if` (it must follow the `}` of an if block, on the same line)")
            synchronize()
            return nil
        default:
            take(.command)
            error(location, "`\(keyword.rawValue)` cannot start a statement")
            synchronize()
            return nil
        }
    }

    /// `let NAME = COMMAND-or-EXPRESSION`
    mutating func parseLet() -> Statement? {
        let kw = take(.command)
        let nameTok = takeUnlessEnd(.expression)
        guard case .identifier(let reserved) = nameTok.kind, Self.isName(nameTok.text) else {
            error(nameTok.location, "`let` needs a variable name (letters, digits, _), got \(describe(nameTok))")
            synchronize()
            return nil
        }
        let name = nameTok.text
        if let reserved, reserved.isStatementKeyword {
            error(nameTok.location, "`\(name)` is a keyword and cannot be a variable name")
        }
        let eq = takeUnlessEnd(.expression)
        guard case .op(.assign) = eq.kind else {
            error(eq.location, "expected `=` after `let \(name)`", incomplete: eq.kind == .eof)
            synchronize()
            return nil
        }
        let next = peek(.command)
        if next.kind.endsStatement {
            error(next.location, "`let \(name) =` needs a value: a command or an expression", incomplete: next.kind == .eof)
            return nil
        }
        let rhs: RightSide
        if startsCommand() {
            guard let p = parsePipeline() else { return nil }
            rhs = .command(p)
        } else {
            guard let e = parseExpression() else { synchronize(); return nil }
            rhs = .expression(e)
        }
        return .assignment(name: name, value: rhs, location: kw.location)
    }

    static func isName(_ s: String) -> Bool {
        guard let f = s.utf8.first, Lexer.isIdentStart(f) else { return false }
        return s.utf8.allSatisfy(Lexer.isIdentChar)
    }

    /// Does what follows read as a command (a bare word) rather than an expression?
    mutating func startsCommand() -> Bool {
        switch peek(.expression).kind {
        case .identifier(let reserved): return reserved != .true && reserved != .false && reserved != .not
        case .op(.not): return true
        default: return false
        }
    }

    mutating func parseCondition(after keyword: String) -> Condition? {
        let t = peek(.command)
        if t.kind.endsStatement || t.kind == .leftBrace {
            error(t.location, "`\(keyword)` needs a condition before `{`", incomplete: t.kind == .eof)
            return nil
        }
        if startsCommand() {
            return parsePipeline(inCondition: true).map { .command($0) }
        }
        return parseExpression().map { .expression($0) }
    }

    /// `{ statements }`
    mutating func parseBlock(for construct: String) -> [Statement]? {
        let open = peek(.command)
        guard open.kind == .leftBrace else {
            error(open.location, "expected `{` to open the \(construct) block, got \(describeNext(.command))", incomplete: open.kind == .eof)
            return nil
        }
        // Too deep: the caller's synchronize() skips the block without recursing.
        guard enterNesting(open.location) else { return nil }
        defer { leaveNesting() }
        take(.command)
        let inside = lexer.state
        depth += 1
        defer { depth -= 1 }
        var body: [Statement] = []
        while true {
            let t = peek(.command)
            switch t.kind {
            case .rightBrace:
                take(.command)
                lastBlockText = BlockText(start: inside.pos, end: t.location.offset, line: inside.line, lineStart: inside.lineStart)
                return body
            case .eof:
                error(open.location, "this `{` of the \(construct) block is never closed", incomplete: true)
                return nil
            case .newline, .semicolon:
                take(.command)
            default:
                if let s = parseStatement() { body.append(s); endStatement() } else { synchronize() }
            }
        }
    }

    /// `if ... else if ... else ...`: the `else if` branches are collected in a loop,
    /// not by recursion (see `Statement.ifElse`).
    mutating func parseIf() -> Statement? {
        let first = take(.command).location
        var branches: [Branch] = []
        var keyword = first
        while true {
            guard let cond = parseCondition(after: "if") else { synchronize(); return nil }
            guard let body = parseBlock(for: "if") else { synchronize(); return nil }
            branches.append(Branch(condition: cond, body: body, location: keyword))
            guard case .word(.else?) = peek(.command).kind else {
                return .ifElse(branches: branches, otherwise: nil, location: first)
            }
            take(.command)
            guard case .word(.if?) = peek(.command).kind else { break }
            keyword = take(.command).location
        }
        guard let otherwise = parseBlock(for: "else") else { synchronize(); return nil }
        return .ifElse(branches: branches, otherwise: otherwise, location: first)
    }

    mutating func parseWhile() -> Statement? {
        let kw = take(.command)
        guard let cond = parseCondition(after: "while") else { synchronize(); return nil }
        guard let body = parseBlock(for: "while") else { synchronize(); return nil }
        return .whileLoop(condition: cond, body: body, location: kw.location)
    }

    /// `for NAME in LIST-or-RANGE { ... }`
    mutating func parseFor() -> Statement? {
        let kw = take(.command)
        let nameTok = takeUnlessEnd(.expression)
        guard case .identifier(let reserved) = nameTok.kind, reserved != .in, Self.isName(nameTok.text) else {
            error(nameTok.location, "`for` needs a loop variable name, got \(describe(nameTok))", incomplete: nameTok.kind == .eof)
            synchronize()
            return nil
        }
        let name = nameTok.text
        let inTok = takeUnlessEnd(.expression)
        guard case .identifier(.in?) = inTok.kind else {
            error(inTok.location, "expected `in` after `for \(name)`", incomplete: inTok.kind == .eof)
            synchronize()
            return nil
        }
        let source: ForSource
        if startsCommand() || startsPathWord() || peek(.expression).kind == .op(.times) {   // `for f in *.txt`
            var words: [Word] = []
            while case .word = peek(.command).kind {
                words.append(take(.command).word)
            }
            source = .words(words)
        } else {
            guard let e = parseExpression() else { synchronize(); return nil }
            source = .expression(e)
        }
        guard let body = parseBlock(for: "for") else { synchronize(); return nil }
        return .forLoop(variable: name, source: source, body: body, location: kw.location)
    }

    /// `for f in $dir/*`: a word that starts with a variable and goes on with a path
    /// (`$dir/...`) is a shell word to expand and glob, not an expression.
    mutating func startsPathWord() -> Bool {
        guard let w = peekWord(), w.parts.count >= 2 else { return false }
        switch w.parts[0] {
        case .variable, .special: break
        default: return false
        }
        if case .literal(let t, _) = w.parts[1], t.hasPrefix("/") { return true }
        return false
    }

    mutating func parseRepeat() -> Statement? {
        let kw = take(.command)
        let next = peek(.command)
        if next.kind == .leftBrace || next.kind.endsStatement {
            error(next.location, "`repeat` needs a count before `{`", incomplete: next.kind == .eof)
            synchronize()
            return nil
        }
        guard let count = parseExpression() else { synchronize(); return nil }
        guard let body = parseBlock(for: "repeat") else { synchronize(); return nil }
        return .repeatLoop(count: count, body: body, location: kw.location)
    }

    /// `def NAME PARAM... { ... }`
    mutating func parseDef() -> Statement? {
        let kw = take(.command)
        let nameTok = takeUnlessEnd(.command)
        guard case .word = nameTok.kind, let name = nameTok.word.bareText, !name.isEmpty else {
            error(nameTok.location, "`def` needs a command name", incomplete: nameTok.kind == .eof)
            synchronize()
            return nil
        }
        if Self.keywords.contains(name) { error(nameTok.location, "`\(name)` is a keyword and cannot be redefined") }
        var params: [String] = []
        while case .word = peek(.command).kind {
            let t = take(.command)
            guard let p = t.word.bareText, Self.isName(p) else {
                error(t.location, "a parameter of `def \(name)` must be a plain name")
                continue
            }
            params.append(p)
        }
        guard let body = parseBlock(for: "def") else { synchronize(); return nil }
        return .function(name: name, parameters: params, body: body, location: kw.location)
    }

    /// `inside NS|PROCESS { ... }`
    mutating func parseInside() -> Statement? {
        let kw = take(.command)
        let t = peek(.command)
        guard case .word = t.kind else {
            error(t.location, "`inside` needs a namespace or a process before `{` (inside $ns { ... })", incomplete: t.kind == .eof)
            synchronize()
            return nil
        }
        let target = take(.command).word
        guard let body = parseBlock(for: "inside"), let text = lastBlockText else { synchronize(); return nil }
        return .inside(target: target, body: body, text: text, location: kw.location)
    }

    /// `trap SIG... { ... }`, `trap SIG... -`, or `trap` alone.
    mutating func parseTrap() -> Statement? {
        let kw = take(.command)
        var signals: [Word] = []
        while case .word = peek(.command).kind, peekBareWord() != "-" {
            signals.append(take(.command).word)
        }
        let next = peek(.command)
        if signals.isEmpty {
            if next.kind.endsStatement { return .trap(signals: [], action: .list, location: kw.location) }
            error(next.location, "`trap` needs a signal before the block (trap USR1 { ... })", incomplete: next.kind == .eof)
            synchronize()
            return nil
        }
        if case .word = next.kind, peekBareWord() == "-" {
            take(.command)
            return .trap(signals: signals, action: .reset, location: kw.location)
        }
        guard next.kind == .leftBrace else {
            error(next.location, "`trap \(signals.count == 1 ? "SIG" : "SIGS")` needs a block to run, or `-` to reset (trap USR1 { echo got it }, trap USR1 -)",
                  incomplete: next.kind == .eof)
            synchronize()
            return nil
        }
        guard let body = parseBlock(for: "trap") else { synchronize(); return nil }
        return .trap(signals: signals, action: .run(body), location: kw.location)
    }

    /// `try COMMAND` (a pipeline or a let).
    mutating func parseTry() -> Statement? {
        let kw = take(.command)
        let t = peek(.command)
        if t.kind.endsStatement {
            error(t.location, "`try` needs a command", incomplete: t.kind == .eof)
            return nil
        }
        if case .word(.let?) = t.kind {
            guard let s = parseLet() else { return nil }
            return .tryStatement(s, location: kw.location)
        }
        if case .word(.inside?) = t.kind {
            guard let s = parseInside() else { return nil }
            return .tryStatement(s, location: kw.location)
        }
        guard let p = parsePipeline() else { return nil }
        return .tryStatement(.pipeline(p), location: kw.location)
    }

    /// `expect EXPRESSION ["message"]`
    mutating func parseExpect() -> Statement? {
        let kw = take(.command)
        let next = peek(.command)
        if next.kind.endsStatement {
            error(next.location, "`expect` needs an expression", incomplete: next.kind == .eof)
            return nil
        }
        guard let e = parseExpression() else { synchronize(); return nil }
        var message: Expr?
        switch peek(.expression).kind {
        case .string, .variable:
            message = parsePrimary()
        default:
            break
        }
        return .expect(e, message: message, location: kw.location)
    }

    // MARK: pipelines

    mutating func parsePipeline(inCondition: Bool = false) -> Pipeline? {
        let first = peek(.command)
        var negated = false
        if first.kind == .bang {
            take(.command)
            negated = true
        }
        var commands: [Command] = []
        while true {
            guard let c = parseCommand(inCondition: inCondition) else { return nil }
            commands.append(c)
            if peek(.command).kind == .pipe {
                let bar = take(.command)
                let next = peek(.command)
                if next.kind.endsStatement || next.kind == .leftBrace {
                    error(bar.location, "`|` needs a command after it", incomplete: next.kind == .eof)
                    return nil
                }
                continue
            }
            break
        }
        return Pipeline(commands: commands, negated: negated, location: first.location)
    }

    mutating func parseCommand(inCondition: Bool) -> Command? {
        var words: [Word] = []
        words.reserveCapacity(6)
        var redirections: [Redirection] = []
        let start = peek(.command).location
        loop: while true {
            let t = peek(.command)
            switch t.kind {
            case .word:
                words.append(take(.command).word)
            case .redirect(let kind):
                take(.command)
                guard let r = parseRedirection(kind, at: t.location) else { return nil }
                redirections.append(r)
            case .leftBrace where inCondition:
                break loop
            case .leftBrace:
                take(.command)
                let close = peek(.command)
                if close.kind == .rightBrace, close.location.offset == t.location.offset + 1 {
                    // `{}` touching: a word, as in `find . -exec echo {} \;` or `xargs -I{}`.
                    take(.command)
                    var loc = t.location
                    loc.length = 2
                    words.append(Word(parts: [.literal("{}", quoted: false)], location: loc))
                    continue
                }
                error(t.location, "unexpected `{` in a command (quote it as '{' to pass it as an argument)")
                return nil
            case .bang:
                take(.command)
                words.append(Word(parts: [.literal("!", quoted: false)], location: t.location))
            default:
                break loop
            }
        }
        if words.isEmpty {
            let t = peek(.command)
            error(t.location, redirections.isEmpty ? "expected a command, got \(describeNext(.command))" : "a redirection needs a command", incomplete: t.kind == .eof)
            return nil
        }
        return Command(words: words, redirections: redirections, location: start)
    }

    /// The target of a redirection whose operator (at `location`) was just taken.
    mutating func parseRedirection(_ kind: RedirectKind, at location: SourceLocation) -> Redirection? {
        if kind == .errorToOutput { return Redirection(kind: kind, target: nil, location: location) }
        let target = peek(.command)
        guard case .word = target.kind else {
            error(target.location, "`\(kind.rawValue)` needs a file name after it", incomplete: target.kind == .eof)
            return nil
        }
        return Redirection(kind: kind, target: take(.command).word, location: location)
    }

    // MARK: expressions

    public mutating func parseExpression() -> Expr? { parseOr() }

    /// The inside of `${...}`: an expression where a bare name reads a variable.
    mutating func parseBracedExpression(at loc: SourceLocation) -> Expr {
        braced = true
        defer { braced = false }
        if peek(.expression).kind == .eof {
            error(loc, "empty `${}`")
            return .string(Word(parts: [.literal("", quoted: true)], location: loc))
        }
        let e = parseExpression() ?? .string(Word(parts: [.literal("", quoted: true)], location: loc))
        let t = peek(.expression)
        if t.kind != .eof { error(t.location, "unexpected \(describeNext(.expression)) in `${...}`") }
        mergeLexerDiagnostics()
        return e
    }
    private var braced = false

    mutating func parseOr() -> Expr? {
        guard let first = parseAnd() else { return nil }
        var operations: [Operation] = []
        while case .identifier(.or?) = peek(.expression).kind {
            let t = take(.expression)
            guard let rhs = parseAnd() else { return nil }
            operations.append(Operation(op: "or", operand: rhs, location: t.location))
        }
        return Self.chain(first, operations)
    }

    mutating func parseAnd() -> Expr? {
        guard let first = parseNot() else { return nil }
        var operations: [Operation] = []
        while case .identifier(.and?) = peek(.expression).kind {
            let t = take(.expression)
            guard let rhs = parseNot() else { return nil }
            operations.append(Operation(op: "and", operand: rhs, location: t.location))
        }
        return Self.chain(first, operations)
    }

    /// A precedence level's operands, flat (see `Expr.chain`): no recursion per term.
    static func chain(_ first: Expr, _ operations: [Operation]) -> Expr {
        operations.isEmpty ? first : .chain(first, operations)
    }

    mutating func parseNot() -> Expr? {
        let t = peek(.expression)
        switch t.kind {
        case .identifier(.not?), .op(.not):
            take(.expression)
            guard enterNesting(t.location) else { return nil }
            defer { leaveNesting() }
            return parseNot().map { .unary("not", $0, t.location) }
        default:
            return parseComparison()
        }
    }

    mutating func parseComparison() -> Expr? {
        guard let lhs = parseRange() else { return nil }
        let t = peek(.expression)
        if case .op(let o) = t.kind, o.isComparison {
            take(.expression)
            guard let rhs = parseRange() else { return nil }
            return .binary(o.rawValue, lhs, rhs, t.location)
        }
        if case .op(.assign) = t.kind {
            error(t.location, "`=` assigns only in `let`; compare with `==`")
            take(.expression)
            _ = parseRange()
            return nil
        }
        return lhs
    }

    mutating func parseRange() -> Expr? {
        guard let lhs = parseAdditive() else { return nil }
        if case .op(.range) = peek(.expression).kind {
            let t = take(.expression)
            guard let rhs = parseAdditive() else { return nil }
            return .range(lhs, rhs, t.location)
        }
        return lhs
    }

    mutating func parseAdditive() -> Expr? {
        guard let first = parseMultiplicative() else { return nil }
        var operations: [Operation] = []
        while case .op(let o) = peek(.expression).kind, o == .plus || o == .minus {
            let t = take(.expression)
            guard let rhs = parseMultiplicative() else { return nil }
            operations.append(Operation(op: o.rawValue, operand: rhs, location: t.location))
        }
        return Self.chain(first, operations)
    }

    mutating func parseMultiplicative() -> Expr? {
        guard let first = parseUnary() else { return nil }
        var operations: [Operation] = []
        while case .op(let o) = peek(.expression).kind, o == .times || o == .divide || o == .remainder {
            let t = take(.expression)
            guard let rhs = parseUnary() else { return nil }
            operations.append(Operation(op: o.rawValue, operand: rhs, location: t.location))
        }
        return Self.chain(first, operations)
    }

    mutating func parseUnary() -> Expr? {
        let t = peek(.expression)
        if case .op(.minus) = t.kind {
            take(.expression)
            guard enterNesting(t.location) else { return nil }
            defer { leaveNesting() }
            return parseUnary().map { .unary("-", $0, t.location) }
        }
        return parsePrimary()
    }

    mutating func parsePrimary() -> Expr? {
        let t = takeUnlessEnd(.expression)
        switch t.kind {
        case .integer: return .integer(t.number, t.location)
        case .string: return .string(t.word)
        case .variable: return .variable(t.word)
        case .identifier(.true?): return .boolean(true, t.location)
        case .identifier(.false?): return .boolean(false, t.location)
        case .identifier: return identifierValue(t.text, at: t.location)
        case .op(.leftParen):
            guard enterNesting(t.location) else { return nil }
            defer { leaveNesting() }
            guard let e = parseExpression() else { return nil }
            let close = takeUnlessEnd(.expression)
            guard case .op(.rightParen) = close.kind else {
                error(close.location, "expected `)` to close the `(` at \(t.location.line):\(t.location.column)", incomplete: close.kind == .eof)
                return nil
            }
            return e
        case .op(.leftBracket):
            guard enterNesting(t.location) else { return nil }
            defer { leaveNesting() }
            return parseListItems().map { .list($0, t.location) }
        default:
            error(t.location, "expected a value, got \(describe(t))", incomplete: t.kind == .eof)
            return nil
        }
    }

    /// A bare word in an expression: text, or inside `${...}` a variable read.
    func identifierValue(_ s: String, at location: SourceLocation) -> Expr {
        // `${x}`, the usual case, without splitting.
        if braced, Self.isName(s) { return .name(s, fields: [], location) }
        if braced, s.utf8.contains(46) {                                   // `${x.pid}`
            let parts = s.split(separator: ".").map(String.init)
            if let first = parts.first, Self.isName(first) {
                return .name(first, fields: Array(parts.dropFirst()), location)
            }
        }
        return .string(Word(parts: [.literal(s, quoted: true)], location: location))
    }

    /// The items of a list after its `[`, up to and with the `]`.
    mutating func parseListItems() -> [Expr]? {
        var items: [Expr] = []
        while true {
            while peek(.expression).kind == .newline { take(.expression) }
            if case .op(.rightBracket) = peek(.expression).kind { take(.expression); break }
            guard let e = parseExpression() else { return nil }
            items.append(e)
            while peek(.expression).kind == .newline { take(.expression) }
            let sep = takeUnlessEnd(.expression)
            if case .op(.comma) = sep.kind { continue }
            if case .op(.rightBracket) = sep.kind { break }
            error(sep.location, "expected `,` or `]` in the list, got \(describe(sep))", incomplete: sep.kind == .eof)
            return nil
        }
        return items
    }

    /// How an error names the next token read in `mode`.
    mutating func describeNext(_ mode: LexMode) -> String {
        _ = peek(mode)
        let ahead = mode == .command ? commandAhead : expressionAhead
        return describe(LexedToken(lexeme: ahead.lexeme!, payload: ahead.payload))
    }

    func describe(_ t: LexedToken) -> String {
        switch t.kind {
        case .newline: return "end of line"
        case .semicolon: return "`;`"
        case .leftBrace: return "`{`"
        case .rightBrace: return "`}`"
        case .eof: return "end of input"
        case .narration: return "a narration line"
        case .word: return "`\(t.word.literalText ?? "word")`"
        case .pipe: return "`|`"
        case .redirect(let r): return "`\(r.rawValue)`"
        case .bang: return "`!`"
        case .integer: return "`\(t.number)`"
        case .string: return "a string"
        case .variable: return "a variable"
        case .identifier: return "`\(t.text)`"
        case .op(let o): return "`\(o.rawValue)`"
        }
    }
}
