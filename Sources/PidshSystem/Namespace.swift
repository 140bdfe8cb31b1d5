import CPidsh
import Glibc

/// A PID namespace held by an open ns fd: it cannot be recycled while pidsh holds it.
public final class Namespace: @unchecked Sendable {
    public let fd: Int32
    public let inode: UInt64
    /// The process pidsh started as this namespace's PID 1, when it did.
    public var initProcess: ProcessHandle?
    /// A name given with `--name`, for display.
    public var name: String?

    /// Adopts an open namespace fd.
    public init(adopting fd: Int32) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError.last("fstat(ns fd)") }
        self.fd = fd
        self.inode = UInt64(st.st_ino)
    }

    deinit { close(fd) }

    /// The PID namespace of a process (by pidsh's view of its PID).
    public static func of(pid: Int32) throws -> Namespace {
        let fd = open("/proc/\(pid)/ns/pid", O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = Glibc.errno
            throw SystemError(errnoValue: e == ENOENT ? ESRCH : e, "open /proc/\(pid)/ns/pid",
                              explanation: e == ENOENT ? KernelRules.invisibleProcess(pid)
                                : e == EACCES || e == EPERM ? KernelRules.namespaceAccessRule(pid) : nil)
        }
        return try Namespace(adopting: fd)
    }

    /// pidsh's own PID namespace (level 0 of everything pidsh shows).
    public static func own() throws -> Namespace {
        let fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError.last("open /proc/self/ns/pid") }
        return try Namespace(adopting: fd)
    }

    public static var ownInode: UInt64 = {
        var st = stat()
        return stat("/proc/self/ns/pid", &st) == 0 ? UInt64(st.st_ino) : 0
    }()

    /// `pid:[4026532412]`, as readlink shows it.
    public var id: String { "pid:[\(inode)]" }

    /// The parent namespace (NS_GET_PARENT); nil at the root of what pidsh may see.
    public func parent() throws -> Namespace? {
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
        if inode == Namespace.ownInode { return 0 }
        let chain = ancestorInodes()
        guard let i = chain.firstIndex(of: Namespace.ownInode) else { return nil }
        return i + 1
    }

    /// Whether a process still lives in it (its PID 1 is what keeps it usable).
    public var alive: Bool {
        if let initProcess { return initProcess.isRunning }
        return ProcTable.snapshot(commandLines: false).entries.contains { $0.nsInode == inode }
    }

    /// Its PID 1: the process pidsh started, or the one found in /proc.
    public func findInit() -> ProcessHandle? {
        if let initProcess, initProcess.isRunning { return initProcess }
        guard let level else { return nil }
        let table = ProcTable.snapshot(commandLines: false)
        for e in table.entries where e.nsInode == inode && e.nspid.count == level + 1 && e.nspid.last == 1 {
            return try? ProcessHandle.observe(pid: e.pid)
        }
        return nil
    }
}

extension Namespace: Equatable {
    public static func == (a: Namespace, b: Namespace) -> Bool { a.inode == b.inode }
}
