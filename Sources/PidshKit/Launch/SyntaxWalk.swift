/// Visits every statement and every command of a script wherever it stands: in blocks,
/// def bodies, conditions, trap and `inside` bodies, `$(...)` substitutions in words and
/// expressions. What start-up decides from the parsed script (ChildrenNamespaceUse,
/// SessionUse) asks it, so no rule misses a command hidden in a corner of the syntax.
struct SyntaxWalk {
    let onStatement: (Statement) -> Void
    let onCommand: (Command) -> Void
    /// Whether an `inside` block's body counts: it runs in another pidsh.
    var insideBodies = true

    init(onStatement: @escaping (Statement) -> Void = { _ in }, onCommand: @escaping (Command) -> Void) {
        self.onStatement = onStatement
        self.onCommand = onCommand
    }

    func statements(_ list: [Statement]) {
        for s in list { statement(s) }
    }

    func statement(_ s: Statement) {
        onStatement(s)
        switch s {
        case .pipeline(let p): pipeline(p)
        case .assignment(_, let value, _):
            switch value {
            case .command(let p): pipeline(p)
            case .expression(let e): expr(e)
            }
        case .ifElse(let branches, let otherwise, _):
            for b in branches {
                condition(b.condition)
                statements(b.body)
            }
            statements(otherwise ?? [])
        case .whileLoop(let c, let body, _):
            condition(c)
            statements(body)
        case .forLoop(_, let source, let body, _):
            switch source {
            case .expression(let e): expr(e)
            case .words(let ws): ws.forEach(word)
            }
            statements(body)
        case .repeatLoop(let count, let body, _):
            expr(count)
            statements(body)
        case .function(_, _, let body, _): statements(body)
        case .tryStatement(let inner, _): statement(inner)
        case .expect(let e, let message, _):
            expr(e)
            if let message { expr(message) }
        case .narration: break
        case .inside(let target, let body, _, _):
            word(target)
            if insideBodies { statements(body) }
        case .trap(let signals, let action, _):
            signals.forEach(word)
            if case .run(let body) = action { statements(body) }
        }
    }

    private func condition(_ c: Condition) {
        switch c {
        case .command(let p): pipeline(p)
        case .expression(let e): expr(e)
        }
    }

    private func pipeline(_ p: Pipeline) {
        for c in p.commands {
            onCommand(c)
            c.words.forEach(word)
            for r in c.redirections { if let t = r.target { word(t) } }
        }
    }

    private func word(_ w: Word) {
        for part in w.parts {
            switch part {
            case .commandSubstitution(let list, _): statements(list)
            case .expression(let e): expr(e)
            case .literal, .variable, .special: break
            }
        }
    }

    /// Iterative over operator chains (they may hold 100,000 terms).
    private func expr(_ e: Expr) {
        switch e {
        case .string(let w), .variable(let w): word(w)
        case .list(let items, _): items.forEach(expr)
        case .range(let a, let b, _), .binary(_, let a, let b, _):
            expr(a)
            expr(b)
        case .chain(let first, let operations):
            expr(first)
            for o in operations { expr(o.operand) }
        case .unary(_, let a, _): expr(a)
        case .integer, .boolean, .name: break
        }
    }
}
