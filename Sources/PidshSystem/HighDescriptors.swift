import Glibc

/// Where pidsh keeps the descriptors it holds for long — a pidfd per process, a fd per
/// namespace, each init's control channel: above a line, with the short-lived ones
/// (pipes, sockets, directories a spawn uses) below it. A spawned child copies only
/// the descriptors below the highest one it needs (close_range with
/// CLOSE_RANGE_UNSHARE, spawn.c), so what a spawn costs does not grow with the
/// processes alive. Where the descriptor limit is too low for a line, nothing moves.
public enum HighDescriptors {
    /// The line: well above what pidsh ever has open for a moment, well below the limit
    /// it raises itself to at start (ResourceLimits).
    static let base: Int32 = {
        var lim = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return -1 }
        return lim.rlim_cur >= 4096 ? 1024 : -1
    }()

    /// `fd`, moved above the line (close-on-exec), or `fd` itself where it cannot move.
    public static func keep(_ fd: Int32) -> Int32 {
        guard fd >= 0, base > 0, fd < base else { return fd }
        let high = fcntl(fd, F_DUPFD_CLOEXEC, base)
        guard high >= 0 else { return fd }
        close(fd)
        return high
    }
}
