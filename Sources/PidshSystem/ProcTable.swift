import CPidsh
import Glibc

/// One process as pidsh's /proc shows it.
public struct ProcEntry: Sendable {
    public var pid: Int32            // pidsh's view
    public var ppid: Int32           // pidsh's view (0: parent not visible)
    public var state: String         // one letter
    public var name: String
    public var commandLine: [String]
    public var nspid: [Int32]        // pidsh's level first
    public var nsInode: UInt64
    /// Its effective uid.
    public var uid: UInt32 = 0
    /// Depth below pidsh's namespace.
    public var level: Int { nspid.count - 1 }
}

/// A process as seen from one namespace: its PID and PPID there.
public struct ProcView: Sendable {
    public var entry: ProcEntry
    public var pid: Int32
    public var ppid: Int32
    /// Its PIDs from the viewing namespace inward.
    public var pids: [Int32]
}

/// A snapshot of every process pidsh can see, with the namespace chain of each, from
/// which the view of any descendant namespace is computed (no procfs mount needed:
/// NSpid already lists a process's PID at every level below pidsh's).
public struct ProcTable: Sendable {
    public private(set) var entries: [ProcEntry]
    /// ns inode -> its ancestors' inodes up to pidsh's own namespace, outermost first
    /// (so chain[k] is the ancestor at level k; the namespace itself is last).
    public private(set) var chains: [UInt64: [UInt64]]

    public static func snapshot(commandLines: Bool = true) -> ProcTable {
        let own = Namespace.ownInode
        var entries: [ProcEntry] = []
        entries.reserveCapacity(512)
        var chains: [UInt64: [UInt64]] = [own: [own]]
        guard let dir = opendir("/proc") else { return ProcTable(entries: [], chains: chains) }
        defer { closedir(dir) }
        while let ent = readdir(dir) {
            let first = ent.pointee.d_name.0
            guard first >= 49 && first <= 57 else { continue } // '1'...'9'
            let pid: Int32 = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { Int32(atoi($0)) }
            }
            guard let status = ProcStatus.read(pid: pid) else { continue }
            var inode = own
            if status.nspid.count > 1 {
                guard let link = ProcFiles.readLink("/proc/\(pid)/ns/pid"),
                      let i = ProcFiles.inode(fromLink: link) else { continue }
                inode = i
                if chains[i] == nil, let ns = try? Namespace.of(pid: pid) {
                    chains[i] = Array(ns.ancestorInodes().reversed()) + [i]
                }
            }
            // pidsh's init and janitor are forks of pidsh that never exec: their cmdline
            // is still pidsh's own (a whole `-c` script); show them by their names.
            let forkedHelper = status.name == "pidsh-init" || status.name == "pidsh-janitor"
            let cmd = !commandLines ? [] : (forkedHelper ? [status.name] : (readCommandLine(pid: pid) ?? []))
            entries.append(ProcEntry(pid: pid, ppid: status.ppid, state: status.stateLetter, name: status.name,
                                     commandLine: cmd, nspid: status.nspid.isEmpty ? [pid] : status.nspid, nsInode: inode,
                                     uid: status.effectiveUID))
        }
        entries.sort { $0.pid < $1.pid }
        return ProcTable(entries: entries, chains: chains)
    }

    /// Only these processes (chains kept): what `--mine` listings are made from.
    public func restricted(to pids: Set<Int32>) -> ProcTable {
        ProcTable(entries: entries.filter { pids.contains($0.pid) }, chains: chains)
    }

    /// What `--mine` listings show: pidsh's descendants, without its janitor (which
    /// is pidsh's machinery, not something the session started).
    public func sessionDescendants() -> Set<Int32> {
        var set = descendants(of: getpid())
        let janitor = pidsh_janitor_pid()
        if janitor > 0 { set.remove(janitor) }
        return set
    }

    /// Host PIDs of every descendant of `pid` (not `pid` itself).
    public func descendants(of pid: Int32) -> Set<Int32> {
        var children: [Int32: [Int32]] = [:]
        for e in entries { children[e.ppid, default: []].append(e.pid) }
        var out = Set<Int32>()
        var stack = children[pid] ?? []
        while let p = stack.popLast() {
            if out.insert(p).inserted { stack.append(contentsOf: children[p] ?? []) }
        }
        return out
    }

    /// Is `entry` visible from the namespace `inode` at `level`?
    public func isVisible(_ entry: ProcEntry, fromNamespace inode: UInt64, level: Int) -> Bool {
        guard entry.level >= level, let chain = chains[entry.nsInode], chain.count > level else { return false }
        return chain[level] == inode
    }

    /// The processes a namespace sees, each with its PID and PPID there, sorted by PID.
    public func view(fromNamespace inode: UInt64, level: Int) -> [ProcView] {
        var byHostPid: [Int32: ProcEntry] = [:]
        for e in entries { byHostPid[e.pid] = e }
        var out: [ProcView] = []
        for e in entries where isVisible(e, fromNamespace: inode, level: level) {
            var ppid: Int32 = 0
            if let parent = byHostPid[e.ppid], isVisible(parent, fromNamespace: inode, level: level) {
                ppid = parent.nspid[level]
            }
            out.append(ProcView(entry: e, pid: e.nspid[level], ppid: ppid, pids: Array(e.nspid[level...])))
        }
        out.sort { $0.pid < $1.pid }
        return out
    }

    /// Every PID namespace with at least one process, with its level and parent.
    public struct NamespaceInfo: Sendable {
        public var inode: UInt64
        public var level: Int
        public var parent: UInt64?
        public var processes: [ProcEntry]
    }

    public func namespaces() -> [NamespaceInfo] {
        var byInode: [UInt64: NamespaceInfo] = [:]
        // Siblings are listed in creation order: by the start time (then PID) of the
        // oldest process in or below each. Inode numbers are handed out lowest-free
        // first and PIDs wrap, so neither alone keeps listings reproducible.
        var oldest: [UInt64: (UInt64, Int32)] = [:]
        for e in entries {
            let chain = chains[e.nsInode] ?? [e.nsInode]
            // Make sure every ancestor appears, even one whose only members live deeper.
            for (k, ns) in chain.enumerated() where byInode[ns] == nil {
                byInode[ns] = NamespaceInfo(inode: ns, level: k, parent: k > 0 ? chain[k - 1] : nil, processes: [])
            }
            byInode[e.nsInode]?.processes.append(e)
            if chain.count > 1 {
                let key = (ProcTable.startTime(pid: e.pid) ?? UInt64.max, e.pid)
                for ns in chain.dropFirst() where oldest[ns].map({ key < $0 }) ?? true { oldest[ns] = key }
            }
        }
        return byInode.values.sorted {
            if $0.level != $1.level { return $0.level < $1.level }
            let a = oldest[$0.inode] ?? (0, 0), b = oldest[$1.inode] ?? (0, 0)
            return a != b ? a < b : $0.inode < $1.inode
        }
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    static func startTime(pid: Int32) -> UInt64? {
        guard let stat = ProcFiles.readString("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
