import CPidsh
import Glibc
import SystemPackage

/// Every mount and directory pidsh makes, in order, so clean-up can undo them in
/// reverse at exit, on error and on SIGINT/SIGTERM. Each is held by handle: a mount by a
/// descriptor of its root and its STATX_MNT_ID_UNIQUE, a directory by descriptors of
/// itself and its parent with its device and inode. Undoing never walks a path again,
/// so a parent directory swapped for a symlink while pidsh ran cannot redirect it. The
/// janitor holds the same handles, so the undo happens even when pidsh is SIGKILLed.
public final class MountLog: @unchecked Sendable {
    /// What was made, by path (for messages and tests).
    public enum Entry: Equatable, Sendable {
        case mount(String)
        case directory(String)
    }

    final class MountRecord {
        let id: UInt64
        let fd: Int32
        let mountID: UInt64
        let path: String
        init(id: UInt64, fd: Int32, mountID: UInt64, path: String) {
            self.id = id; self.fd = fd; self.mountID = mountID; self.path = path
        }
    }

    /// A mount point pidsh made, or found and mounts on. pidsh holds a shared flock on
    /// it for the session: an rmdir by another session would detach pidsh's mounts
    /// there, so a session removes a mount point only when it is the last to use it.
    final class DirectoryRecord {
        let id: UInt64
        let parentFD: Int32
        let fd: Int32
        let name: String
        let dev: UInt64
        let ino: UInt64
        let path: String
        let made: Bool
        var lockFD: Int32
        /// Set once undone: the directory was removed.
        var removed = false
        /// A file (the mount point of a pinned namespace), not a directory.
        var isFile = false
        init(id: UInt64, parentFD: Int32, fd: Int32, name: String, dev: UInt64, ino: UInt64, path: String, made: Bool, lockFD: Int32) {
            self.id = id; self.parentFD = parentFD; self.fd = fd; self.name = name
            self.dev = dev; self.ino = ino; self.path = path; self.made = made; self.lockFD = lockFD
        }
    }

    enum Record {
        case mount(MountRecord)
        case directory(DirectoryRecord)
        var id: UInt64 {
            switch self { case .mount(let m): return m.id; case .directory(let d): return d.id }
        }
        var entry: Entry {
            switch self { case .mount(let m): return .mount(m.path); case .directory(let d): return .directory(d.path) }
        }
    }

    var records: [Record] = []
    /// What pidsh made, by path: its mounts and the directories it created.
    public var entries: [Entry] {
        records.compactMap { r in
            if case .directory(let d) = r, !d.made { return nil }
            return r.entry
        }
    }
    /// Where the log is mirrored for `pidsh cleanup` (shared-mounts mode), or nil.
    public let journalPath: String?
    /// True when pidsh works in the host's mount namespace (`--shared-mounts`).
    public let sharedMounts: Bool
    /// Where the calls made go when tracing.
    public var recorder: CallRecorder?
    private var lastRecordID: UInt64 = 0
    /// The record id the janitor got for the directory it is making.
    var pendingDirectoryID: UInt64 = 0
    /// Directories mirrored so far (see mirror.c), each at most once.
    var mirrored: Set<String> = []

    public init(sharedMounts: Bool = false, journalPath: String? = nil) {
        self.sharedMounts = sharedMounts
        self.journalPath = journalPath
        if let journalPath {
            // The janitor removes the journal once it has undone everything.
            let (dir, name) = MountJournal.split(journalPath)
            let dirfd = pidsh_open_path_dir(dir)
            if dirfd >= 0 {
                _ = pidsh_janitor_note_journal(dirfd, name)
                close(dirfd)
            }
        }
    }

    func newRecordID() -> UInt64 {
        lastRecordID += 1
        return lastRecordID
    }

    /// The janitor holds a bounded number of records: refuse before going past it.
    func checkCapacity() throws {
        let capacity = Int(pidsh_janitor_capacity())
        if records.count + 1 >= capacity {
            throw UsageError("pidsh holds at most \(capacity) mounts and mount points at once (its janitor undoes them if pidsh is killed, and keeps no more): unmount some first (umount PATH)")
        }
    }

    func append(_ record: Record) {
        records.append(record)
        MountJournal.write(self)
    }

    /// Whether /proc is a procfs of pidsh's own PID namespace (its /proc/self is pidsh).
    static var procIsOwnNamespaces: Bool { ProcFiles.readLink("/proc/self") == String(getpid()) }

    // MARK: mounts

    /// Mounts a procfs of `namespace` (nil: the namespace pidsh's children go to, which
    /// is pidsh's own unless unshare/setns moved it) at path.
    public func mountProc(at path: String, namespace: Namespace?) throws {
        let point = try prepareMountPoint(path)
        defer { point.close() }
        try mountProc(on: point, namespace: namespace)
    }

    public func mountProc(on point: MountPoint, namespace: Namespace?) throws {
        let ns: Namespace
        if let namespace { ns = namespace } else { ns = try Namespace.own() }
        try checkCapacity()
        var handle = pidsh_mount_handle(fd: -1, mount_id: 0)
        let context = TraceContext(paths: [Int64(point.fd): point.path])
        if SessionSetup.childrenNamespaceIsFixed, ns.inode == Namespace.ownInode, Self.procIsOwnNamespaces {
            // Rootless in the host's PID namespace: a new procfs of it needs CAP_SYS_ADMIN
            // over the host's user namespace, but /proc already is one; bind it.
            let e = recorder.run(context) { pidsh_bind_proc_at(point.fd, point.record, &handle, $0) }
            if e != 0 { throw SystemError(errnoValue: e, "mount proc \(point.path): bind of /proc") }
            adopt(mount: handle, on: point)
            return
        }
        var stage: Int32 = 0
        let e = recorder.run(context) { pidsh_mount_proc_in_namespace(ns.fd, point.fd, point.record, &handle, &stage, $0) }
        adopt(mount: handle, on: point)
        guard e != 0 else { return }
        switch stage {
        case Int32(PIDSH_STAGE_CLONE.rawValue): throw KernelRules.cloneError(e, what: "mount proc \(point.path): helper in \(ns.id)", intoNamespace: ns)
        case Int32(PIDSH_STAGE_SETNS.rawValue): throw KernelRules.setnsError(e, namespace: ns)
        case Int32(PIDSH_STAGE_OPEN_OWN_NS.rawValue): throw KernelRules.pendingUnshareError(e, what: "mount proc \(point.path)")
        default:
            throw SystemError(errnoValue: e, "mount proc \(point.path)", explanation: e == EPERM ? KernelRules.privilegeHint : nil)
        }
    }

    /// Records a mount made on `point` (by a child, a helper, a nest level or pidsh),
    /// which the janitor already holds under `point.record`.
    public func adopt(mount handle: pidsh_mount_handle, on point: MountPoint) {
        guard handle.fd >= 0 else { return }
        append(.mount(MountRecord(id: point.record, fd: handle.fd, mountID: handle.mount_id, path: point.path)))
    }

    /// Forgets a mount and the directory pidsh made for it (`--keep`).
    public func keep(_ path: String) {
        let target = MountPath.absolute(path)
        let kept = records.filter { $0.entry == .mount(target) || $0.entry == .directory(target) }
        for record in kept { release(record) }
        records.removeAll { r in kept.contains { $0.id == r.id } }
        MountJournal.write(self)
    }

    /// `umount PATH`: one of pidsh's mounts through its handle, or any mount point.
    public func unmount(_ path: String) throws {
        let fd = pidsh_open_path_nofollow(MountPath.absolute(path))
        guard fd >= 0 else { throw SystemError.last("umount \(path)") }
        defer { close(fd) }
        let resolved = MountPath.resolved(fd) ?? path
        if MountPath.isProc(resolved) { throw UsageError(Self.procRefusal(resolved, unmounting: true)) }
        guard pidsh_is_mount_root(fd) != 0 else {
            throw SystemError(errnoValue: EINVAL, "umount \(path)", explanation: "\(path) is not a mount point")
        }
        let mountID = pidsh_mount_id_of(fd)
        if let i = records.lastIndex(where: { if case .mount(let m) = $0 { return m.mountID == mountID } else { return false } }),
           case .mount(let m) = records[i] {
            let e = unmountRecord(m)
            if e != 0 && e != EINVAL { throw SystemError(errnoValue: e, "umount \(path)") }
            release(records[i])
            records.remove(at: i)
            MountJournal.write(self)
            return
        }
        var rec = pidsh_call_record()
        let e = pidsh_unmount_handle(fd, mountID, &rec)
        recorder.add(rec)
        if e != 0 { throw SystemError(errnoValue: e, "umount \(path)") }
    }

    func unmountRecord(_ m: MountRecord) -> Int32 {
        var rec = pidsh_call_record()
        let e = pidsh_unmount_handle(m.fd, m.mountID, &rec)
        if rec.call != 0 { recorder.add(rec) }
        return e
    }

    /// Closes a record's handles; the janitor lets go of it too.
    func release(_ record: Record) {
        closeHandles(record)
        _ = pidsh_janitor_forget(record.id)
    }

    /// Closes a record's handles (the janitor still holds its own).
    func closeHandles(_ record: Record) {
        switch record {
        case .mount(let m):
            close(m.fd)
        case .directory(let d):
            close(d.parentFD)
            close(d.fd)
            if d.lockFD >= 0 { close(d.lockFD) }
            d.lockFD = -1
        }
    }

    public var mountedPaths: [String] {
        records.compactMap { if case .mount(let m) = $0 { return m.path } else { return nil } }
    }
}
