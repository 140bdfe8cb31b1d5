import CPidsh
import Glibc

/// The order in which processes were created, from the kernel: each process's pidfd is
/// an inode of pidfs whose number the kernel takes from one counter as it makes the
/// process (alloc_pid), and never reuses. PIDs are no such order: they wrap at pid_max
/// (32,768 here), after which a younger process can have the smaller PID. A transcript
/// that lists processes in PID order then changes with where the counter stood, so
/// `--stable-ids` lists them in this order instead.
public enum CreationOrder {
    /// `pids` oldest first. A process that has ended meanwhile (or cannot be looked at)
    /// goes last, in PID order.
    public static func sorted(_ pids: [Int32]) -> [Int32] {
        let keys = pids.map { (pid: $0, serial: serial(of: $0)) }
        return keys.sorted { a, b in a.serial != b.serial ? a.serial < b.serial : a.pid < b.pid }.map(\.pid)
    }

    /// The pidfs inode number of `pid`'s pidfd, UInt64.max if there is none.
    static func serial(of pid: Int32) -> UInt64 {
        let fd = pidsh_pidfd_open(pid)
        guard fd >= 0 else { return .max }
        defer { close(fd) }
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_ino) : .max
    }
}
