/// Whether a script may move pidsh's children to another PID namespace and back: it
/// runs the builtin `setns` or `unshare` (or `source`s a file that might) anywhere, in a
/// def, a block or a `$(...)`.
///
/// Why it matters: a rootless pidsh can send its children back to its own PID
/// namespace only if that namespace belongs to pidsh's user namespace, so it must then
/// become PID 1 of a namespace of its own at start-up, one level down; every other
/// rootless script keeps the host's namespace and the kernel's whole 32 levels below
/// it (walkthrough 5's `nest 32`). Only the first word of a command counts, and only
/// when it is literal: a name that comes from a variable is checked when it runs
/// (Session refuses the move with the reason).
enum ChildrenNamespaceUse {
    static let movingCommands: Set<String> = ["setns", "unshare", "source"]

    static func mayMoveChildren(_ statements: [Statement]) -> Bool {
        statements.contains(where: statement)
    }

    private static func statement(_ s: Statement) -> Bool {
        switch s {
        case .pipeline(let p):
            return pipeline(p)
        case .assignment(_, let value, _):
            switch value {
            case .command(let p): return pipeline(p)
            case .expression(let e): return expr(e)
            }
        case .ifElse(let branches, let otherwise, _):
            return branches.contains { condition($0.condition) || mayMoveChildren($0.body) } || mayMoveChildren(otherwise ?? [])
        case .whileLoop(let condition, let body, _):
            return self.condition(condition) || mayMoveChildren(body)
        case .forLoop(_, let source, let body, _):
            switch source {
            case .expression(let e): if expr(e) { return true }
            case .words(let ws): if ws.contains(where: word) { return true }
            }
            return mayMoveChildren(body)
        case .repeatLoop(let count, let body, _):
            return expr(count) || mayMoveChildren(body)
        case .function(_, _, let body, _):
            return mayMoveChildren(body)
        case .tryStatement(let inner, _):
            return statement(inner)
        case .expect(let e, let message, _):
            return expr(e) || (message.map(expr) ?? false)
        case .narration:
            return false
        case .inside(let target, _, _, _):
            // The block runs in another pidsh: it moves that one's children, not these.
            return word(target)
        case .trap(let signals, let action, _):
            if signals.contains(where: word) { return true }
            if case .run(let body) = action { return mayMoveChildren(body) }
            return false
        }
    }

    private static func condition(_ c: Condition) -> Bool {
        switch c {
        case .command(let p): return pipeline(p)
        case .expression(let e): return expr(e)
        }
    }

    private static func pipeline(_ p: Pipeline) -> Bool {
        p.commands.contains { command in
            if let name = command.words.first?.literalText, movingCommands.contains(name), runsTheBuiltin(name, command) { return true }
            return command.words.contains(where: word) || command.redirections.contains { $0.target.map(word) ?? false }
        }
    }

    /// Whether the command runs pidsh's builtin: `unshare --pid --fork sh` runs
    /// util-linux unshare (a child's namespaces, not pidsh's). Arguments that are not
    /// literal are taken to run the builtin.
    private static func runsTheBuiltin(_ name: String, _ command: Command) -> Bool {
        let args = command.words.dropFirst().map(\.literalText)
        if args.contains(where: { $0 == nil }) { return true }
        return BuiltinTable.standard.match(name, args.compactMap { $0 }) != nil
    }

    private static func word(_ w: Word) -> Bool {
        w.parts.contains { part in
            switch part {
            case .commandSubstitution(let statements, _): return mayMoveChildren(statements)
            case .expression(let e): return expr(e)
            case .literal, .variable, .special: return false
            }
        }
    }

    private static func expr(_ e: Expr) -> Bool {
        switch e {
        case .string(let w), .variable(let w): return word(w)
        case .list(let items, _): return items.contains(where: expr)
        case .range(let a, let b, _), .binary(_, let a, let b, _): return expr(a) || expr(b)
        case .chain(let first, let operations): return expr(first) || operations.contains { expr($0.operand) }
        case .unary(_, let a, _): return expr(a)
        case .integer, .boolean, .name: return false
        }
    }
}
