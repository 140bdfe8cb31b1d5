import Glibc

/// Whole files: redirection targets, scripts and the history read at once (bounded),
/// files written or replaced at once, their permission bits, their removal.
extension FileIO {
    public enum RedirectMode { case read, truncate, append }

    /// Opens a redirection target (close-on-exec; the child gets it by dup2).
    public static func open(_ path: String, _ mode: RedirectMode) throws -> Int32 {
        let flags: Int32
        switch mode {
        case .read: flags = O_RDONLY
        case .truncate: flags = O_WRONLY | O_CREAT | O_TRUNC
        case .append: flags = O_WRONLY | O_CREAT | O_APPEND
        }
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        if fd < 0 {
            let e = errno
            throw SystemError(errnoValue: e, "open \(path)", explanation: e == ENOENT ? "no such file or directory: \(path)" : nil)
        }
        return fd
    }

    /// Reads a whole file (a script), or throws: at most `limit` bytes (more is an
    /// error, not an allocation failure). `regularOnly` refuses anything but a regular
    /// file: a device such as /dev/zero never ends.
    public static func readFile(_ path: String, limit: Int = Int.max, regularOnly: Bool = false) throws -> [UInt8] {
        // Only a regular file will do: opened without blocking, so a FIFO without a
        // writer is refused rather than waited for.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
        if fd < 0 { throw SystemError.last("open \(path)") }
        defer { Glibc.close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError.last("fstat \(path)") }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFDIR { throw UsageError("\(path) is a directory, not a file") }
        if regularOnly && kind != S_IFREG { throw UsageError("\(path) is \(describeFileType(kind)), not a regular file") }
        if kind == S_IFREG && st.st_size > limit { throw tooLarge(path, limit) }
        guard let bytes = readAll(fd: fd, limit: limit) else { throw tooLarge(path, limit) }
        return bytes
    }

    static func tooLarge(_ path: String, _ limit: Int) -> UsageError {
        UsageError("\(path) is larger than \(limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit) bytes"), more than pidsh reads")
    }

    /// "a character device" for S_IFCHR...
    public static func describeFileType(_ kind: mode_t) -> String {
        switch kind {
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a pipe (FIFO)"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        default: return "a regular file"
        }
    }

    public static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 { throw SystemError.last("open \(path)") }
        let e = writeAll(fd, text)
        if Glibc.close(fd) != 0 || e != 0 { throw SystemError(errnoValue: e != 0 ? e : errno, "write \(path)") }
    }

    /// Replaces `path` with `bytes` at once: written to `path.PID.tmp` (created with
    /// `mode`, never through a symlink), then renamed over it, so a reader never sees
    /// half a file. Missing parent directories are made (mode 0700).
    public static func replaceFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        try makeParentDirectories(of: path)
        let temporary = path + ".\(getpid()).tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        if fd < 0 { throw SystemError.last("create \(temporary)") }
        fchmod(fd, mode)   // whatever the umask
        let e = bytes.withUnsafeBytes { writeAll(fd, $0) }
        if Glibc.close(fd) != 0 || e != 0 {
            let error = SystemError(errnoValue: e != 0 ? e : errno, "write \(path)")
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let error = SystemError.last("replace \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// mkdir -p of the directory `path` is in (new ones mode 0700).
    static func makeParentDirectories(of path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let directory = String(path[..<slash])
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { throw SystemError.last("mkdir \(prefix)") }
        }
    }

    /// The permission bits of a file (0644 when it cannot be read).
    public static func permissions(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o644
    }

    public static func removeFile(_ path: String) throws {
        if unlink(path) != 0 { throw SystemError.last("remove \(path)") }
    }
}
