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
        var moves = false
        var walk = SyntaxWalk { command in
            guard !moves, let name = command.words.first?.literalText, movingCommands.contains(name) else { return }
            moves = runsTheBuiltin(name, command)
        }
        // An `inside` block runs in another pidsh: it moves that one's children.
        walk.insideBodies = false
        walk.statements(statements)
        return moves
    }

    /// Whether the command runs pidsh's builtin: `unshare --pid --fork sh` runs
    /// util-linux unshare (a child's namespaces, not pidsh's). Arguments that are not
    /// literal are taken to run the builtin.
    private static func runsTheBuiltin(_ name: String, _ command: Command) -> Bool {
        let args = command.words.dropFirst().map(\.literalText)
        if args.contains(where: { $0 == nil }) { return true }
        return BuiltinTable.standard.match(name, args.compactMap { $0 }) != nil
    }
}
