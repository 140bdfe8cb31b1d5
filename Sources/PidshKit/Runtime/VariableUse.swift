/// Which variables a block reads and which it sets, found in its syntax tree: what an
/// `inside` block takes along into the pidsh it starts, and what it brings back.
/// Reads count everywhere (a def's body, a `$(...)`); sets count only where `let` or
/// `for` would set the enclosing scope (not inside a def's body).
struct VariableUse {
    private(set) var reads: Set<String> = []
    private(set) var sets: Set<String> = []

    init(_ statements: [Statement]) {
        block(statements, setting: true)
    }

    private mutating func block(_ statements: [Statement], setting: Bool) {
        for s in statements { statement(s, setting: setting) }
    }

    private mutating func statement(_ s: Statement, setting: Bool) {
        switch s {
        case .pipeline(let p): pipeline(p)
        case .assignment(let name, let value, _):
            if setting { sets.insert(name) }
            switch value {
            case .command(let p): pipeline(p)
            case .expression(let e): expr(e)
            }
        case .ifElse(let branches, let otherwise, _):
            for b in branches {
                condition(b.condition)
                block(b.body, setting: setting)
            }
            block(otherwise ?? [], setting: setting)
        case .whileLoop(let c, let body, _):
            condition(c)
            block(body, setting: setting)
        case .forLoop(let name, let source, let body, _):
            if setting { sets.insert(name) }
            switch source {
            case .expression(let e): expr(e)
            case .words(let ws): ws.forEach { word($0) }
            }
            block(body, setting: setting)
        case .repeatLoop(let count, let body, _):
            expr(count)
            block(body, setting: setting)
        case .function(_, _, let body, _):
            block(body, setting: false)
        case .tryStatement(let inner, _):
            statement(inner, setting: setting)
        case .expect(let e, let message, _):
            expr(e)
            if let message { expr(message) }
        case .inside(let target, let body, _, _):
            word(target)
            block(body, setting: setting)
        case .trap(let signals, let action, _):
            signals.forEach { word($0) }
            if case .run(let body) = action { block(body, setting: setting) }
        case .narration:
            break
        }
    }

    private mutating func condition(_ c: Condition) {
        switch c {
        case .command(let p): pipeline(p)
        case .expression(let e): expr(e)
        }
    }

    private mutating func pipeline(_ p: Pipeline) {
        for c in p.commands {
            c.words.forEach { word($0) }
            c.redirections.forEach { if let t = $0.target { word(t) } }
        }
    }

    private mutating func word(_ w: Word) {
        for part in w.parts {
            switch part {
            case .variable(let name, _, _): reads.insert(name)
            case .expression(let e): expr(e)
            case .commandSubstitution(let statements, _): block(statements, setting: true)
            case .special(let s, _): if s == "args" { reads.insert("args") }
            case .literal: break
            }
        }
    }

    private mutating func expr(_ e: Expr) {
        switch e {
        case .string(let w), .variable(let w): word(w)
        case .name(let name, _, _): reads.insert(name)
        case .list(let items, _): items.forEach { expr($0) }
        case .range(let a, let b, _), .binary(_, let a, let b, _):
            expr(a)
            expr(b)
        case .unary(_, let a, _): expr(a)
        case .chain(let first, let operations):
            expr(first)
            for o in operations { expr(o.operand) }
        case .integer, .boolean: break
        }
    }
}
