import CPidsh
import Glibc

/// `ns pin NS PATH`: a namespace bind-mounted on a file (as `ip netns add` and
/// `unshare --net=PATH` do), so it outlives its processes; undone at exit unless kept.
extension MountLog {
    public func pin(_ ns: Namespace, at path: String) throws {
        let parts = try MountPath.components(path)
        let parent = try MountPath.openParent(of: path, parts: parts).fd
        let name = parts.last!
        let parentPath = MountPath.resolved(parent) ?? "."
        if MountPath.isProc(parentPath) { close(parent); throw UsageError(Self.procRefusal(parentPath + "/" + name, unmounting: false)) }
        do {
            try checkCapacity()
            let file = try pinFile(name, in: parent, path: path)
            let point = MountPoint(path: file.path, fd: fcntl(file.fd, F_DUPFD_CLOEXEC, 3), made: file.made, record: newRecordID())
            defer { point.close() }
            var handle = pidsh_mount_handle(fd: -1, mount_id: 0)
            let e = recorder.run(TraceContext(paths: [Int64(ns.fd): ns.id, Int64(point.fd): point.path])) {
                pidsh_pin_namespace(ns.fd, point.fd, point.record, &handle, $0)
            }
            adopt(mount: handle, on: point)
            if e != 0 { throw SystemError(errnoValue: e, "ns pin \(ns.id) \(path)", explanation: e == EPERM ? "a bind mount needs CAP_SYS_ADMIN in the user namespace that owns pidsh's mount namespace" : nil) }
        } catch {
            close(parent)
            throw error
        }
    }

    /// The file a namespace is pinned on: made by the janitor when missing (recorded
    /// the moment it exists), else an existing regular file of root's or pidsh's user.
    private func pinFile(_ name: String, in parent: Int32, path: String) throws -> (fd: Int32, path: String, made: Bool) {
        let id = newRecordID()
        var fd: Int32 = -1
        var e = pidsh_janitor_make_file(parent, name, id, &fd)
        var made = e == 0
        if e == EEXIST {
            fd = pidsh_openat_path_nofollow(parent, name)
            e = fd < 0 ? Glibc.errno : 0
            made = false
        }
        if e != 0 { throw SystemError(errnoValue: e, "ns pin: create \(path)") }
        var st = stat()
        fstat(fd, &st)
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw UsageError("ns pin: \(path) is not a regular file (a namespace is pinned on a file, as `ip netns` does)")
        }
        if !made, st.st_uid != geteuid(), st.st_uid != 0 {
            close(fd)
            throw UsageError("ns pin: \(path) is owned by uid \(st.st_uid), not by pidsh's user: refused")
        }
        let resolved = MountPath.resolved(fd) ?? MountPath.absolute(path)
        let record = DirectoryRecord(id: id, parentFD: parent, fd: fcntl(fd, F_DUPFD_CLOEXEC, 3), name: name,
                                     dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), path: resolved, made: made, lockFD: -1)
        record.isFile = true
        if made { append(.directory(record)) } else { close(record.fd); close(parent) }
        return (fd, resolved, made)
    }
}
