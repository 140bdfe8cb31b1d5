import CPidsh
import Glibc
import SystemPackage

/// Undoing what the log holds, newest first, by handle.
extension MountLog {
    /// Undoes everything in reverse order; returns what it could not undo. `undone` is
    /// told each entry that was really undone (not one already gone). A directory
    /// another session still uses is left to the janitor, which removes it once that
    /// session lets go.
    @discardableResult
    public func undoAll(undone: ((Entry) -> Void)? = nil) -> [String] {
        var failures: [String] = []
        for record in records.reversed() {
            switch record {
            case .mount(let m):
                // Lazy: a process that still looks at it must not keep it alive.
                let e = unmountRecord(m)
                if e == 0 { undone?(record.entry) }
                else if e != EINVAL && e != ENOENT { failures.append("umount \(m.path): \(Errno.symbolicName(e))") }
                release(record)
            case .directory(let d):
                switch removeDirectory(d) {
                case .removed: undone?(record.entry); release(record)
                case .gone: release(record)
                case .inUse: closeOnly(d)
                case .failed(let why): failures.append(why); release(record)
                }
            }
        }
        records.removeAll()
        MountJournal.write(self)
        return failures
    }

    enum DirectoryOutcome {
        case removed, gone, inUse
        case failed(String)
    }

    /// Removes a directory pidsh made, unless another session holds a shared lock on it
    /// (it mounts there): an rmdir would detach that session's mount.
    func removeDirectory(_ d: DirectoryRecord) -> DirectoryOutcome {
        let lock = openat(d.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if lock >= 0 { close(lock) } }
        if lock >= 0, pidsh_try_lock_exclusive(lock) == EWOULDBLOCK { return .inUse }
        var rec = pidsh_call_record()
        let e = pidsh_remove_directory_handle(d.parentFD, d.name, d.dev, d.ino, &rec)
        if rec.call != 0 { recorder.add(rec, TraceContext(paths: [Int64(d.parentFD): MountPath.resolved(d.parentFD) ?? ""])) }
        switch e {
        case 0: return .removed
        case ENOENT: return .gone
        case ESTALE: return .failed("rmdir \(d.path): another entry or a mount is there now, not the directory pidsh made: left alone")
        default: return .failed("rmdir \(d.path): \(Errno.symbolicName(e))")
        }
    }

    /// Lets go of pidsh's handles but not of the janitor's record: it finishes the job.
    func closeOnly(_ d: DirectoryRecord) {
        close(d.parentFD)
        close(d.fd)
    }
}
