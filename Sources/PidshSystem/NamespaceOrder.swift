/// The order in which `ns list` and `ns tree` show sibling namespaces: the order they
/// were made in, by the start time (then PID) of the oldest process in or below each.
/// Inode numbers are handed out lowest-free first and PIDs wrap, so neither alone keeps
/// listings reproducible.
///
/// Finding the oldest takes few start times. A namespace's init is made before anything
/// else in or below it (the namespace can be joined, and a namespace made inside it,
/// only once its init exists; start times never go back), so nothing there started
/// earlier; only a process that started in the same clock tick with a lower PID — PIDs
/// wrapped — can come first. So the start times read are the init's and those of the
/// processes below it with a lower PID; for a namespace whose init is not in the table
/// (`--mine`), those of every process below it.
enum NamespaceOrder {
    /// ns inode -> (start time, PID) of the oldest process in or below it, for every
    /// namespace below pidsh's.
    static func oldest(entries: [ProcEntry], chains: [UInt64: [UInt64]]) -> [UInt64: (UInt64, Int32)] {
        let reader = ProcReader()
        var initKey: [UInt64: (UInt64, Int32)] = [:]
        for e in entries where e.level > 0 && e.ownPid == 1 {
            // An init whose start time cannot be read (it has just ended) proves nothing.
            if let start = reader.startTime(of: e.pid) { initKey[e.nsInode] = (start, e.pid) }
        }
        var oldest = initKey
        var startTimes: [Int32: UInt64] = [:]
        for e in entries {
            guard let chain = chains[e.nsInode], chain.count > 1 else { continue }
            for ns in chain.dropFirst() {
                if let k = initKey[ns], e.pid >= k.1 { continue }
                let start = startTimes[e.pid] ?? (reader.startTime(of: e.pid) ?? UInt64.max)
                startTimes[e.pid] = start
                let key = (start, e.pid)
                if oldest[ns].map({ key < $0 }) ?? true { oldest[ns] = key }
            }
        }
        return oldest
    }
}
