import Glibc

/// The process's own surroundings: its environment variables, its IDs, whether another
/// process is alive, a monotonic clock.
extension FileIO {
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public static func setEnvironment(_ name: String, _ value: String) { setenv(name, value, 1) }

    public static var processID: Int32 { getpid() }
    public static var parentProcessID: Int32 { getppid() }
    public static var effectiveUserID: UInt32 { geteuid() }

    public static func unsetEnvironment(_ name: String) { unsetenv(name) }

    /// Alive and not a zombie.
    public static func processExists(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return ProcStatus.read(pid: pid).map { !$0.state.hasPrefix("Z") && !$0.state.hasPrefix("X") } ?? false
    }

    /// Milliseconds of CLOCK_MONOTONIC: durations that a clock change cannot skew.
    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
