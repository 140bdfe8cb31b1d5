import CPidsh
import Glibc
import SystemPackage

/// A directory ready to have a procfs mounted on it, held by descriptors from a walk
/// that followed no symlink: everything later done with it (the mount, the undo) goes
/// through these handles, never through the path again.
public final class MountPoint {
    /// The path as the kernel names the directory (from its descriptor).
    public let path: String
    /// O_PATH descriptor of the directory itself (beneath whatever gets mounted on it).
    public let fd: Int32
    /// True when pidsh made it (through its janitor) for this mount.
    public let made: Bool
    /// The janitor's record id for the mount about to be made here.
    public let record: UInt64

    init(path: String, fd: Int32, made: Bool, record: UInt64) {
        self.path = path
        self.fd = fd
        self.made = made
        self.record = record
    }

    /// Lets go of the directory's descriptor (the log keeps its own).
    public func close() { Glibc.close(fd) }
}

/// Walking a mount path one component at a time without following symlinks.
enum MountPath {
    /// The parent of `path`'s last component, walked to one component at a time without
    /// following a symlink (openComponent), and the text walked so far (for messages).
    static func openParent(of path: String, parts: [String]) throws -> (fd: Int32, walked: String) {
        let fromRoot = path.hasPrefix("/")
        var dirfd = pidsh_open_path_dir(fromRoot ? "/" : ".")
        if dirfd < 0 { throw SystemError.last("open \(fromRoot ? "/" : ".")") }
        var walked = fromRoot ? "" : "."
        for name in parts.dropLast() {
            walked += "/" + name
            let (next, e) = openComponent(dirfd, name)
            close(dirfd)
            if next < 0 { throw error(e, path: path, component: walked) }
            dirfd = next
        }
        return (dirfd, walked)
    }

    static func components(_ path: String) throws -> [String] {
        guard !path.isEmpty else { throw UsageError("mount point is empty") }
        guard !path.utf8.contains(0) else { throw UsageError("mount point contains a NUL byte") }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        if parts.contains("..") {
            throw UsageError("mount point \(path) contains `..`: give the path without it (pidsh never resolves `..` in a mount point, so it cannot be walked out of a directory)")
        }
        if parts.isEmpty { throw UsageError("refusing to mount over /") }
        return parts
    }

    /// An error for a component that could not be opened as a directory.
    static func error(_ e: Int32, path: String, component: String) -> Error {
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

    /// Opens `name` in `dirfd` as a directory, never through a symlink: -1 with the
    /// errno (ELOOP for a symlink: O_NOFOLLOW|O_DIRECTORY says ENOTDIR for one).
    static func openComponent(_ dirfd: Int32, _ name: String) -> (fd: Int32, errno: Int32) {
        let fd = pidsh_open_tree_nofollow(dirfd, name)
        if fd >= 0 { return (fd, 0) }
        var e = Glibc.errno
        var st = stat()
        if e == ENOTDIR, fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFLNK { e = ELOOP }
        return (-1, e)
    }

    /// Where a descriptor really is, as the kernel names it (d_path).
    static func resolved(_ fd: Int32) -> String? {
        ProcFiles.readLink("/proc/self/fd/\(fd)")
    }

    /// The /proc pidsh and the host read, or anything under it: never a mount target.
    static func isProc(_ resolved: String) -> Bool {
        resolved == "/proc" || resolved.hasPrefix("/proc/")
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(cString: buf)
        return (cwd == "/" ? "" : cwd) + "/" + path
    }
}
