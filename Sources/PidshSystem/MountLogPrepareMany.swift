import CPidsh
import Glibc

/// Preparing many mount points at once (`nest N --mount-proc`): what prepareMountPoint
/// does for each, with the round trips taken out. A parent shared by several is walked
/// to once, and the missing directories are asked of the janitor together (every
/// request sent before the first answer is read). Whatever does not fit that pattern
/// (a refusal, a directory the janitor could not make) goes the single way, which says
/// why or mirrors the parent.
extension MountLog {
    /// A mount point whose last component is missing: the janitor is to make it.
    private struct Missing {
        let index: Int
        let path: String
        let name: String
        let parent: Int32
        let parentPath: String
    }

    public func prepareMountPoints(_ paths: [String]) throws -> [MountPoint] {
        var points: [MountPoint?] = Array(repeating: nil, count: paths.count)
        var missing: [Missing] = []
        var parents: [String: (fd: Int32, resolved: String)] = [:]
        defer { for p in parents.values { close(p.fd) } }
        do {
            for (i, path) in paths.enumerated() {
                let parts = try MountPath.components(path)
                let key = (path.hasPrefix("/") ? "/" : "") + parts.dropLast().joined(separator: "/")
                if parents[key] == nil {
                    let (fd, _) = try MountPath.openParent(of: path, parts: parts)
                    parents[key] = (fd, MountPath.resolved(fd) ?? ".")
                }
                let parent = parents[key]!
                // Each point keeps a descriptor of its parent (its record does).
                let own = fcntl(parent.fd, F_DUPFD_CLOEXEC, 3)
                guard own >= 0 else { throw SystemError.last("dup") }
                let name = parts.last!
                let (fd, e) = MountPath.openComponent(own, name)
                if fd >= 0 {
                    do { points[i] = try finish(fd, parent: own, name: name, path: path, made: false) } catch {
                        close(fd); close(own); throw error
                    }
                } else if e == ENOENT && !MountPath.isProc(parent.resolved) {
                    missing.append(Missing(index: i, path: path, name: name, parent: own, parentPath: parent.resolved))
                } else {
                    // The single way says why (or mirrors, or makes it after all).
                    close(own)
                    points[i] = try prepareMountPoint(path)
                }
            }
            try makeMissing(&missing, into: &points)
        } catch {
            for p in points { p?.close() }
            for m in missing { close(m.parent) }
            throw error
        }
        return points.map { $0! }
    }

    /// The janitor makes every missing directory; each made one is finished here as its
    /// answer comes (while the janitor makes the next), the others go the single way
    /// once every answer is in. `missing` is emptied as its entries are taken.
    private func makeMissing(_ missing: inout [Missing], into points: inout [MountPoint?]) throws {
        guard !missing.isEmpty else { return }
        for _ in missing { try checkCapacity() }
        let ids = missing.map { _ in newRecordID() }
        var names: [CChar] = []
        for m in missing { names += m.name.utf8CString }
        var dirs = [Int32](repeating: -1, count: missing.count)
        var errors = [Int32](repeating: 0, count: missing.count)
        var pending = [Int32](repeating: 0, count: missing.count)
        pidsh_janitor_request_directories(Int32(missing.count), missing.map { $0.parent }, names, 0o755, ids, &dirs, &errors, &pending)
        var context = TraceContext()
        for m in missing { context.paths[Int64(m.parent)] = m.parentPath }
        let taken = missing
        missing = []
        var refused: [Missing] = []
        try recorder.run(context) { trace in
            for (k, m) in taken.enumerated() {
                m.name.withCString { pidsh_janitor_directory_result(pending[k], m.parent, $0, 0o755, &dirs[k], &errors[k], trace) }
                guard errors[k] == 0 else { refused.append(m); continue }
                do {
                    let known = m.parentPath + (m.parentPath.hasSuffix("/") ? "" : "/") + m.name
                    points[m.index] = try finish(dirs[k], parent: m.parent, name: m.name, path: m.path, made: true,
                                                 madeID: ids[k], resolved: known)
                } catch {
                    close(dirs[k])
                    close(m.parent)
                    drain(taken, from: k + 1, pending: pending, trace: trace)
                    for r in refused { close(r.parent) }
                    throw error
                }
            }
        }
        // The single way says why (or mirrors the parent, or finds it made after all).
        for (i, m) in refused.enumerated() {
            close(m.parent)
            do { points[m.index] = try prepareMountPoint(m.path) } catch {
                for later in refused.dropFirst(i + 1) { close(later.parent) }
                throw error
            }
        }
    }

    /// After a failure: the answers still to come are read (so the next request to the
    /// janitor gets its own) and what they hold is let go; the janitor removes the
    /// directories it made when pidsh lets it go.
    private func drain(_ taken: [Missing], from start: Int, pending: [Int32], trace: UnsafeMutablePointer<pidsh_trace>?) {
        for k in start..<taken.count {
            var fd: Int32 = -1, e: Int32 = 0
            taken[k].name.withCString { pidsh_janitor_directory_result(pending[k], taken[k].parent, $0, 0o755, &fd, &e, trace) }
            if fd >= 0 { close(fd) }
            close(taken[k].parent)
        }
    }
}
