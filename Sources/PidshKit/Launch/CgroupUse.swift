import PidshSystem

/// Whether pidsh itself joins its session's cgroup (SessionCgroup.pidshJoins), decided
/// from the script before it runs. At the prompt, and for a script that names cgroups
/// anywhere (`/proc/$$/cgroup`, `cgroup.procs`, `spawn --new cgroup`), pidsh moves
/// itself in as a shell would, so what the script reads of pidsh's cgroup and what it
/// writes there behave as it expects. Otherwise only pidsh's children are in it (born
/// there), which spares the kernel's two grace periods (docs/performance.md).
///
/// Conservative by construction: a mention anywhere in the text counts (a comment too),
/// and so do `source` (a file not read yet) and a command whose name is not literal.
/// Guessing wrong costs no guarantee: every process pidsh starts is in the cgroup
/// either way, and a script that moves pidsh gets its children where pidsh is.
enum CgroupUse {
    static func pidshJoins(_ source: SourceFile?, statements: [Statement]?) -> Bool {
        guard let source, let statements else { return true }
        if mentionsCgroup(source.bytes) { return true }
        var opensOtherCode = false
        SyntaxWalk { command in
            let name = command.words.first?.literalText
            if name == nil || name == "source" { opensOtherCode = true }
        }.statements(statements)
        return opensOtherCode
    }

    /// Whether "cgroup" occurs in the bytes.
    static func mentionsCgroup(_ bytes: [UInt8]) -> Bool {
        let word = Array("cgroup".utf8)
        guard bytes.count >= word.count else { return false }
        var i = 0
        while i <= bytes.count - word.count {
            if bytes[i] == word[0] && Array(bytes[i..<i + word.count]) == word { return true }
            i += 1
        }
        return false
    }
}
