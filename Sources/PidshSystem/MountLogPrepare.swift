import CPidsh
import Glibc
import SystemPackage

/// Preparing a mount point: a walk that follows no symlink, the last component made by
/// the janitor when missing, and the refusals (/proc, another user's directory).
extension MountLog {
    /// The walk found its directory removed by the session that made it: walk again.
    private struct Removed: Error {}
    /// Rootless: the parent was mirrored writable; walk again.
    private struct Mirrored: Error {}

    /// A mount point ready for the new mount API: the final component is created if
    /// missing (its parent must exist), nothing is followed through a symlink, a
    /// directory owned by another user is refused, and so is /proc or anything under
    /// it, wherever the path would land. Close it when the mount is made.
    public func prepareMountPoint(_ path: String) throws -> MountPoint {
        for _ in 0..<4 {
            do {
                return try walk(path)
            } catch is Removed {
                continue
            } catch is Mirrored {
                continue
            }
        }
        throw UsageError("mount point \(path) was removed again and again by another pidsh session while pidsh walked to it: try again")
    }

    private func walk(_ path: String) throws -> MountPoint {
        let parts = try MountPath.components(path)
        let (dirfd, walkedToParent) = try MountPath.openParent(of: path, parts: parts)
        var walked = walkedToParent
        // The last component: opened (or made) from its parent, which the log keeps.
        let name = parts.last!
        walked += "/" + name
        var (fd, e) = MountPath.openComponent(dirfd, name)
        var made = false
        if fd < 0, e == ENOENT {
            do {
                (fd, made) = try makeDirectory(name, in: dirfd, path: path)
            } catch {
                close(dirfd)
                throw error
            }
            e = Glibc.errno
        }
        if fd < 0 {
            close(dirfd)
            throw MountPath.error(e, path: path, component: walked)
        }
        do {
            return try finish(fd, parent: dirfd, name: name, path: path, made: made)
        } catch {
            close(fd)
            close(dirfd)
            throw error
        }
    }

    /// The missing last component, made by the janitor (so it is recorded the moment it
    /// exists, and marked as pidsh's). Returns its O_PATH fd (-1 with errno set) and
    /// whether pidsh made it.
    private func makeDirectory(_ name: String, in parent: Int32, path: String) throws -> (Int32, Bool) {
        let parentPath = MountPath.resolved(parent) ?? "."
        if MountPath.isProc(parentPath) { throw UsageError(Self.procRefusal(parentPath + "/" + name, unmounting: false)) }
        try checkCapacity()
        pendingDirectoryID = newRecordID()
        var fd: Int32 = -1
        let id = pendingDirectoryID
        let e = recorder.run(TraceContext(paths: [Int64(parent): parentPath])) { pidsh_janitor_make_directory(parent, name, 0o755, id, &fd, $0) }
        if e == 0 { return (fd, true) }
        if e == EEXIST {
            let (again, e2) = MountPath.openComponent(parent, name)
            Glibc.errno = e2
            return (again, false)
        }
        if (e == EACCES || e == EPERM), mirrorDirectory(parentPath, openAs: parent) { throw Mirrored() }
        let explain = e == EACCES || e == EPERM || e == EROFS
        throw SystemError(errnoValue: e, "mkdir \(path)", explanation: explain
            ? "pidsh creates a missing mount point only where its user may write, and \(parentPath) is not writable\(!SessionSetup.inUserNamespace ? "" : " (as a normal user pidsh is root only inside a user namespace of its own, which gives no right over the host's directories)"): make the directory first, or pick a path under /tmp"
            : nil)
    }

    /// The checks on the directory reached, and its record: a shared flock held for the
    /// session, so a session that made it does not remove it while this one mounts there.
    /// `madeID`: the record of a directory the janitor made (pendingDirectoryID unless said);
    /// `resolved`: its path when known (made just now in a parent whose path was read).
    func finish(_ fd: Int32, parent: Int32, name: String, path: String, made: Bool, madeID: UInt64? = nil,
                resolved known: String? = nil) throws -> MountPoint {
        let resolved = known ?? MountPath.resolved(fd) ?? MountPath.absolute(path)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError.last("stat \(path)") }
        // /proc first: rootless, root's /proc shows as another owner's, and that it is
        // /proc is the reason that matters.
        if MountPath.isProc(resolved) { throw UsageError(Self.procRefusal(resolved, unmounting: false)) }
        if !made, st.st_uid != geteuid(), st.st_uid != 0 {
            throw UsageError(Self.ownerRefusal(path, uid: st.st_uid))
        }
        if directoryRecord(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)) == nil {
            let lock = pidsh_lock_directory_shared(fd, 2000)
            if lock < 0 && Glibc.errno == EWOULDBLOCK {
                throw UsageError("mount point \(path) is locked by another process (flock): it is being removed, or held; try again")
            }
            var now = stat()
            if !made, lock >= 0, fstat(lock, &now) == 0, now.st_nlink == 0 {
                // The session that made it removed it between the walk and the lock.
                close(lock)
                throw Removed()
            }
            let id = made ? madeID ?? pendingDirectoryID : newRecordID()
            let record = DirectoryRecord(id: id, parentFD: parent, fd: fcntl(fd, F_DUPFD_CLOEXEC, 3), name: name,
                                         dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), path: resolved, made: made, lockFD: lock)
            if !made { _ = pidsh_janitor_note_directory(parent, fd, name, id) }
            append(.directory(record))
        } else {
            close(parent)
        }
        return MountPoint(path: resolved, fd: fd, made: made, record: newRecordID())
    }

    /// A mount point someone else owns: who, as far as the kernel lets pidsh know.
    static func ownerRefusal(_ path: String, uid: UInt32) -> String {
        let map = UserIDMap.current()
        return "mount point \(path) belongs to \(map.owner(uid)), not to pidsh's user (\(map.pidshUser())): refused (its owner could swap what is mounted there). Make the directory yourself, or name a path that does not exist yet (pidsh makes it, and removes it at exit)"
    }

    func directoryRecord(dev: UInt64, ino: UInt64) -> DirectoryRecord? {
        for case .directory(let d) in records where d.dev == dev && d.ino == ino { return d }
        return nil
    }

    static func procRefusal(_ resolved: String, unmounting: Bool) -> String {
        let what = unmounting ? "unmount" : "mount over"
        return "refusing to \(what) \(resolved): it is /proc, or under it, where pidsh and every other process read the processes they see (a mount there would hide them\(unmounting ? "; an unmount would expose what it covers" : "")). Use `spawn --mount-proc` without a path to give one process a /proc of its own"
    }

    /// Rootless, pidsh is root only in a user namespace of its own: a directory of the
    /// host's (such as `/` for the walkthroughs' /proc2) is not writable, but pidsh may
    /// mount in its private mount namespace. So it mirrors the directory with a tmpfs
    /// that binds every original entry, and creates the mount point there; it vanishes
    /// with the session's mount namespace. True when the mirror is in place.
    private func mirrorDirectory(_ path: String, openAs dirfd: Int32) -> Bool {
        guard SessionSetup.inUserNamespace, !sharedMounts, !mirrored.contains(path) else { return false }
        mirrored.insert(path)
        let e = recorder.run(TraceContext()) { pidsh_mirror_directory(dirfd, $0) }
        return e == 0
    }
}
