/// The typed syntax tree. A script is parsed whole into [Statement] before any runs.
public indirect enum Statement: Equatable, Sendable {
    case pipeline(Pipeline)
    case assignment(name: String, value: RightSide, location: SourceLocation)
    /// `if C1 { } else if C2 { } ... else { }`: every `if` of an `else if` chain is one
    /// branch of one statement, so a chain of 20,000 neither parses, runs nor is freed by
    /// recursion.
    case ifElse(branches: [Branch], otherwise: [Statement]?, location: SourceLocation)
    case whileLoop(condition: Condition, body: [Statement], location: SourceLocation)
    case forLoop(variable: String, source: ForSource, body: [Statement], location: SourceLocation)
    case repeatLoop(count: Expr, body: [Statement], location: SourceLocation)
    case function(name: String, parameters: [String], body: [Statement], location: SourceLocation)
    case tryStatement(Statement, location: SourceLocation)
    case expect(Expr, message: Expr?, location: SourceLocation)
    case narration(String, location: SourceLocation)
    /// `inside NS|PROCESS { ... }`: the block runs in a new pidsh inside that namespace.
    case inside(target: Word, body: [Statement], text: BlockText, location: SourceLocation)
    /// `trap SIG... { ... }`, `trap SIG... -`, `trap` (list).
    case trap(signals: [Word], action: TrapAction, location: SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .pipeline(let p): return p.location
        case .assignment(_, _, let l), .ifElse(_, _, let l), .whileLoop(_, _, let l),
             .forLoop(_, _, _, let l), .repeatLoop(_, _, let l), .function(_, _, _, let l),
             .tryStatement(_, let l), .expect(_, _, let l), .narration(_, let l),
             .inside(_, _, _, let l), .trap(_, _, let l):
            return l
        }
    }
}

/// One `if CONDITION { BODY }` of an `if`/`else if` chain.
public struct Branch: Equatable, Sendable {
    public var condition: Condition
    public var body: [Statement]
    public var location: SourceLocation
}

/// Where a block's statements stand in its source (between its braces), so another
/// pidsh can parse exactly that text and locate its errors as this one would.
public struct BlockText: Equatable, Sendable {
    /// Byte offsets: just after the `{`, and of the `}`.
    public var start: Int
    public var end: Int
    /// The line the text starts on, and that line's first byte.
    public var line: Int
    public var lineStart: Int
}

/// What `trap` does with its signals.
public enum TrapAction: Equatable, Sendable {
    /// Run this block between statements when one arrives.
    case run([Statement])
    /// `-`: back to pidsh's default for the signal.
    case reset
    /// No signal given: list the traps.
    case list
}

/// `a | b | c`, possibly negated with `!`.
public struct Pipeline: Equatable, Sendable {
    public var commands: [Command]
    public var negated: Bool
    public var location: SourceLocation
}

public struct Command: Equatable, Sendable {
    public var words: [Word]
    public var redirections: [Redirection]
    public var location: SourceLocation
}

public struct Redirection: Equatable, Sendable {
    public var kind: RedirectKind
    public var target: Word?          // nil for 2>&1
    public var location: SourceLocation
}

/// The right side of `let`: a command (its value or output) or an expression.
public enum RightSide: Equatable, Sendable {
    case command(Pipeline)
    case expression(Expr)
}

/// An `if`/`while` condition: an expression, or a command whose status decides.
public enum Condition: Equatable, Sendable {
    case command(Pipeline)
    case expression(Expr)
}

public enum ForSource: Equatable, Sendable {
    case expression(Expr)
    case words([Word])
}

public indirect enum Expr: Equatable, Sendable {
    case integer(Int, SourceLocation)
    case boolean(Bool, SourceLocation)
    case string(Word)                         // quoted string or bare word, interpolated
    case variable(Word)                       // $x.f, ${...}, $(...), $?...
    case list([Expr], SourceLocation)
    case range(Expr, Expr, SourceLocation)
    case unary(String, Expr, SourceLocation)  // not, -
    /// A comparison (`==`, `<`...): two operands, never chained.
    case binary(String, Expr, Expr, SourceLocation)
    /// `a + b - c`, `a * b`, `a and b and c`, `a or b`: the operators of one precedence
    /// level, applied left to right. Flat rather than one tree node per operator, so a
    /// chain of 100,000 terms neither parses, evaluates nor is freed by recursion.
    case chain(Expr, [Operation])
    /// A bare name inside ${...}: a variable read with fields.
    case name(String, fields: [String], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .integer(_, let l), .boolean(_, let l), .list(_, let l), .range(_, _, let l),
             .unary(_, _, let l), .binary(_, _, _, let l), .name(_, _, let l):
            return l
        case .string(let w), .variable(let w):
            return w.location
        case .chain(_, let operations):
            return operations.first?.location ?? SourceLocation(file: "", line: 0, column: 0)
        }
    }
}

/// One operator of a chain and the operand on its right (`+ 2` in `1 + 2 + 3`).
public struct Operation: Equatable, Sendable {
    public var op: String
    public var operand: Expr
    /// The operator's own location (an overflow points at it).
    public var location: SourceLocation
}
