import CPidsh
import Glibc

/// One process as pidsh's /proc shows it. A listing reads only what it shows
/// (ProcNeeds): a field it did not read keeps its empty value.
public struct ProcEntry: Sendable {
    public var pid: Int32            // pidsh's view
    public var ppid: Int32 = 0       // pidsh's view (0: parent not visible)
    public var state = ""            // one letter
    public var name = ""
    public var commandLine: [String] = []
    /// Its PID at every level, pidsh's first; empty when the listing did not read its
    /// status (a process in pidsh's own namespace has one level, known without it).
    public var nspid: [Int32] = []
    public var nsInode: UInt64
    /// Its effective uid (read with NSpid, from the status, or with its own PID).
    public var uid: UInt32 = 0
    /// Its PID in its own namespace, when the kernel gave it without NSpid
    /// (ProcNeeds.ownPidsAndUids); 0 when not read so.
    var ownPidRead: Int32 = 0
    /// Its PID in its own (innermost) namespace: NSpid's last, or as the kernel gave
    /// it alone; nil when neither was read.
    public var ownPid: Int32? { nspid.last ?? (ownPidRead > 0 ? ownPidRead : nil) }
    /// Depth below pidsh's namespace: from NSpid, or from its namespace's ancestors
    /// when NSpid was not read.
    public var level: Int { nspid.isEmpty ? depth : nspid.count - 1 }
    var depth = 0
    /// The name was not read (ProcNeeds.names): the command line stands for the process.
    var nameUnread = false
    /// State, PPID and name have been read.
    var detailed = false

    init(pid: Int32, nsInode: UInt64) {
        self.pid = pid
        self.nsInode = nsInode
    }
}

/// A process as seen from one namespace: its PID and PPID there.
public struct ProcView: Sendable {
    public var entry: ProcEntry
    public var pid: Int32
    public var ppid: Int32
    /// Its PIDs from the viewing namespace inward (empty when NSpid was not read).
    public var pids: [Int32]
}

/// A snapshot of the processes pidsh can see, with the namespace chain of each, from
/// which the view of any descendant namespace is computed (no procfs mount needed:
/// NSpid already lists a process's PID at every level below pidsh's).
public struct ProcTable: Sendable {
    /// Sorted by PID (by creation when restricted so).
    public internal(set) var entries: [ProcEntry]
    /// ns inode -> its ancestors' inodes up to pidsh's own namespace, outermost first
    /// (so chain[k] is the ancestor at level k; the namespace itself is last).
    public internal(set) var chains: [UInt64: [UInt64]]

    /// Every process with its status (and command line when asked).
    public static func snapshot(commandLines: Bool = true) -> ProcTable {
        snapshot(ProcNeeds(commandLines: commandLines))
    }

    /// Only these processes (chains kept): what `--mine` listings are made from. In
    /// creation order rather than PID order when asked (`--stable-ids`: a namespace's
    /// first process is then its oldest, whatever PIDs wrapped; see CreationOrder).
    public func restricted(to pids: Set<Int32>, inCreationOrder: Bool = false) -> ProcTable {
        var kept = entries.filter { pids.contains($0.pid) }
        if inCreationOrder {
            let order = CreationOrder.sorted(kept.map(\.pid))
            let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
            kept.sort { position[$0.pid, default: 0] < position[$1.pid, default: 0] }
        }
        return ProcTable(entries: kept, chains: chains)
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
        Self.isVisible(entry, fromNamespace: inode, level: level, chains: chains)
    }

    static func isVisible(_ entry: ProcEntry, fromNamespace inode: UInt64, level: Int, chains: [UInt64: [UInt64]]) -> Bool {
        guard entry.level >= level, let chain = chains[entry.nsInode], chain.count > level else { return false }
        return chain[level] == inode
    }

    /// The processes a namespace sees, each with its PID and PPID there, sorted by PID.
    public func view(fromNamespace inode: UInt64, level: Int) -> [ProcView] {
        view(of: entries, fromNamespace: inode, level: level, index: hostPidIndex())
    }

    /// Where each host PID's entry is in `entries`.
    public func hostPidIndex() -> [Int32: Int] {
        var index: [Int32: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() { index[e.pid] = i }
        return index
    }

    /// Those of `candidates` a namespace sees, with their PIDs and PPIDs there.
    public func view(of candidates: [ProcEntry], fromNamespace inode: UInt64, level: Int, index: [Int32: Int]) -> [ProcView] {
        var out: [ProcView] = []
        for e in candidates where isVisible(e, fromNamespace: inode, level: level) {
            var ppid: Int32 = 0
            if let p = index[e.ppid], isVisible(entries[p], fromNamespace: inode, level: level) {
                ppid = Self.pid(of: entries[p], at: level)
            }
            out.append(ProcView(entry: e, pid: Self.pid(of: e, at: level), ppid: ppid,
                                pids: e.nspid.count > level ? Array(e.nspid[level...]) : []))
        }
        out.sort { $0.pid < $1.pid }
        return out
    }

    /// Its PID in the namespace at `level` of its chain (at level 0, the host PID: NSpid's
    /// first is the PID in /proc's own namespace, which may not have been read). Without
    /// NSpid only its own level's is known: views of that namespace are all that ask.
    static func pid(of e: ProcEntry, at level: Int) -> Int32 {
        if level == 0 { return e.pid }
        return e.nspid.isEmpty ? e.ownPidRead : e.nspid[level]
    }

    /// Every PID namespace with at least one process, with its level and parent.
    public struct NamespaceInfo: Sendable {
        public var inode: UInt64
        public var level: Int
        public var parent: UInt64?
        /// In the table's order: by PID, or by creation (`restricted(inCreationOrder:)`).
        public var processes: [ProcEntry]
    }

    /// Parents before children (by level); siblings in creation order (NamespaceOrder).
    public func namespaces() -> [NamespaceInfo] {
        var byInode: [UInt64: NamespaceInfo] = [:]
        for e in entries {
            let chain = chains[e.nsInode] ?? [e.nsInode]
            // Make sure every ancestor appears, even one whose only members live deeper.
            for (k, ns) in chain.enumerated() where byInode[ns] == nil {
                byInode[ns] = NamespaceInfo(inode: ns, level: k, parent: k > 0 ? chain[k - 1] : nil, processes: [])
            }
            byInode[e.nsInode]?.processes.append(e)
        }
        let oldest = NamespaceOrder.oldest(entries: entries, chains: chains)
        return byInode.values.sorted {
            if $0.level != $1.level { return $0.level < $1.level }
            let a = oldest[$0.inode] ?? (0, 0), b = oldest[$1.inode] ?? (0, 0)
            return a != b ? a < b : $0.inode < $1.inode
        }
    }
}
