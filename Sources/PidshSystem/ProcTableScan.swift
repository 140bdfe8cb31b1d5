/// What a listing reads of each process, so that it reads no more than it shows
/// (docs/performance.md, "Listing at scale"). The default reads everything.
public struct ProcNeeds: Sendable {
    /// Which processes get their state, PPID, name (and the rest asked for) read.
    public enum Details: Sendable {
        /// Every process (`ps`).
        case every
        /// Processes below pidsh's namespace; those in it are only counted (`ns tree`).
        case belowOwnNamespace
        /// The lowest PID of each namespace, and every member of one whose lowest PID is
        /// not its init (`ns list`: one row per namespace; NamespaceOrder needs the init).
        case firstOfEachNamespace
    }

    /// NSpid (a PID at every level) and the effective uid, from /proc/PID/status.
    /// Without them, state, PPID and name come from /proc/PID/stat, which the kernel
    /// makes in about two thirds of the time.
    public var pidsAtEveryLevel: Bool
    /// /proc/PID/cmdline.
    public var commandLines: Bool
    /// Without NSpid: the PID in its own namespace and the effective uid of each process
    /// below pidsh's namespace, asked of the kernel (OwnPidReader), the name from
    /// /proc/PID/comm; status where the kernel does not answer so. State and PPID are
    /// not read.
    public var ownPidsAndUids: Bool
    /// Only the processes this namespace sees (its inode, its level): a process's
    /// ns/pid link is read first and one outside is dropped before anything else is read.
    public var seenFrom: (inode: UInt64, level: Int)?
    public var details: Details
    /// Whether each process is placed in its PID namespace (its ns/pid link). A listing
    /// of pidsh's own namespace that shows no namespace, level or inner PID does not
    /// need it: /proc lists exactly the processes pidsh's namespace sees, numbered by
    /// the PIDs /proc shows. Without it every entry is recorded in pidsh's namespace,
    /// so such a table must not be asked where a process is.
    public var placesInNamespaces = true
    /// Each process's name. Without it (with `ownPidsAndUids`), /proc/PID/comm is read
    /// only where the command line does not stand for the process: when it is empty, or
    /// names a pidsh (pidsh's init and janitor are forks of a pidsh that never exec:
    /// they keep its command line and are shown by their names).
    public var names = true

    public init(pidsAtEveryLevel: Bool = true, commandLines: Bool = true, ownPidsAndUids: Bool = false,
                seenFrom: (inode: UInt64, level: Int)? = nil, details: Details = .every) {
        self.pidsAtEveryLevel = pidsAtEveryLevel || (seenFrom?.level ?? 0) > 0   // PIDs there are NSpid's
        self.commandLines = commandLines
        self.ownPidsAndUids = ownPidsAndUids && !self.pidsAtEveryLevel
        self.seenFrom = seenFrom
        self.details = details
    }

    /// When every process's status is read anyway and none is dropped, status comes
    /// first and the link is read only for a process NSpid shows below pidsh's level.
    var statusFirst: Bool { pidsAtEveryLevel && details == .every && (seenFrom?.level ?? 0) == 0 }
}

extension ProcTable {
    /// The processes `needs` asks for, lowest PID first: one pass to place each process
    /// in its namespace, one to read what the listing shows of those it keeps.
    public static func snapshot(_ needs: ProcNeeds) -> ProcTable {
        let pids = ProcDirectory.processIDs()
        guard pids.count >= splitFrom, needs.details != .firstOfEachNamespace, SideThread.worthIt else {
            let (entries, chains) = scan(pids[...], needs)
            return ProcTable(entries: entries, chains: chains)
        }
        // Each process is read on its own (the kernel makes its files), so the lower
        // PIDs are read here and the upper ones on a second CPU meanwhile; the halves
        // are in PID order one after the other. (`ns list` reads one process per
        // namespace, whichever half its members fall in: not split.)
        let middle = pids.count / 2
        let (low, high) = SideThread.both({ scan(pids[..<middle], needs) }, { scan(pids[middle...], needs) })
        return ProcTable(entries: low.entries + high.entries, chains: low.chains.merging(high.chains) { a, _ in a })
    }

    /// From this many processes a listing is read in two halves at once: below it, a
    /// thread's start costs more than half the reading saves.
    static let splitFrom = 2000

    /// The processes among `pids` that `needs` asks for, and their namespaces' chains.
    private static func scan(_ pids: ArraySlice<Int32>, _ needs: ProcNeeds) -> (entries: [ProcEntry], chains: [UInt64: [UInt64]]) {
        var scan = ProcScan(needs: needs)
        var entries: [ProcEntry] = []
        entries.reserveCapacity(min(pids.count, 512))
        for pid in pids {
            guard let e = scan.locate(pid) else { continue }
            if let (inode, level) = needs.seenFrom,
               !isVisible(e, fromNamespace: inode, level: level, chains: scan.chains) { continue }
            entries.append(e)
        }
        scan.detail(&entries)
        return (entries, scan.chains)
    }
}

/// One snapshot's reading: the reused buffer, the namespaces' chains found so far.
struct ProcScan {
    let needs: ProcNeeds
    let reader = ProcReader()
    let ownPids = OwnPidReader()
    let own = Namespace.ownInode
    var chains: [UInt64: [UInt64]]

    init(needs: ProcNeeds) {
        self.needs = needs
        chains = [own: [own]]
    }

    /// Where the process is: its namespace (and that namespace's ancestors). Nil when it
    /// has ended, or is below pidsh's namespace and its link cannot be read.
    mutating func locate(_ pid: Int32) -> ProcEntry? {
        var e = ProcEntry(pid: pid, nsInode: own)
        if !needs.placesInNamespaces { return e }
        if let link = needs.statusFirst ? nil : reader.pidNamespace(of: pid) {
            // A process in /proc's own namespace has one PID (NSpid has one entry).
            if link == own { e.nspid = [pid]; return e }
            e.nsInode = link
        } else {
            // Status first (the listing reads it anyway), or the link cannot be read (the
            // host's PID 1; another user's process for a rootless pidsh): NSpid tells
            // whether it is in pidsh's namespace.
            guard readState(&e, status: true) else { return nil }
            if e.nspid.count <= 1 { return e }
            guard let link = reader.pidNamespace(of: pid) else { return nil }
            e.nsInode = link
        }
        if chains[e.nsInode] == nil, let ns = try? Namespace.of(pid: pid) {
            chains[e.nsInode] = Array(ns.ancestorInodes().reversed()) + [e.nsInode]
        }
        e.depth = (chains[e.nsInode]?.count ?? 1) - 1
        return e
    }

    /// Reads what the listing shows of the processes `needs.details` names; drops those
    /// that ended meanwhile.
    mutating func detail(_ entries: inout [ProcEntry]) {
        var ended: [Bool] = Array(repeating: false, count: entries.count)
        switch needs.details {
        case .every:
            for i in entries.indices { ended[i] = !fill(&entries[i]) }
        case .belowOwnNamespace:
            for i in entries.indices where entries[i].nsInode != own { ended[i] = !fill(&entries[i]) }
        case .firstOfEachNamespace:
            var members: [UInt64: [Int]] = [:]
            for i in entries.indices { members[entries[i].nsInode, default: []].append(i) }
            let index = Dictionary(uniqueKeysWithValues: entries.indices.map { (entries[$0].pid, $0) })
            for (_, list) in members {
                for (k, i) in list.enumerated() {
                    guard fill(&entries[i]) else { ended[i] = true; continue }
                    if entries[i].level > 0 && entries[i].nspid.last != 1 && !findInit(above: i, in: &entries, index: index) {
                        for j in list[(k + 1)...] { ended[j] = !fill(&entries[j]) }
                    }
                    break
                }
            }
        }
        if ended.contains(true) { entries = entries.indices.filter { !ended[$0] }.map { entries[$0] } }
    }

    /// When a namespace's lowest PID is not its init (PIDs wrapped while it was filled),
    /// its init is found up the parents of that member that are in the same namespace:
    /// a member's parent is its namespace's init, another member, or outside (a process
    /// that joined it), and the init's parent is outside. When the walk leaves the
    /// namespace first (false): then every member is read.
    func findInit(above member: Int, in entries: inout [ProcEntry], index: [Int32: Int]) -> Bool {
        var current = member
        for _ in 0..<entries.count {
            guard let parent = index[entries[current].ppid], entries[parent].nsInode == entries[member].nsInode,
                  fill(&entries[parent]) else { return false }
            if entries[parent].nspid.last == 1 { return true }
            current = parent
        }
        return false
    }

    /// State, PPID, name (status's when NSpid is needed, else stat's) and the command line.
    func fill(_ e: inout ProcEntry) -> Bool {
        guard readState(&e) else { return false }
        guard needs.commandLines else { return true }
        if e.nameUnread {
            let line = reader.commandLine(of: e.pid) ?? []
            if let first = line.first, !Self.namesAPidsh(first) {
                e.commandLine = line
                return true
            }
            guard let name = reader.comm(of: e.pid) else {
                // Ended, or a name status escapes: status has it (or finds it ended).
                e.detailed = false
                e.nameUnread = false
                return readState(&e, status: true) && fillLine(&e)
            }
            e.name = name
            e.nameUnread = false
            e.commandLine = Self.isForkedHelper(name) ? [name] : line
            return true
        }
        return fillLine(&e)
    }

    /// pidsh's init and janitor are forks of pidsh that never exec: their cmdline is
    /// still pidsh's own (a whole `-c` script); they are shown by their names.
    static func isForkedHelper(_ name: String) -> Bool { name == "pidsh-init" || name == "pidsh-janitor" }

    /// Whether a command line's first word is a pidsh (`pidsh`, `/usr/local/bin/pidsh`...).
    static func namesAPidsh(_ argv0: String) -> Bool { (argv0.split(separator: "/").last ?? "").hasPrefix("pidsh") }

    func fillLine(_ e: inout ProcEntry) -> Bool {
        e.commandLine = Self.isForkedHelper(e.name) ? [e.name] : (reader.commandLine(of: e.pid) ?? [])
        return true
    }

    /// Its PID in its own namespace, effective uid and name without status; false when
    /// the kernel did not give all three so (status gives them then, or finds it ended).
    func readOwnPidAndUid(_ e: inout ProcEntry) -> Bool {
        guard let (pid, euid) = ownPids.ownPidAndEuid(of: e.pid, inNamespace: e.nsInode) else { return false }
        if needs.names || !needs.commandLines {
            guard let name = reader.comm(of: e.pid) else { return false }
            e.name = name
        } else {
            e.nameUnread = true   // fill() reads it where the command line needs it
        }
        e.ownPidRead = pid
        e.uid = euid
        return true
    }

    /// State, PPID and name: from status when `status` or NSpid is needed (or the name
    /// has a character status escapes), else from stat.
    func readState(_ e: inout ProcEntry, status: Bool = false) -> Bool {
        if e.detailed { return true }
        var nameNeedsStatus = status || needs.pidsAtEveryLevel
        if !nameNeedsStatus && needs.ownPidsAndUids && e.nsInode != own {
            nameNeedsStatus = !readOwnPidAndUid(&e)
        } else if !nameNeedsStatus {
            guard reader.stat(of: e.pid, into: &e, nameNeedsStatus: &nameNeedsStatus) else { return false }
        }
        if nameNeedsStatus {
            e.state = "?"
            guard reader.status(of: e.pid, into: &e) else { return false }
        }
        e.detailed = true
        return true
    }
}
