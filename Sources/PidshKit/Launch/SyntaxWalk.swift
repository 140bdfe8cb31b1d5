/// Visits every statement and every command of a script wherever it stands: in blocks,
/// def bodies, conditions, trap and `inside` bodies, `$(...)` substitutions in words and
/// expressions. What start-up decides from the parsed script (ChildrenNamespaceUse,
/// SessionUse) and what an `inside` block carries (VariableUse) ask it, so no rule
/// misses a command or a variable hidden in a corner of the syntax.
struct SyntaxWalk {
    let onStatement: (Statement) -> Void
    let onCommand: (Command) -> Void
    /// Each statement again, with whether it stands in a def's body (a `$(...)` in one
    /// runs as its own script: not in the body).
    var onStatementInDef: (Statement, Bool) -> Void = { _, _ in }
    /// Each variable read: `$name` in a word, a name in an expression, `$args`.
    var onVariable: (String) -> Void = { _ in }
    /// Whether an `inside` block's body counts: it runs in another pidsh.
    var insideBodies = true

    init(onStatement: @escaping (Statement) -> Void = { _ in }, onCommand: @escaping (Command) -> Void) {
        self.onStatement = onStatement
        self.onCommand = onCommand
    }

    func statements(_ list: [Statement], inDef: Bool = false) {
        for s in list { statement(s, inDef: inDef) }
    }

    func statement(_ s: Statement, inDef: Bool = false) {
        onStatement(s)
        onStatementInDef(s, inDef)
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
                statements(b.body, inDef: inDef)
            }
            statements(otherwise ?? [], inDef: inDef)
        case .whileLoop(let c, let body, _):
            condition(c)
            statements(body, inDef: inDef)
        case .forLoop(_, let source, let body, _):
            switch source {
            case .expression(let e): expr(e)
            case .words(let ws): ws.forEach(word)
            }
            statements(body, inDef: inDef)
        case .repeatLoop(let count, let body, _):
            expr(count)
            statements(body, inDef: inDef)
        case .function(_, _, let body, _): statements(body, inDef: true)
        case .tryStatement(let inner, _): statement(inner, inDef: inDef)
        case .expect(let e, let message, _):
            expr(e)
            if let message { expr(message) }
        case .narration: break
        case .inside(let target, let body, _, _):
            word(target)
            if insideBodies { statements(body, inDef: inDef) }
        case .trap(let signals, let action, _):
            signals.forEach(word)
            if case .run(let body) = action { statements(body, inDef: inDef) }
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
            case .variable(let name, _, _): onVariable(name)
            case .special(let name, _): if name == "args" { onVariable("args") }
            case .literal: break
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
        case .name(let name, _, _): onVariable(name)
        case .integer, .boolean: break
        }
    }
}
