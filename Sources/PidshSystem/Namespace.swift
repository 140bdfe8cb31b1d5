import CPidsh
import Glibc

/// A namespace (PID, or any other type) held by an open ns fd: it cannot be recycled
/// while pidsh holds it.
public final class Namespace: @unchecked Sendable {
    public let fd: Int32
    public let inode: UInt64
    /// Its type, as the kernel says (NS_GET_NSTYPE).
    public let type: NamespaceType
    /// The process pidsh started as this namespace's PID 1, when it did.
    public var initProcess: ProcessHandle?
    /// A name given with `--name`, for display.
    public var name: String?
    /// The process this handle was read from (`$p.ns`), whose namespaces of the other
    /// types `$p.ns.net`... are.
    public var ofProcess: ProcessHandle?

    /// Adopts an open namespace fd. One held only for a moment (`longLived: false`: a
    /// spawn's join) stays where it is; see HighDescriptors.
    /// `type`: known already (opened as /proc/PID/ns/TYPE), so not asked of the kernel.
    public init(adopting fd: Int32, type known: NamespaceType? = nil, longLived: Bool = true) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError.last("fstat(ns fd)") }
        self.fd = longLived ? HighDescriptors.keep(fd) : fd
        self.inode = UInt64(st.st_ino)
        if let known {
            self.type = known
        } else {
            let t = pidsh_ns_get_nstype(self.fd)
            self.type = t > 0 ? NamespaceType(cloneFlag: UInt64(t)) ?? .pid : .pid
        }
    }

    deinit { close(fd) }

    /// The namespace of `type` of a process (by pidsh's view of its PID).
    public static func of(pid: Int32, type: NamespaceType = .pid, longLived: Bool = true) throws -> Namespace {
        let path = "/proc/\(pid)/ns/\(type.procName)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = Glibc.errno
            throw SystemError(errnoValue: e == ENOENT ? ESRCH : e, "open \(path)",
                              explanation: e == ENOENT ? KernelRules.invisibleProcess(pid)
                                : e == EACCES || e == EPERM ? KernelRules.namespaceAccessRule(pid) : nil)
        }
        return try Namespace(adopting: fd, type: type, longLived: longLived)
    }

    /// pidsh's own namespace of `type` (for PID: level 0 of everything pidsh shows).
    public static func own(_ type: NamespaceType = .pid) throws -> Namespace {
        let fd = open("/proc/self/ns/\(type.procName)", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError.last("open /proc/self/ns/\(type.procName)") }
        return try Namespace(adopting: fd)
    }

    /// The inode of pidsh's own namespace of `type` (its id), 0 if unreadable.
    public static func ownInode(_ type: NamespaceType) -> UInt64 {
        var st = stat()
        return stat("/proc/self/ns/\(type.procName)", &st) == 0 ? UInt64(st.st_ino) : 0
    }

    /// The user namespace that owns it (NS_GET_USERNS); nil where pidsh may not see it.
    public func owner() throws -> Namespace? {
        let u = pidsh_ns_get_userns(fd)
        if u < 0 {
            if Glibc.errno == EPERM { return nil }
            throw SystemError.last("ioctl(NS_GET_USERNS)")
        }
        return try Namespace(adopting: u)
    }

    public static var ownInode: UInt64 = {
        var st = stat()
        return stat("/proc/self/ns/pid", &st) == 0 ? UInt64(st.st_ino) : 0
    }()

    /// `pid:[4026532412]`, `net:[...]`, as readlink shows it.
    public var id: String { "\(type.procName):[\(inode)]" }

    /// The parent namespace (NS_GET_PARENT: pid and user namespaces nest); nil at the
    /// root of what pidsh may see, and for the other types.
    public func parent() throws -> Namespace? {
        guard type.isHierarchical else { return nil }
        let p = pidsh_ns_get_parent(fd)
        if p < 0 {
            if Glibc.errno == EPERM { return nil }
            throw SystemError.last("ioctl(NS_GET_PARENT)")
        }
        return try Namespace(adopting: p)
    }

    /// Inodes from this namespace up to (not including) the first one pidsh cannot see
    /// past, nearest first.
    public func ancestorInodes() -> [UInt64] {
        var chain: [UInt64] = []
        var current = try? parent()
        while let ns = current {
            chain.append(ns.inode)
            if ns.inode == Namespace.ownInode { break }
            current = try? ns.parent()
        }
        return chain
    }

    /// Depth below pidsh's own namespace (0 = pidsh's own), or nil when this namespace
    /// is not pidsh's own or a descendant of it.
    public var level: Int? {
        guard type.isHierarchical else { return nil }
        if type == .user {
            let own = Namespace.ownInode(.user)
            if inode == own { return 0 }
            var depth = 0
            var current = try? parent()
            while let ns = current {
                depth += 1
                if ns.inode == own { return depth }
                current = try? ns.parent()
            }
            return nil
        }
        if inode == Namespace.ownInode { return 0 }
        let chain = ancestorInodes()
        guard let i = chain.firstIndex(of: Namespace.ownInode) else { return nil }
        return i + 1
    }

    /// Whether a process still lives in it (its PID 1 is what keeps a PID namespace
    /// usable; the process pidsh made to hold one of another type keeps that one).
    public var alive: Bool {
        if let initProcess { return initProcess.isRunning }
        if type == .pid { return ProcTable.snapshot(commandLines: false).entries.contains { $0.nsInode == inode } }
        return NamespaceScan.members(of: self).first != nil
    }

    /// Its PID 1: the process pidsh started, or the one found in /proc (PID namespaces;
    /// for another type, the process pidsh started to hold it).
    public func findInit() -> ProcessHandle? {
        if let initProcess, initProcess.isRunning { return initProcess }
        guard type == .pid else { return nil }
        guard let level else { return nil }
        let table = ProcTable.snapshot(ProcNeeds(commandLines: false, seenFrom: (inode, level)))
        for e in table.entries where e.nsInode == inode && e.nspid.count == level + 1 && e.nspid.last == 1 {
            return try? ProcessHandle.observe(pid: e.pid)
        }
        return nil
    }
}

extension Namespace: Equatable {
    public static func == (a: Namespace, b: Namespace) -> Bool { a.inode == b.inode }
}
