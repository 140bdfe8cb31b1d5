import Glibc

/// What `pidsh test` needs of the file system besides FileIO: a private scratch
/// directory per test, a script's permission bits (kept when it is rewritten), and
/// removal of a file it replaces.
extension FileIO {
    /// mkdtemp: a new directory, mode 0700, named `prefix` plus six random characters.
    public static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw SystemError.last("mkdtemp \(prefix)XXXXXX") }
        return String(cString: made)
    }

    /// The permission bits of a file (0644 when it cannot be read).
    public static func permissions(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o644
    }

    public static func unsetEnvironment(_ name: String) { unsetenv(name) }

    public static func removeFile(_ path: String) throws {
        if unlink(path) != 0 { throw SystemError.last("remove \(path)") }
    }

    /// Milliseconds of CLOCK_MONOTONIC: durations that a clock change cannot skew.
    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
