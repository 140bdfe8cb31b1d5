import CPidsh
import Glibc

/// The file operations the language needs (redirections, pipes, globs, cd, $PATH), so
/// that PidshKit makes no system call of its own.
public enum FileIO {
    /// Writes all of `text`. Returns 0, or the errno of the write that failed: ENOSPC,
    /// EPIPE (the reader is gone), EBADF (a closed standard stream), or EINTR when a
    /// SIGINT/SIGTERM/SIGHUP for pidsh came while the reader was stuck (pidsh is
    /// stopping; that is no fault of the target).
    @discardableResult
    public static func writeAll(_ fd: Int32, _ text: String) -> Int32 {
        var t = text
        return t.withUTF8 { buf in writeAll(fd, UnsafeRawBufferPointer(buf)) }
    }

    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Int32 {
        var off = 0
        while off < buf.count {
            // A SIGINT/SIGTERM/SIGHUP to pidsh while the reader is stuck gives up the
            // write, so the interpreter can stop the script.
            let n = pidsh_write_unless_interrupted(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { return errno }
            off += n
        }
        return 0
    }

    /// Start-up, before anything opens a descriptor: a standard stream that is closed
    /// (`pidsh >&-`) gets /dev/null opened O_PATH, on which every read and write fails
    /// EBADF as on the closed descriptor. Otherwise the first descriptor pidsh opens
    /// (a pipe of its own) would become "standard output", and `echo` would write into
    /// it (and wait for ever for room).
    public static func occupyClosedStandardStreams() { pidsh_occupy_closed_stdio() }

    /// A close-on-exec pipe: (read, write).
    public static func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        if pidsh_pipe_cloexec(&fds) != 0 { throw SystemError.last("pipe") }
        return (fds[0], fds[1])
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

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

    /// Everything `fd` gives until its end; nil once it gave more than `limit` bytes.
    public static func readAll(fd: Int32, limit: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { b in retryingInterrupts { read(fd, b.baseAddress, b.count) } }
            if n < 0 { return out }
            if n == 0 { return out }
            if out.count + n > limit { return nil }
            out.append(contentsOf: buf[0..<n])
        }
    }

    public static func readAll(fd: Int32) -> [UInt8] { readAll(fd: fd, limit: .max) ?? [] }

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

    /// Sorted glob matches; nil when nothing matches (the word then stays as written).
    public static func glob(_ pattern: String) -> [String]? {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return nil }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.isEmpty ? nil : out
    }

    public static func changeDirectory(_ path: String) throws {
        if chdir(path) != 0 { throw SystemError.last("cd \(path)") }
    }

    public static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
    }

    /// A program by name: a path if it contains `/`, else the first executable on PATH.
    /// Where programs are looked for when $PATH is not set.
    public static let defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"

    public static func findExecutable(_ name: String, path: String?) -> String? {
        if case .executable(let found) = CommandLookup.find(name, path: path) { return found }
        return nil
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }


    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Same open file behind two descriptors (stdout and stderr merged into one pipe)?
    public static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        var sa = stat(), sb = stat()
        guard fstat(a, &sa) == 0, fstat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public static func setEnvironment(_ name: String, _ value: String) { setenv(name, value, 1) }

    public static var processID: Int32 { getpid() }
    public static var parentProcessID: Int32 { getppid() }
    public static var effectiveUserID: UInt32 { geteuid() }
}

extension FileIO {
    /// mkdir that tolerates an existing directory.
    public static func makeDirectory(_ path: String, mode: mode_t) {
        _ = mkdir(path, mode)
    }
}

extension FileIO {
    /// Reads one byte (for `--step`'s Enter); false at the end or on error.
    public static func readByte(_ fd: Int32, _ buf: inout [UInt8]) -> Bool {
        buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 1) } == 1
    }

    /// The names of executables in the directories of a PATH (for completion).
    public static func executables(inPath path: String) -> [String] {
        var names = Set<String>()
        for dir in path.split(separator: ":") {
            guard let d = opendir(String(dir)) else { continue }
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name.hasPrefix(".") { continue }
                if access(String(dir) + "/" + name, X_OK) == 0 { names.insert(name) }
            }
            closedir(d)
        }
        return names.sorted()
    }
}

extension FileIO {
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

extension FileIO {
    public static func directoryEntries(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Alive and not a zombie.
    public static func processExists(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return ProcStatus.read(pid: pid).map { !$0.state.hasPrefix("Z") && !$0.state.hasPrefix("X") } ?? false
    }
}

extension FileIO {
    /// rm -r of a directory pidsh made for itself (never follows symlinks).
    public static func removeDirectory(_ path: String) {
        for name in directoryEntries(path) {
            let child = path + "/" + name
            var st = stat()
            if lstat(child, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { removeDirectory(child) }
            else { unlink(child) }
        }
        rmdir(path)
    }
}
