import CPidsh
import Glibc
import SystemPackage

/// Every mount and directory pidsh makes, in order, so clean-up can undo them in
/// reverse at exit, on error and on SIGINT/SIGTERM. Mount points are created and
/// opened without following symlinks: a symlink planted in /tmp never redirects them.
public final class MountLog: @unchecked Sendable {
    public enum Entry: Equatable, Sendable {
        case mount(String)
        case directory(String)
    }

    public private(set) var entries: [Entry] = []
    /// Where the log is mirrored for `pidsh cleanup` (shared-mounts mode), or nil.
    public let journalPath: String?
    /// True when pidsh works in the host's mount namespace (`--shared-mounts`).
    public let sharedMounts: Bool

    public init(sharedMounts: Bool = false, journalPath: String? = nil) {
        self.sharedMounts = sharedMounts
        self.journalPath = journalPath
        if let journalPath { _ = pidsh_janitor_note("=j \(journalPath)\n") }
    }

    /// A mount point ready for the new mount API: the final component is created if
    /// missing (its parent must exist), nothing is followed through a symlink, and a
    /// directory owned by another user is refused. Returns an O_PATH fd (close it).
    public func prepareMountPoint(_ path: String) throws -> Int32 {
        let components = try Self.checkedComponents(path)
        var dirfd = pidsh_open_path_dir(path.hasPrefix("/") ? "/" : ".")
        if dirfd < 0 { throw SystemError.last("open \(path.hasPrefix("/") ? "/" : ".")") }
        var walked = path.hasPrefix("/") ? "" : "."
        for (i, name) in components.enumerated() {
            let isLast = i == components.count - 1
            walked += "/" + name
            var next = pidsh_open_tree_nofollow(dirfd, name)
            if next < 0 && Glibc.errno == ENOENT && isLast {
                if mkdirat(dirfd, name, 0o755) != 0 && Glibc.errno != EEXIST {
                    let e = Glibc.errno
                    let parent = walked.dropLast(name.count + 1)
                    let parentPath = Self.absolute(parent.isEmpty ? "/" : String(parent))
                    let mirroredNow = (e == EACCES || e == EPERM) && mirrorDirectory(parentPath, openAs: dirfd)
                    close(dirfd)
                    if mirroredNow { return try prepareMountPoint(path) }
                    throw SystemError(errnoValue: e, "mkdir \(path)", explanation: e == EACCES || e == EPERM || e == EROFS
                        ? "pidsh creates a missing mount point only where its user may write, and \(parent.isEmpty ? "/" : String(parent)) is not writable\(!SessionSetup.inUserNamespace ? "" : " (as a normal user pidsh is root only inside a user namespace of its own, which gives no right over the host's directories)"): make the directory first, or pick a path under /tmp"
                        : nil)
                }
                record(.directory(Self.absolute(path)))
                next = pidsh_open_tree_nofollow(dirfd, name)
            }
            if next < 0 {
                var e = Glibc.errno
                // O_PATH|O_NOFOLLOW|O_DIRECTORY on a symlink fails ENOTDIR, not ELOOP:
                // tell the two apart so the refusal names the planted link.
                var st = stat()
                if e == ENOTDIR, fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0,
                   st.st_mode & S_IFMT == S_IFLNK { e = ELOOP }
                close(dirfd)
                throw Self.pathError(e, path: path, component: walked, isLast: isLast)
            }
            close(dirfd)
            dirfd = next
        }
        var st = stat()
        if fstat(dirfd, &st) == 0, st.st_uid != geteuid(), st.st_uid != 0 {
            close(dirfd)
            throw UsageError("mount point \(path) is owned by uid \(st.st_uid), not by pidsh's user: refused (someone else could swap what is mounted there)")
        }
        return dirfd
    }

    /// Whether /proc is a procfs of pidsh's own PID namespace (its /proc/self is pidsh).
    static var procIsOwnNamespaces: Bool { ProcFiles.readLink("/proc/self") == String(getpid()) }

    /// What the last `mountProc` did, as system calls, for `--trace`.
    public private(set) var lastSteps: [String] = []

    /// Directories mirrored so far (see mirror.c), each at most once.
    private var mirrored: Set<String> = []

    /// Rootless, pidsh is root only in a user namespace of its own: a directory of the
    /// host's (such as `/` for the walkthroughs' /proc2) is not writable, but pidsh may
    /// mount in its private mount namespace. So it mirrors the directory with a tmpfs
    /// that binds every original entry, and creates the mount point there; it vanishes
    /// with the session's mount namespace. True when the mirror is in place.
    private func mirrorDirectory(_ path: String, openAs dirfd: Int32) -> Bool {
        guard SessionSetup.inUserNamespace, !sharedMounts, !mirrored.contains(path) else { return false }
        mirrored.insert(path)
        let e = pidsh_mirror_directory(dirfd)
        lastSteps.append("mirror \(path): fsopen(\"tmpfs\") + fsmount + move_mount over it, open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) + move_mount per entry\(path == "/" ? ", pivot_root(\".\", \".\") + umount2(old root, MNT_DETACH)" : "") = \(e == 0 ? "0" : "-1 " + Errno.symbolicName(e))   # rootless: \(path) is not writable")
        return e == 0
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(cString: buf)
        return (cwd == "/" ? "" : cwd) + "/" + path
    }

    static func checkedComponents(_ path: String) throws -> [String] {
        guard !path.isEmpty else { throw UsageError("mount point is empty") }
        guard !path.utf8.contains(0) else { throw UsageError("mount point contains a NUL byte") }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        if parts.contains("..") {
            throw UsageError("mount point \(path) contains `..`: give the path without it (pidsh never resolves `..` in a mount point, so it cannot be walked out of a directory)")
        }
        if parts.isEmpty { throw UsageError("refusing to mount over /") }
        return parts
    }

    static func pathError(_ e: Int32, path: String, component: String, isLast: Bool) -> Error {
        // "mount point /x: /x is not a directory" would say the path twice.
        let subject = component == path ? "mount point \(path)" : "mount point \(path): \(component)"
        switch e {
        case ELOOP:
            return UsageError("\(subject) is a symbolic link; pidsh never follows one in a mount point (a link planted in a shared directory could redirect the mount)")
        case ENOTDIR:
            return UsageError("\(subject) is not a directory")
        case ENOENT:
            return UsageError("\(subject) does not exist (pidsh creates only the last component; make the parent first)")
        default:
            return SystemError(errnoValue: e, "open \(component)")
        }
    }

    /// Mounts a procfs of `namespace` (nil: the namespace pidsh's children go to, which
    /// is pidsh's own unless unshare/setns moved it) at path.
    public func mountProc(at path: String, namespace: Namespace?) throws {
        if Self.isHostProc(path) {
            throw UsageError(sharedMounts
                ? "refusing to mount over the host's /proc: in --shared-mounts mode every other process on the machine would see the new namespace's procfs (use `spawn --mount-proc` to give one process a /proc of its own)"
                : "refusing to mount over /proc: pidsh reads /proc itself to follow its processes (use `spawn --mount-proc` to give a process a /proc of its own)")
        }
        lastSteps = []
        let dirfd = try prepareMountPoint(path)
        defer { close(dirfd) }
        try mountProc(dirfd: dirfd, path: path, namespace: namespace)
    }

    public func mountProc(dirfd: Int32, path: String, namespace: Namespace?) throws {
        let ns: Namespace
        if let namespace { ns = namespace } else { ns = try Namespace.own() }
        if SessionSetup.childrenNamespaceIsFixed, ns.inode == Namespace.ownInode, Self.procIsOwnNamespaces {
            // Rootless in the host's PID namespace: a new procfs of it needs CAP_SYS_ADMIN
            // over the host's user namespace, but /proc already is one; bind it.
            let e = pidsh_bind_proc_at(dirfd)
            if e != 0 { throw SystemError(errnoValue: e, "mount proc \(path): bind of /proc") }
            lastSteps.append("open_tree(\"/proc\", OPEN_TREE_CLONE|AT_RECURSIVE) + move_mount(\(path)) = 0   # rootless in the host's namespace: /proc is its procfs")
            recordMount(path)
            return
        }
        var stage: Int32 = 0
        let e = pidsh_mount_proc_in_namespace(ns.fd, dirfd, &stage)
        if e != 0 {
            switch stage {
            case Int32(PIDSH_STAGE_CLONE.rawValue): throw KernelRules.cloneError(e, what: "mount proc \(path): helper in \(ns.id)", intoNamespace: ns)
            case Int32(PIDSH_STAGE_SETNS.rawValue): throw KernelRules.setnsError(e, namespace: ns)
            case Int32(PIDSH_STAGE_OPEN_OWN_NS.rawValue): throw KernelRules.pendingUnshareError(e, what: "mount proc \(path)")
            default:
                throw SystemError(errnoValue: e, "mount proc \(path)", explanation: e == EPERM ? KernelRules.privilegeHint : nil)
            }
        }
        lastSteps.append("setns(\(ns.id), CLONE_NEWPID)\(SessionSetup.childrenNamespaceIsFixed ? " in a helper" : "") + clone3 helper: fsopen(\"proc\") + fsmount + move_mount(\(path)) = 0")
        recordMount(path)
    }

    /// Records a mount made elsewhere (by a spawned child on a prepared mount point).
    public func recordMount(_ path: String) { record(.mount(Self.absolute(path))) }

    /// Forgets a mount and the directory pidsh made for it (`--keep`).
    public func keep(_ path: String) {
        let abs = Self.absolute(path)
        for e in entries where e == .mount(abs) || e == .directory(abs) { tellJanitor("-", e) }
        entries.removeAll { $0 == .mount(abs) || $0 == .directory(abs) }
        writeJournal()
    }

    /// `umount PATH`: unmounts one of pidsh's mounts (or any, with a clear error).
    public func unmount(_ path: String) throws {
        let abs = Self.absolute(path)
        let e = pidsh_umount(abs, 0)
        if e != 0 {
            throw SystemError(errnoValue: e, "umount \(path)", explanation: e == EINVAL ? "\(path) is not a mount point" : (e == EBUSY ? "a process still has its cwd or files there" : nil))
        }
        if let i = entries.lastIndex(of: .mount(abs)) { entries.remove(at: i); tellJanitor("-", .mount(abs)) }
        writeJournal()
    }

    /// Undoes everything in reverse order; returns what it could not undo. `undone` is
    /// told each entry that was really undone (not one already gone).
    @discardableResult
    public func undoAll(undone: ((Entry) -> Void)? = nil) -> [String] {
        var failures: [String] = []
        for entry in entries.reversed() {
            switch entry {
            case .mount(let path):
                // Lazy: a process that still looks at it must not keep it alive.
                let e = pidsh_umount(path, Int32(MNT_DETACH))
                if e == 0 { undone?(entry) }
                if e != 0 && e != EINVAL && e != ENOENT { failures.append("umount \(path): \(Errno.symbolicName(e))") }
            case .directory(let path):
                if rmdir(path) == 0 { undone?(entry) }
                else if Glibc.errno != ENOENT { failures.append("rmdir \(path): \(Errno.symbolicName(Glibc.errno))") }
            }
            tellJanitor("-", entry)
        }
        entries.removeAll()
        writeJournal()
        return failures
    }

    public var mountedPaths: [String] {
        entries.compactMap { if case .mount(let p) = $0 { return p } else { return nil } }
    }

    private func record(_ entry: Entry) {
        entries.append(entry)
        tellJanitor("+", entry)
        writeJournal()
    }

    /// Mirrors the log to the janitor process (a no-op when none was started).
    private func tellJanitor(_ sign: String, _ entry: Entry) {
        switch entry {
        case .mount(let p): _ = pidsh_janitor_note("\(sign)m \(p)\n")
        case .directory(let p): _ = pidsh_janitor_note("\(sign)d \(p)\n")
        }
    }

    static func isHostProc(_ path: String) -> Bool {
        // Relative paths too: `proc` with the cwd at / is the host's /proc.
        let parts = absolute(path).split(separator: "/").filter { $0 != "." }
        return parts == ["proc"]
    }

    // MARK: journal for `pidsh cleanup`

    private func writeJournal() {
        guard let journalPath else { return }
        if entries.isEmpty { unlink(journalPath); return }
        let text = entries.map { entry -> String in
            switch entry {
            case .mount(let p): return "mount\t\(p)"
            case .directory(let p): return "dir\t\(p)"
            }
        }.joined(separator: "\n") + "\n"
        let tmp = journalPath + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        rename(tmp, journalPath)
    }

    /// Reads a journal left by a killed run: its entries in order.
    public static func readJournal(_ path: String) -> [Entry] {
        guard let text = ProcFiles.readString(path) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return nil }
            return parts[0] == "mount" ? .mount(parts[1]) : (parts[0] == "dir" ? .directory(parts[1]) : nil)
        }
    }

    /// Adopts a dead run's journal so undoAll() undoes it.
    public func adopt(_ dead: [Entry]) { entries.append(contentsOf: dead) }
}
