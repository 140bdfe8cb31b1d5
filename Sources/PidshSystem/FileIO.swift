import CPidsh
import Glibc

/// The file operations the language needs (redirections, pipes, globs, cd, $PATH), so
/// that PidshKit makes no system call of its own.
public enum FileIO {
    /// 0, or the errno of the write that failed.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ text: String) -> Int32 {
        var t = text
        return t.withUTF8 { buf in writeAll(fd, UnsafeRawBufferPointer(buf)) ? 0 : errno }
    }

    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { writeAll(fd, $0) ? 0 : errno }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < buf.count {
            // A SIGINT/SIGTERM/SIGHUP to pidsh while the reader is stuck gives up the
            // write, so the interpreter can stop the script.
            let n = pidsh_write_unless_interrupted(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { return false }
            off += n
        }
        return true
    }

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

    /// Reads every pipe to its end, handing each chunk to its consumer as it arrives
    /// (so neither side of a pipeline blocks on a full pipe).
    public static func pump(_ sources: [(fd: Int32, consume: ([UInt8]) -> Void)]) {
        var open = sources
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let r = poll(&fds, nfds_t(fds.count), -1)
            if r < 0 {
                // A SIGTERM/SIGHUP to pidsh ends the pump (pidsh is stopping; the writer
                // may never close its end). A SIGINT does not: the job decides.
                if errno == EINTR {
                    let pending = pidsh_peek_pending_signal()
                    if pending != SIGTERM && pending != SIGHUP { continue }
                    for source in open { Glibc.close(source.fd) }
                    return
                }
                break
            }
            var finished: [Int] = []
            for (i, p) in fds.enumerated() where p.revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 { open[i].consume(Array(buf[0..<n])) }
                else if n == 0 || (errno != EINTR && errno != EAGAIN) { finished.append(i) }
            }
            for i in finished.reversed() {
                Glibc.close(open[i].fd)
                open.remove(at: i)
            }
        }
    }

    /// Reads a whole file (a script), or throws.
    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError.last("open \(path)") }
        defer { Glibc.close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SystemError.last("read \(path)") }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    public static func readAll(fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return out }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    public static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 { throw SystemError.last("open \(path)") }
        writeAll(fd, text)
        Glibc.close(fd)
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
        let written = bytes.withUnsafeBytes { writeAll(fd, $0) }
        let e = errno
        if !written || Glibc.close(fd) != 0 {
            let error = SystemError(errnoValue: written ? errno : e, "write \(temporary)")
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
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in (path ?? defaultSearchPath).split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            var st = stat()
            if access(candidate, X_OK) == 0, stat(candidate, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR { return candidate }
        }
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
    /// 2 ms: for polling a process that is not pidsh's child until it is gone.
    public static func sleepBriefly() { usleep(2000) }
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
