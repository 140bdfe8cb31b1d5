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
        var forgotten: [UInt64] = []
        forgotten.reserveCapacity(records.count)
        for record in records.reversed() {
            switch record {
            case .mount(let m):
                // Lazy: a process that still looks at it must not keep it alive.
                let e = unmountRecord(m)
                if e == 0 { undone?(record.entry) }
                else if e != EINVAL && e != ENOENT { failures.append("umount \(m.path): \(Errno.symbolicName(e))") }
            case .directory(let d):
                if let failure = removeIfLastUser(d) { failures.append(failure) } else if d.removed { undone?(record.entry) }
            }
            closeHandles(record)
            forgotten.append(record.id)
        }
        // The janitor lets go of them all at once (undoing again what pidsh already
        // undid, should pidsh die before this, finds nothing left to do: by handle).
        _ = forgotten.withUnsafeBufferPointer { pidsh_janitor_forget_many($0.baseAddress, Int32($0.count)) }
        records.removeAll()
        MountJournal.write(self)
        return failures
    }

    /// Lets go of pidsh's own use of a mount point, then removes it if a pidsh made it
    /// and no other session uses it (that one removes it when it lets go). Returns what
    /// went wrong, or nil.
    func removeIfLastUser(_ d: DirectoryRecord) -> String? {
        if d.lockFD >= 0 { close(d.lockFD) }
        d.lockFD = -1
        var rec = pidsh_call_record()
        let e = d.isFile ? pidsh_remove_file_handle(d.parentFD, d.name, d.dev, d.ino, &rec)
                         : pidsh_remove_if_last_user(d.parentFD, d.fd, d.name, d.dev, d.ino, d.made ? 1 : 0, &rec)
        if rec.call != 0 { recorder.add(rec, TraceContext(paths: [Int64(d.parentFD): MountPath.resolved(d.parentFD) ?? ""])) }
        d.removed = e == 0
        switch e {
        case 0, ENOENT, EPERM, EBUSY: return nil
        case ESTALE: return d.made ? "rmdir \(d.path): another entry or a mount is there now, not the directory pidsh made: left alone" : nil
        default: return "rmdir \(d.path): \(Errno.symbolicName(e))"
        }
    }
}
