/// Whether a script needs pidsh's session: the private mount namespace, the janitor
/// process, the session's cgroup, the subreaper role, and for a normal user the user
/// namespace. A script that only computes and prints — every command it can run is one
/// of the builtins below, or a def of its own — makes nothing that could outlive pidsh,
/// so it skips them all and starts as fast as a shell (docs/performance.md). Decided
/// from the parsed script before any thread exists: a rootless session's
/// unshare(CLONE_NEWUSER) needs a single-threaded process, so it cannot start later.
///
/// Conservative by construction: a command whose name is not literal (`$cmd`), any
/// program, `source` (a file not read yet), `inside`, and every builtin not listed here
/// mean the session. The guarantees stay whole: what a session-less script runs ends
/// with the statement that ran it (no process, mount or directory is ever made), so
/// there is nothing for the janitor or the cgroup to find after a SIGKILL.
enum SessionUse {
    /// Builtins that neither start a process nor touch a namespace, mount or signal.
    static let pure: Set<String> = ["echo", "cd", "exit", "help", "show", "true", "false"]
    /// Read-only views of /proc that, as root, print the same with or without a session.
    /// (A normal user's session is a user namespace, which changes how uids and
    /// namespaces show: as a normal user they keep the session.)
    static let viewsAsRoot: Set<String> = ["ps", "pids", "ns list", "ns tree", "ns id", "signals"]

    static func needed(_ statements: [Statement], root: Bool) -> Bool {
        var defs: Set<String> = []
        var needed = false
        SyntaxWalk(onStatement: { s in
            switch s {
            case .function(let name, _, _, _): defs.insert(name)
            case .inside: needed = true
            default: break
            }
        }, onCommand: { _ in }).statements(statements)
        guard !needed else { return true }
        SyntaxWalk { command in
            guard !needed else { return }
            needed = !allowed(command, defs: defs, root: root)
        }.statements(statements)
        return needed
    }

    private static func allowed(_ command: Command, defs: Set<String>, root: Bool) -> Bool {
        guard let name = command.words.first?.literalText else { return false }
        let builtin = builtinName(name, second: command.words.dropFirst().first?.literalText)
        if let builtin { return pure.contains(builtin) || (root && viewsAsRoot.contains(builtin)) }
        return defs.contains(name)
    }

    /// The builtin a command names (`ns list` for `ns list ...`), nil for a program or
    /// a def. A subcommand that is not literal counts as unknown.
    private static func builtinName(_ name: String, second: String?) -> String? {
        let table = BuiltinTable.standard
        if let second, table.spec(named: name + " " + second) != nil { return name + " " + second }
        if table.spec(named: name) != nil { return name }
        return table.subcommands(of: name).isEmpty ? nil : name + " ?"
    }
}
