import Foundation
import Glibc
import XCTest
@testable import PidshKit

/// What running a script left: its outcome and everything it printed.
struct ScriptRun {
    var outcome: Interpreter.Outcome
    var out: String
    var err: String
}

/// Runs `text` in a fresh capturing interpreter and tears it down (no process or mount
/// of the script survives the call).
@discardableResult
func runScript(_ text: String, name: String = "t.pidsh", arguments: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) -> ScriptRun {
    let i = Interpreter.capturing()
    i.scriptName = name
    i.scriptArguments = arguments
    let outcome = i.run(text, name: name)
    let failures = i.close()
    XCTAssertEqual(failures, [], "close() could not undo everything", file: file, line: line)
    return ScriptRun(outcome: outcome, out: i.out.text, err: i.err.text)
}

/// Lexes in one mode to the end of the input.
func lexAll(_ text: String, mode: LexMode = .command, name: String = "t.pidsh") -> (tokens: [Token], diagnostics: [Diagnostic]) {
    var lexer = Lexer(source: SourceFile(name: name, text: text))
    var tokens: [Token] = []
    while true {
        let t = lexer.next(mode)
        tokens.append(t)
        if t.kind == .eof || tokens.count > 10_000 { break }
    }
    return (tokens, lexer.diagnostics)
}

func parse(_ text: String, name: String = "t.pidsh") -> (statements: [Statement], diagnostics: [Diagnostic]) {
    Parser.parse(SourceFile(name: name, text: text))
}

/// A script that must parse without a syntax error (asserted at the caller's line):
/// its source and statements, for the launcher's decisions made from a parsed script.
func parsedCleanly(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> (source: SourceFile, statements: [Statement]) {
    let source = SourceFile(name: "t", text: code)
    let (statements, diagnostics) = Parser.parse(source)
    XCTAssertEqual(diagnostics.count, 0, "\(diagnostics)", file: file, line: line)
    return (source, statements)
}

/// PIDs of the live (non-zombie) children of this test process.
func liveChildren() -> [Int32] {
    let me = getpid()
    var out: [Int32] = []
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    for e in entries {
        guard let pid = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 1, let ppid = Int32(fields[1]) else { continue }
        if ppid == me && fields[0] != "Z" { out.append(pid) }
    }
    return out
}

/// A fresh temporary directory.
func makeScratchDirectory(_ prefix: String) -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(cString: template)
}

// MARK: a compact, location-free rendering of the AST, for readable assertions

enum Dump {
    static func script(_ s: [Statement]) -> String { s.map(statement).joined(separator: "; ") }

    static func block(_ s: [Statement]) -> String { "{" + script(s) + "}" }

    static func statement(_ s: Statement) -> String {
        switch s {
        case .pipeline(let p): return pipeline(p)
        case .assignment(let name, let rhs, _):
            switch rhs {
            case .command(let p): return "let \(name) = cmd(\(pipeline(p)))"
            case .expression(let e): return "let \(name) = \(expr(e))"
            }
        case .ifElse(let branches, let otherwise, _):
            var s = branches.map { "if \(condition($0.condition)) \(block($0.body))" }.joined(separator: " else ")
            if let otherwise { s += " else \(block(otherwise))" }
            return s
        case .whileLoop(let c, let body, _): return "while \(condition(c)) \(block(body))"
        case .forLoop(let v, let src, let body, _):
            switch src {
            case .expression(let e): return "for \(v) in \(expr(e)) \(block(body))"
            case .words(let ws): return "for \(v) in words(\(ws.map(word).joined(separator: " "))) \(block(body))"
            }
        case .repeatLoop(let n, let body, _): return "repeat \(expr(n)) \(block(body))"
        case .function(let name, let params, let body, _):
            return "def \(name)(\(params.joined(separator: " "))) \(block(body))"
        case .tryStatement(let inner, _): return "try \(statement(inner))"
        case .expect(let e, let m, _): return "expect \(expr(e))" + (m.map { " msg \(expr($0))" } ?? "")
        case .narration(let t, _): return "#:\(t)"
        case .inside(let target, let body, _, _): return "inside \(word(target)) \(block(body))"
        case .trap(let signals, let action, _):
            let sigs = signals.map(word).joined(separator: " ")
            switch action {
            case .run(let body): return "trap \(sigs) \(block(body))"
            case .reset: return "trap \(sigs) -"
            case .list: return "trap"
            }
        }
    }

    static func condition(_ c: Condition) -> String {
        switch c {
        case .command(let p): return "cmd(\(pipeline(p)))"
        case .expression(let e): return expr(e)
        }
    }

    static func pipeline(_ p: Pipeline) -> String {
        (p.negated ? "! " : "") + p.commands.map(command).joined(separator: " | ")
    }

    static func command(_ c: Command) -> String {
        var parts = c.words.map(word)
        for r in c.redirections {
            parts.append(r.kind.rawValue + (r.target.map(word) ?? ""))
        }
        return parts.joined(separator: " ")
    }

    /// Unquoted literals as they are, quoted ones in '...', substitutions as $... forms.
    static func word(_ w: Word) -> String {
        w.parts.map(part).joined()
    }

    static func part(_ p: WordPart) -> String {
        switch p {
        case .literal(let t, let quoted): return quoted ? "'\(t)'" : t
        case .variable(let name, let fields, _): return "$" + ([name] + fields).joined(separator: ".")
        case .expression(let e): return "${\(expr(e))}"
        case .commandSubstitution(let s, _): return "$(\(script(s)))"
        case .special(let s, _): return "$" + s
        }
    }

    static func expr(_ e: Expr) -> String {
        switch e {
        case .integer(let n, _): return String(n)
        case .boolean(let b, _): return String(b)
        case .string(let w): return "\"" + word(w) + "\""
        case .variable(let w): return word(w)
        case .list(let items, _): return "[" + items.map(expr).joined(separator: ", ") + "]"
        case .range(let a, let b, _): return "(\(expr(a))..\(expr(b)))"
        case .unary(let op, let x, _): return "(\(op) \(expr(x)))"
        case .binary(let op, let a, let b, _): return "(\(op) \(expr(a)) \(expr(b)))"
        case .chain(let first, let operations):
            // Shown as the left-to-right tree it evaluates as: `(+ (+ 1 2) 3)`.
            return operations.reduce(expr(first)) { "(\($1.op) \($0) \(expr($1.operand)))" }
        case .name(let n, let fields, _): return ([n] + fields).joined(separator: ".")
        }
    }
}

/// The kinds of tokens, rendered short: `w:echo`, `>`, `nl`, `eof`...
func kindText(_ k: TokenKind) -> String {
    switch k {
    case .newline: return "nl"
    case .semicolon: return ";"
    case .leftBrace: return "{"
    case .rightBrace: return "}"
    case .eof: return "eof"
    case .narration(let t): return "#:\(t)"
    case .word(let w): return "w:" + Dump.word(w)
    case .pipe: return "|"
    case .redirect(let r): return r.rawValue
    case .bang: return "!"
    case .integer(let n): return "int:\(n)"
    case .string(let w): return "s:" + Dump.word(w)
    case .variable(let w): return "v:" + Dump.word(w)
    case .identifier(let s): return "id:" + s
    case .op(let o): return "op:" + o
    }
}

extension WordPart {
    /// The location a substitution part carries (a dummy for others).
    var locationForTest: SourceLocation {
        switch self {
        case .variable(_, _, let l), .commandSubstitution(_, let l), .special(_, let l): return l
        case .expression(let e): return e.location
        case .literal: return SourceLocation(file: "", line: 0, column: 0)
        }
    }
}
