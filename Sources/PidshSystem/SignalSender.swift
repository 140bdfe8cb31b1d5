import Glibc

/// Who sends a signal, as far as the kernel's rules care: where it stands relative to
/// the target's PID namespace (kill_pid_info finds the target in the sender's
/// namespace, send_signal_locked forces SIGKILL/SIGSTOP from an ancestor) and whether it
/// may signal it at all (kill_ok_by_cred). For `kill --explain --from PROCESS`.
public struct SignalSender {
    /// The sender's PID namespace, user namespace and status.
    let pidNamespace: UInt64
    let userNamespace: Namespace?
    let status: ProcStatus?

    /// pidsh itself.
    public static func pidsh() -> SignalSender {
        SignalSender(pidNamespace: Namespace.ownInode, userNamespace: Self.userNamespace(of: "self"),
                     status: ProcStatus.read(pid: getpid()))
    }

    /// Another process (read now, from /proc).
    public static func process(_ p: ProcessHandle) throws -> SignalSender {
        let ns = try p.namespace()
        return SignalSender(pidNamespace: ns.inode, userNamespace: Self.userNamespace(of: String(p.pid)), status: p.procStatus())
    }

    static func userNamespace(of pid: String) -> Namespace? {
        let fd = open("/proc/\(pid)/ns/user", O_RDONLY | O_CLOEXEC)
        return fd < 0 ? nil : try? Namespace(adopting: fd)
    }

    /// Why the kernel refuses this sender the target, or nil when it lets it send.
    public func refusal(target: ProcessHandle, targetStatus: ProcStatus) -> String? {
        guard let targetNamespace = try? target.namespace() else { return nil }
        if targetNamespace.inode != pidNamespace && !targetNamespace.ancestorInodes().contains(pidNamespace) {
            return "ESRCH: the sender cannot see process \(target.pid): it lives in \(targetNamespace.id), which is neither the sender's PID namespace pid:[\(pidNamespace)] nor below it (a process sees only its own namespace and those below it)"
        }
        guard let status else { return nil }
        let senderIDs = Set([status.uids.first, status.uids.dropFirst().first].compactMap { $0 })
        let targetIDs = Set([targetStatus.uids.first, targetStatus.uids.dropFirst(2).first].compactMap { $0 })
        if !senderIDs.isDisjoint(with: targetIDs) { return nil }
        let capKill: UInt64 = 1 << 5
        if status.capEffective & capKill != 0, let mine = userNamespace,
           let theirs = Self.userNamespace(of: String(target.pid)),
           theirs.inode == mine.inode || Self.userAncestors(of: theirs).contains(mine.inode) {
            return nil
        }
        return "EPERM: the sender's uids (\(senderIDs.sorted().map(String.init).joined(separator: ", "))) match neither the real nor the saved uid of process \(target.pid), and it has no CAP_KILL over that process's user namespace"
    }

    /// Whether the sender has no PID in the target's namespace (it is in an ancestor).
    public func isAncestor(of targetNamespace: Namespace) -> Bool { targetNamespace.inode != pidNamespace }

    static func userAncestors(of ns: Namespace) -> [UInt64] {
        var chain: [UInt64] = []
        var current = try? ns.parent()
        while let n = current, chain.count < 40 {
            chain.append(n.inode)
            current = try? n.parent()
        }
        return chain
    }
}
