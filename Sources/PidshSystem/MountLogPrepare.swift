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
        let fromRoot = path.hasPrefix("/")
        var dirfd = pidsh_open_path_dir(fromRoot ? "/" : ".")
        if dirfd < 0 { throw SystemError.last("open \(fromRoot ? "/" : ".")") }
        var walked = fromRoot ? "" : "."
        var made = false
        for (i, name) in parts.enumerated() {
            walked += "/" + name
            var (next, e) = MountPath.openComponent(dirfd, name)
            if next < 0, e == ENOENT, i == parts.count - 1 {
                do {
                    (next, made) = try makeDirectory(name, in: dirfd, path: path)
                } catch {
                    close(dirfd)
                    throw error
                }
                e = Glibc.errno
            }
            close(dirfd)
            if next < 0 { throw MountPath.error(e, path: path, component: walked) }
            dirfd = next
        }
        return try finish(dirfd, path: path, made: made)
    }

    /// The missing last component, made by the janitor (so it is recorded the moment it
    /// exists). Returns its O_PATH fd (-1 with errno set) and whether pidsh made it.
    private func makeDirectory(_ name: String, in parent: Int32, path: String) throws -> (Int32, Bool) {
        let parentPath = MountPath.resolved(parent) ?? "."
        if MountPath.isProc(parentPath) { throw UsageError(Self.procRefusal(parentPath + "/" + name, unmounting: false)) }
        try checkCapacity()
        let id = newRecordID()
        var fd: Int32 = -1
        let context = TraceContext(paths: [Int64(parent): parentPath])
        let e = recorder.run(context) { pidsh_janitor_make_directory(parent, name, 0o755, id, &fd, $0) }
        if e == 0 {
            var st = stat()
            fstat(fd, &st)
            let parentCopy = fcntl(parent, F_DUPFD_CLOEXEC, 3)
            append(.directory(DirectoryRecord(id: id, parentFD: parentCopy, fd: fcntl(fd, F_DUPFD_CLOEXEC, 3), name: name,
                                              dev: UInt64(st.st_dev), ino: UInt64(st.st_ino),
                                              path: MountPath.resolved(fd) ?? MountPath.absolute(path))))
            return (fd, true)
        }
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

    /// The checks on the directory reached, and the shared lock on one pidsh did not make.
    private func finish(_ fd: Int32, path: String, made: Bool) throws -> MountPoint {
        let resolved = MountPath.resolved(fd) ?? MountPath.absolute(path)
        var st = stat()
        if !made, fstat(fd, &st) == 0, st.st_uid != geteuid(), st.st_uid != 0 {
            close(fd)
            throw UsageError("mount point \(path) is owned by uid \(st.st_uid), not by pidsh's user: refused (someone else could swap what is mounted there)")
        }
        if MountPath.isProc(resolved) {
            close(fd)
            throw UsageError(Self.procRefusal(resolved, unmounting: false))
        }
        var lock: Int32 = -1
        if !made && !madeHere(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)) {
            // Another session may have made it: a shared flock tells that session not
            // to remove it while this one mounts there (an rmdir anywhere detaches the
            // mounts on it in every mount namespace).
            lock = pidsh_lock_directory_shared(fd, 2000)
            if lock < 0 && Glibc.errno == EWOULDBLOCK {
                close(fd)
                throw UsageError("mount point \(path) is locked by another process (flock): it is being removed, or held; try again")
            }
            var now = stat()
            if lock >= 0, fstat(lock, &now) == 0, now.st_nlink == 0 {
                close(lock)
                close(fd)
                throw Removed()
            }
        }
        return MountPoint(path: resolved, fd: fd, made: made, lockFD: lock, record: newRecordID())
    }

    func madeHere(dev: UInt64, ino: UInt64) -> Bool {
        records.contains { if case .directory(let d) = $0 { return d.dev == dev && d.ino == ino } else { return false } }
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
