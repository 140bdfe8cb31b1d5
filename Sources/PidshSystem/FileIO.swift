import CPidsh
import Glibc

/// The file operations the language needs (redirections, pipes, globs, cd, $PATH, the
/// environment), so that PidshKit makes no system call of its own. This file: reading
/// and writing descriptors, and pipes. Whole files, paths and the process's
/// environment are in FileIOFiles, FileIOPaths and FileIOEnvironment.
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

    /// Reads one byte (for `--step`'s Enter); false at the end or on error.
    public static func readByte(_ fd: Int32, _ buf: inout [UInt8]) -> Bool {
        buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 1) } == 1
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

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Same open file behind two descriptors (stdout and stderr merged into one pipe)?
    public static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        var sa = stat(), sb = stat()
        guard fstat(a, &sa) == 0, fstat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
