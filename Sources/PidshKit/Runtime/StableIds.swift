import PidshSystem

/// `--stable-ids`: host PIDs and namespace inodes that pidsh knows print as aliases
/// numbered by first appearance (`<pid#1>`, `<ns#2>`), so transcripts are reproducible.
/// Numbers pidsh does not know are left alone: a stray host PID still shows in a diff.
public final class StableIds {
    private var knownPids: Set<Int64> = []
    private var knownInodes: Set<Int64> = []
    private var pidAliases: [Int64: Int] = [:]
    private var inodeAliases: [Int64: Int] = [:]
    private var nextPidAlias = 1
    private var nextInodeAlias = 1
    public var enabled: Bool

    /// False when pidsh is PID 1 of its own namespace (rootless with a script that
    /// names setns/unshare/source, or as a container's init): its PIDs are then small and reproducible already, and
    /// aliasing them would rewrite namespace-local numbers (`level 4`, `PID 2 inside`).
    public var aliasPids: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
        self.aliasPids = FileIO.processID != 1
    }

    public func knowPid(_ pid: Int32) { if pid > 1 && aliasPids { knownPids.insert(Int64(pid)) } }
    public func knowInode(_ inode: UInt64) { if inode > 0 { knownInodes.insert(Int64(inode)) } }

    /// A namespace just made (its PID 1 just born, before any line names it): if its
    /// inode had an alias, that belonged to a namespace that has died (the kernel hands
    /// out the lowest free inode again at once), so the next mention numbers it afresh.
    /// (PIDs are not reused that soon: they go round pid_max first.)
    public func knowNewInode(_ inode: UInt64) {
        knowInode(inode)
        inodeAliases[Int64(inode)] = nil
    }

    /// Rewrites every whole number in `text` that is a known PID or inode.
    public func rewrite(_ text: String) -> String {
        guard enabled, !knownPids.isEmpty || !knownInodes.isEmpty else { return text }
        var utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        var i = 0
        let n = utf8.count
        var changed = false
        while i < n {
            let b = utf8[i]
            // A number right after `#` is an alias already (`<pid#12>`): rewriting is
            // idempotent, so text may pass through twice (cells sized after aliasing).
            if b >= 48 && b <= 57 && (i == 0 || (!Self.isWordByte(utf8[i - 1]) && utf8[i - 1] != 35)) {
                var j = i
                var value: Int64 = 0
                while j < n, utf8[j] >= 48, utf8[j] <= 57, j - i < 18 {
                    value = value * 10 + Int64(utf8[j] - 48)
                    j += 1
                }
                let endsWord = j == n || !Self.isWordByte(utf8[j])
                if endsWord, let alias = alias(for: value) {
                    out.append(contentsOf: Array(alias.utf8))
                    changed = true
                } else {
                    out.append(contentsOf: utf8[i..<j])
                }
                i = j
                continue
            }
            out.append(b)
            i += 1
        }
        if !changed { return text }
        utf8 = out
        return String(decoding: utf8, as: UTF8.self)
    }

    private func alias(for value: Int64) -> String? {
        if knownInodes.contains(value) {
            if inodeAliases[value] == nil { inodeAliases[value] = nextInodeAlias; nextInodeAlias += 1 }
            return "<ns#\(inodeAliases[value]!)>"
        }
        if knownPids.contains(value) {
            if pidAliases[value] == nil { pidAliases[value] = nextPidAlias; nextPidAlias += 1 }
            return "<pid#\(pidAliases[value]!)>"
        }
        return nil
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 46 && false
    }
}
