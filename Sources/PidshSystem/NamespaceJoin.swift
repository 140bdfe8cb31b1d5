import CPidsh
import Glibc

/// What a child joins besides its PID namespace (which is pid_for_children, done around
/// the clone): the target's namespaces of some types, by one setns through the target's
/// pidfd (as util-linux nsenter and crun do), with one namespace descriptor per type as
/// the fallback; for `spawn --enter`, the target's root and working directory too.
public final class NamespaceJoin {
    /// The target's pidfd (-1 when joining namespace handles only).
    let pidfd: Int32
    let ownsPidfd: Bool
    /// The namespaces to join in the child, user first.
    public let namespaces: [Namespace]
    /// The target's PID namespace, when it is to be joined (and differs from pidsh's).
    public let pidNamespace: Namespace?
    let rootFD: Int32
    let cwdFD: Int32

    init(pidfd: Int32, ownsPidfd: Bool, namespaces: [Namespace], pidNamespace: Namespace?, rootFD: Int32 = -1, cwdFD: Int32 = -1) {
        self.pidfd = pidfd
        self.ownsPidfd = ownsPidfd
        self.namespaces = namespaces.sorted { $0.type < $1.type }
        self.pidNamespace = pidNamespace
        self.rootFD = rootFD
        self.cwdFD = cwdFD
    }

    deinit {
        if ownsPidfd && pidfd >= 0 { close(pidfd) }
        if rootFD >= 0 { close(rootFD) }
        if cwdFD >= 0 { close(cwdFD) }
    }

    /// Whether the child stands in another filesystem afterwards: a mount namespace
    /// joined (setns moves it to that namespace's root), or the target's root taken.
    public var entersOtherFilesystem: Bool { rootFD >= 0 || namespaces.contains { $0.type == .mnt } }

    public var types: [NamespaceType] { namespaces.map { $0.type } + (pidNamespace == nil ? [] : [.pid]) }

    /// The namespaces of `process` of `types` (nil: every type whose namespace differs
    /// from pidsh's own: setns through a pidfd that names pidsh's own user namespace
    /// fails the whole call with EINVAL). `enter` adds its root and working directory.
    public static func of(process: ProcessHandle, types: [NamespaceType]?, enter: Bool) throws -> NamespaceJoin {
        var namespaces: [Namespace] = []
        var pidNamespace: Namespace?
        for t in types ?? NamespaceType.allCases {
            // Without types: every type whose namespace is not pidsh's own (by inode).
            guard let ns = try namespace(of: process.pid, type: t, chosen: types != nil) else { continue }
            if t == .pid { pidNamespace = ns } else { namespaces.append(ns) }
        }
        var root: Int32 = -1, cwd: Int32 = -1
        if enter {
            root = pidsh_open_path_dir("/proc/\(process.pid)/root")
            cwd = pidsh_open_path_dir("/proc/\(process.pid)/cwd")
            if root < 0 || cwd < 0 {
                let e = Glibc.errno
                if root >= 0 { close(root) }
                if cwd >= 0 { close(cwd) }
                throw SystemError(errnoValue: e, "open /proc/\(process.pid)/root and cwd",
                                  explanation: "`spawn --enter` takes the target's root and working directory, as nsenter -r -w does")
            }
        }
        let fd = fcntl(process.pidfd, F_DUPFD_CLOEXEC, 3)
        return NamespaceJoin(pidfd: fd, ownsPidfd: fd >= 0, namespaces: namespaces, pidNamespace: pidNamespace, rootFD: root, cwdFD: cwd)
    }

    /// Namespace handles (from `setns NS` of other types, or a namespace value).
    public static func of(namespaces: [Namespace]) -> NamespaceJoin {
        NamespaceJoin(pidfd: -1, ownsPidfd: false, namespaces: namespaces.filter { $0.type != .pid },
                      pidNamespace: namespaces.first { $0.type == .pid })
    }

    /// The process's namespace of `type`, held for the spawn; when not `chosen`, nil
    /// where it is pidsh's own or cannot be opened (as a link that cannot be read was).
    static func namespace(of pid: Int32, type: NamespaceType, chosen: Bool) throws -> Namespace? {
        do {
            let ns = try Namespace.of(pid: pid, type: type, longLived: false)
            return chosen || ns.inode != ownInode(type) ? ns : nil
        } catch let e as SystemError where !chosen && [EACCES, EPERM].contains(e.errno.rawValue) {
            return nil   // a namespace pidsh may not look at is not one it could join
        }
    }

    /// pidsh's own namespace inodes, read once: pidsh enters its user and mount
    /// namespaces when its session starts, before any spawn, and never moves itself
    /// again (setns and unshare of PID namespaces move only pid_for_children, which
    /// /proc/self/ns/pid does not show).
    nonisolated(unsafe) private static var ownInodes: [NamespaceType: UInt64] = [:]

    static func ownInode(_ type: NamespaceType) -> UInt64 {
        if let known = ownInodes[type] { return known }
        let inode = Namespace.ownInode(type)
        if inode != 0 { ownInodes[type] = inode }
        return inode
    }

    /// Fills the request's join fields; `body` runs while the arrays it points to live.
    func apply<R>(_ req: inout pidsh_spawn_request, _ body: (inout pidsh_spawn_request) throws -> R) rethrows -> R {
        let fds = namespaces.map { $0.fd }
        let flags = namespaces.map { $0.type.cloneFlag }
        return try fds.withUnsafeBufferPointer { f in
            try flags.withUnsafeBufferPointer { t in
                req.join_pidfd = namespaces.isEmpty ? -1 : pidfd
                req.join_types = NamespaceType.flags(namespaces.map { $0.type })
                req.join_fds = f.baseAddress
                req.join_fd_types = t.baseAddress
                req.join_fd_count = Int32(fds.count)
                req.root_fd = rootFD
                req.cwd_fd = cwdFD
                return try body(&req)
            }
        }
    }
}
