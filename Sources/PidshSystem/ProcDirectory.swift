import Glibc

/// The PIDs in /proc, read with readdir (getdents64 underneath) and parsed from the
/// entries' bytes: no String per entry.
public enum ProcDirectory {
    /// Every process /proc lists, lowest PID first.
    public static func processIDs() -> [Int32] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        pids.reserveCapacity(1024)
        while let ent = readdir(dir) {
            let pid: Int32 = withUnsafeBytes(of: &ent.pointee.d_name) { name in
                var n: Int32 = 0
                for c in name {
                    if c == 0 { break }
                    guard c >= 48 && c <= 57, n < Int32.max / 10 else { return 0 }
                    n = n * 10 + Int32(c - 48)
                }
                return n
            }
            if pid > 0 { pids.append(pid) }
        }
        pids.sort()
        return pids
    }
}
