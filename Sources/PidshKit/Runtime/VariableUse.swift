/// Which variables a block reads and which it sets, found in its syntax tree: what an
/// `inside` block takes along into the pidsh it starts, and what it brings back.
/// Reads count everywhere (a def's body, a `$(...)`); sets count only where `let` or
/// `for` would set the enclosing scope (not inside a def's body).
struct VariableUse {
    let reads: Set<String>
    let sets: Set<String>

    init(_ statements: [Statement]) {
        var reads: Set<String> = [], sets: Set<String> = []
        var walk = SyntaxWalk(onCommand: { _ in })
        walk.onVariable = { reads.insert($0) }
        walk.onStatementInDef = { s, inDef in
            guard !inDef else { return }
            switch s {
            case .assignment(let name, _, _), .forLoop(let name, _, _, _): sets.insert(name)
            default: break
            }
        }
        walk.statements(statements)
        self.reads = reads
        self.sets = sets
    }
}
