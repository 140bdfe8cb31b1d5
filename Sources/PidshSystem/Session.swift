import CPidsh
import Glibc
import SystemPackage

/// Where pidsh's future children go: the state `unshare --pid` and `setns` change.
public enum ChildrenTarget: Equatable, Sendable {
    case own
    /// After `unshare --pid`: a new namespace whose PID 1 is the next child.
    case unshared
    /// After `setns NS`.
    case joined(inode: UInt64)
}

/// Everything a pidsh session made, and the one place that tears it down: every
/// process it started (killed, reaped) and every mount and directory (undone).
public final class Session: @unchecked Sendable {
    public let mounts: MountLog
    public private(set) var children: [ProcessHandle] = []
    public private(set) var namespaces: [Namespace] = []
    public private(set) var childrenTarget: ChildrenTarget = .own
    /// The namespace pidsh's children go to after `unshare --pid`, once its first
    /// process exists (it has no handle before).
    public private(set) var unsharedNamespace: Namespace?
    /// The first child after `unshare --pid` (its PID 1), even when it ended too soon
    /// for pidsh to hold its namespace: named when a later spawn fails ENOMEM.
    private var firstUnsharedChild: ProcessHandle?
    /// Called with each process the session starts, so callers can number ids.
    public var onNewProcess: ((ProcessHandle) -> Void)?
    public var onNewNamespace: ((Namespace) -> Void)?
    /// `--trace`: what the C layer records goes to the tracer.
    public var tracer: Tracer? {
        didSet {
            recorder = tracer.map { CallRecorder(tracer: $0) }
            mounts.recorder = recorder
        }
    }
    public private(set) var recorder: CallRecorder?
    /// Keep every process of the session in a cgroup of its own where pidsh may make
    /// one (SessionCgroup), made before the first process. Set by the launcher.
    public var containsInCgroup = false
    public private(set) var cgroup: SessionCgroup?
    private var cgroupTried = false

    /// Asked of the janitor at the session's start, taken at the first process.
    private var requestedCgroup: SessionCgroup.Requested?

    /// Makes the session's cgroup if it is to have one and has none yet; true if it has.
    @discardableResult
    public func ensureCgroup() -> Bool {
        if !cgroupTried && containsInCgroup {
            cgroupTried = true
            if let requested = requestedCgroup {
                requestedCgroup = nil
                cgroup = SessionCgroup.complete(requested, record: { mounts.newRecordID() })
            } else {
                cgroup = SessionCgroup.create(record: mounts.newRecordID())
            }
        }
        return cgroup != nil
    }

    /// Has the janitor make the session's cgroup now, while the script starts; the
    /// first process takes it (`ensureCgroup`), and the tear-down removes it if none came.
    public func requestCgroup() {
        guard containsInCgroup, !cgroupTried, requestedCgroup == nil else { return }
        requestedCgroup = SessionCgroup.request(record: mounts.newRecordID())
    }

    public init(mounts: MountLog = MountLog()) {
        self.mounts = mounts
        _ = pidsh_ensure_life_pipe()
        ChildReaper.shared.onReaped = { [weak self] in self?.pruneNeeded = true }
    }

    // MARK: processes

    /// Spawns and tracks a process; joins pidsh's current children target.
    public func spawn(_ options: SpawnOptions) throws -> ProcessHandle {
        reapFinished()
        ensureCgroup()
        var opts = options
        if opts.namespaces.join == nil {
            // What `setns` of other types asked for, but the types this spawn makes anew.
            let joins = childrenJoins.values.filter { !opts.namespaces.new.contains($0.type) }
            if !joins.isEmpty { opts.namespaces.join = NamespaceJoin.of(namespaces: Array(joins)) }
        }
        let wasUnshared = childrenTarget == .unshared && unsharedNamespace == nil
        var context = TraceContext(argv: opts.arguments)
        if let point = opts.procMountPoint { context.paths[Int64(point.fd)] = point.path }
        do {
            let p = try recorder.run(context) { trace in
                try Spawner.spawn(opts, trace: trace) { handle in
                    if let point = opts.procMountPoint { mounts.adopt(mount: handle, on: point) }
                }
            }
            track(p)
            if wasUnshared, !opts.newPIDNamespace, opts.joinNamespace == nil { firstUnsharedChild = firstUnsharedChild ?? p }
            if wasUnshared, !opts.newPIDNamespace, opts.joinNamespace == nil, let ns = try? p.namespace() {
                unsharedNamespace = ns
                ns.initProcess = p
                adopt(ns)
            }
            return p
        } catch let e as SystemError where e.errno.rawValue == ENOMEM && opts.joinNamespace == nil && childrenTarget != .own {
            throw deadChildrenNamespaceError(e)
        }
    }

    /// ENOMEM while pidsh's children go to another namespace: name that namespace and
    /// the PID 1 that ended it (after `unshare --pid`, the first child pidsh started).
    func deadChildrenNamespaceError(_ e: SystemError) -> SystemError {
        let ns = childrenNamespace
        // After unshare, whether pidsh got hold of the namespace depends on how fast its
        // first child ended: name it the same way either way.
        let which = childrenTarget == .unshared ? "made by `unshare --pid`" : "\(ns?.id ?? "") (since `setns`)"
        var why = "pidsh's children go to the PID namespace \(which), and it has no init any more"
        let initProcess = childrenTarget == .unshared ? firstUnsharedChild : ns?.initProcess
        if let initProcess, !initProcess.isRunning {
            var ended = ", which has ended"
            switch initProcess.poll() {
            case .exited(let code)?: ended = ", which exited \(code)"
            case .signaled(let sig)?: ended = ", which was killed by \(Signals.name(of: sig))"
            case nil: break
            }
            let first = childrenTarget == .unshared ? "the first child pidsh started after `unshare --pid`, " : ""
            why += ": its PID 1 was \(first)`\((initProcess.command.isEmpty ? [initProcess.name] : initProcess.command).joined(separator: " "))` (PID \(initProcess.pid) here)\(ended)"
        }
        why += ". Once a namespace's PID 1 has exited the kernel lets no new process into it (it killed every member; fork fails ENOMEM). Run `setns --self` to send children back to pidsh's own namespace"
        if childrenTarget == .unshared { why += ", then `unshare --pid` again for a fresh one" }
        return SystemError(e.errno, e.operation, explanation: why)
    }

    public func track(_ p: ProcessHandle) {
        p.recorder = recorder
        children.append(p)
        onNewProcess?(p)
    }

    /// The names given with `--name`, by namespace id: kept after the namespace's
    /// member ends (a pinned namespace lives on, and lists by its name).
    public private(set) var namesByID: [String: String] = [:]

    public func adopt(_ ns: Namespace) {
        if let name = ns.name { namesByID[ns.id] = name }
        if !namespaces.contains(where: { $0 === ns }) {
            namespaces.append(ns)
            onNewNamespace?(ns)
        }
    }

    /// Reaps every child that has ended, so no zombie outlives a statement. Costs one
    /// waitid per ended child, whatever the number alive (ChildReaper); the lists are
    /// pruned only when something ended.
    public func reapFinished() {
        if ChildReaper.shared.reapEnded() || pruneNeeded { prune() }
    }

    /// Set when the reaper reaped something outside reapFinished (a wait).
    private var pruneNeeded = false

    func prune() {
        pruneNeeded = false
        children.removeAll { $0.exitStatus != nil || (!$0.isChild && !$0.isRunning) }
        forgetDeadNamespaces()
    }

    /// Lets go of the namespaces pidsh made whose init has ended (the namespace is gone
    /// with it), so a long session does not keep one ns fd open per namespace it ever
    /// made. A script variable that still holds one keeps it (and its fd) until reassigned.
    func forgetDeadNamespaces() {
        var joined: UInt64?
        if case .joined(let inode) = childrenTarget { joined = inode }
        namespaces.removeAll { ns in
            guard let initProcess = ns.initProcess, !initProcess.isRunning else { return false }
            return ns.inode != joined && ns !== unsharedNamespace
        }
    }

    /// pidsh is PID 1 of its namespace when rootless: orphans of that namespace are
    /// re-parented to it, and the reaper reaps them with every other child.
    let isInit = getpid() == 1

    /// `ns new`: a new PID namespace whose PID 1 is pidsh's init (catching `catching`
    /// besides SIGCHLD).
    public func newNamespace(parent: Namespace? = nil, name: String? = nil, catching: SignalSet = SignalSet()) throws -> Namespace {
        var opts = SpawnOptions(path: nil, arguments: ["pidsh-init"], environment: [])
        opts.newPIDNamespace = true
        opts.initCatches = catching
        opts.joinNamespace = parent
        let initProcess = try spawn(opts)
        let ns = try initProcess.namespace()
        ns.initProcess = initProcess
        ns.name = name
        adopt(ns)
        return ns
    }

    /// `ns new --type T`: a namespace of another type, held by pidsh's init (in pidsh's
    /// PID namespace) as its only member.
    public func newNamespace(of type: NamespaceType, options: NamespaceSpawnOptions, name: String? = nil) throws -> Namespace {
        var opts = SpawnOptions(path: nil, arguments: ["pidsh-init"], environment: [])
        opts.namespaces = options
        let member = try spawn(opts)
        let ns = try Namespace.of(pid: member.pid, type: type)
        ns.initProcess = member
        ns.name = name
        adopt(ns)
        return ns
    }

    /// `nest N`: returns the namespaces outermost first (each with its init).
    public func nest(levels: Int, mountPattern: String?, path: String?, arguments: [String]) throws -> [Namespace] {
        reapFinished()
        ensureCgroup()
        var points: [MountPoint] = []
        defer { for p in points { p.close() } }
        if let mountPattern {
            points = try mounts.prepareMountPoints((0..<levels).map { mountPattern.replacingLevel($0) })
        }
        let join: Namespace? = {
            if case .joined(let inode) = childrenTarget { return namespaces.first { $0.inode == inode } }
            return nil
        }()
        var context = TraceContext(argv: arguments)
        for p in points { context.paths[Int64(p.fd)] = p.path }
        let handles = try recorder.run(context) { trace in
            try Spawner.nest(levels: levels, mountPoints: mountPattern == nil ? nil : points, path: path,
                             arguments: arguments, join: join, trace: trace) { level, handle in
                // Recorded even when a later level failed: its procfs stays until undone.
                mounts.adopt(mount: handle, on: points[level])
            }
        }
        var result: [Namespace] = []
        for level in handles {
            track(level.process)
            let ns = try level.namespace ?? level.process.namespace()
            ns.initProcess = level.process
            adopt(ns)
            result.append(ns)
        }
        return result
    }

    /// SIGKILL to a namespace's init, then wait until it is gone: reaped when it is
    /// pidsh's child, exited otherwise. Its members that pidsh spawned (with setns) are
    /// pidsh's children: the dying init waits for them to be reaped
    /// (zap_pid_ns_processes), so pidsh reaps every child meanwhile.
    public func killNamespace(initProcess: ProcessHandle) throws {
        try initProcess.signal(SIGKILL, recorder: recorder)
        try waitUntilGone(initProcess)
    }

    /// Waits for a process that was sent SIGKILL (never interrupted: it is dying).
    public func waitUntilGone(_ process: ProcessHandle) throws {
        try ChildReaper.shared.waitUntilEnded(process, interruptible: false, recorder: recorder)
        prune()
    }

    // MARK: where children go

    public func unsharePID() throws {
        if SessionSetup.childrenNamespaceIsFixed { throw KernelRules.childrenNamespaceFixedError("unshare(CLONE_NEWPID)") }
        if childrenTarget != .own {
            // The kernel would say EINVAL; say why before asking it.
            throw KernelRules.unshareError(EINVAL)
        }
        var rec = pidsh_call_record()
        let r = pidsh_unshare(PIDSH_CLONE_NEWPID, &rec)
        recorder.add(rec)
        if r != 0 { throw KernelRules.unshareError(rec.error) }
        childrenTarget = .unshared
        unsharedNamespace = nil
        firstUnsharedChild = nil
    }

    /// Namespaces of other types pidsh's future children join (`setns NS`). setns(2)
    /// would move pidsh itself at once for these types (and a multi-threaded process may
    /// not join a mount, user or time namespace), so each child joins them instead.
    public private(set) var childrenJoins: [NamespaceType: Namespace] = [:]

    public func setChildrenNamespace(_ ns: Namespace) throws {
        if ns.type != .pid {
            // Joined by each child (its setns shows in --trace); back with `setns --self`.
            if ns.inode == Namespace.ownInode(ns.type) { childrenJoins[ns.type] = nil } else { childrenJoins[ns.type] = ns }
            return
        }
        if SessionSetup.childrenNamespaceIsFixed {
            if ns.inode == Namespace.ownInode { return }
            throw KernelRules.childrenNamespaceFixedError("setns(\(ns.id), CLONE_NEWPID)")
        }
        var rec = pidsh_call_record()
        let r = pidsh_setns(ns.fd, PIDSH_CLONE_NEWPID, &rec)
        recorder.add(rec)
        if r != 0 { throw KernelRules.setnsError(rec.error, namespace: ns) }
        adopt(ns)
        childrenTarget = ns.inode == Namespace.ownInode ? .own : .joined(inode: ns.inode)
    }

    public func setChildrenNamespaceToOwn() throws {
        childrenJoins = [:]
        // Rootless in the host's namespace the children never left it (and setns there
        // would need privilege over the host's user namespace).
        if SessionSetup.childrenNamespaceIsFixed { return }
        let own = try Namespace.own()
        var rec = pidsh_call_record()
        let r = pidsh_setns(own.fd, PIDSH_CLONE_NEWPID, &rec)
        recorder.add(rec)
        if r != 0 { throw KernelRules.setnsError(rec.error, namespace: own) }
        childrenTarget = .own
    }

    /// The namespace pidsh's next child goes to, when it has a handle.
    public var childrenNamespace: Namespace? {
        switch childrenTarget {
        case .own: return try? Namespace.own()
        case .unshared: return unsharedNamespace
        case .joined(let inode): return namespaces.first { $0.inode == inode }
        }
    }

    // MARK: tear-down

    /// What is still alive, for a goodbye message.
    public var liveSummary: [String] {
        reapFinished()
        var lines: [String] = []
        let liveNamespaces = namespaces.filter { $0.initProcess?.isRunning ?? false }
        if !liveNamespaces.isEmpty { lines.append("\(liveNamespaces.count) namespace(s): " + liveNamespaces.map { $0.id }.joined(separator: " ")) }
        let liveProcs = children.filter { $0.isRunning }
        if !liveProcs.isEmpty { lines.append("\(liveProcs.count) process(es): " + liveProcs.map { String($0.pid) }.joined(separator: " ")) }
        if !mounts.mountedPaths.isEmpty { lines.append("\(mounts.mountedPaths.count) mount(s): " + mounts.mountedPaths.joined(separator: " ")) }
        return lines
    }

    /// Kills every process the session started (SIGKILL; a namespace's init takes its
    /// members with it) and every other child pidsh has (orphans it adopted as a
    /// subreaper), reaps them all, and undoes every mount and directory.
    @discardableResult
    public func tearDown() -> [String] {
        killTrackedChildren()
        // No child at this look means none can come: a process becomes pidsh's child only
        // by pidsh making it or by its parent, a descendant of pidsh, ending first. Then
        // the loop below need not look at /proc again (a `pidsh -c` that started nothing).
        let hadChildren = !killUntrackedChildren().isEmpty
        // Reap whatever has ended, in any order, until nothing is left: a killed init
        // cannot finish dying (zap_pid_ns_processes) until the zombies of its namespace
        // are reaped, and some of those are pidsh's own children, so waiting on one
        // child at a time can deadlock.
        // Woken the moment a child ends (its pidfd, or the SIGCHLD of one pidsh holds
        // none of), not by a timer: at most 5 s, re-killing every 50 ms.
        var rounds = 0
        while rounds < 5_000 {
            ChildReaper.shared.reapAll()
            let waiting = children.contains { $0.isChild && $0.exitStatus == nil }
            if !waiting && (!hadChildren || directChildren().isEmpty) { break }
            if rounds % 50 == 49 {
                killTrackedChildren()
                killUntrackedChildren()
            }
            ChildReaper.shared.waitForAnyEnd(milliseconds: 1)
            rounds += 1
        }
        // Observed (non-child) processes die with their namespace; wait until they do
        // (at most 1 s each), woken by the pidfd the moment one has.
        for p in children where !p.isChild {
            var tries = 0
            while p.isRunning && tries < 200 { p.waitReadable(milliseconds: 5); tries += 1 }
        }
        // What left pidsh's tree — orphans re-parented to a namespace's PID 1 pidsh did
        // not make, or to the host's init — is still in the session's cgroup.
        var failures: [String] = []
        if let requested = requestedCgroup {
            // Made for a process that never came: removed here (the janitor would at
            // its end otherwise).
            requestedCgroup = nil
            SessionCgroup.abandon(requested)
        }
        if let cgroup, cgroup.killAndRemove(reap: { ChildReaper.shared.reapAll() }) == nil {
            failures.append("the session's cgroup \(cgroup.path) did not empty in 2 s")
        }
        cgroup = nil
        children.removeAll()
        for ns in namespaces { ns.initProcess = nil }
        namespaces.removeAll()
        unsharedNamespace = nil
        return failures + mounts.undoAll()
    }

    /// Makes pidsh the reaper of orphans among its descendants (PR_SET_CHILD_SUBREAPER),
    /// so a grandchild left behind by a spawned shell comes back to pidsh and dies with
    /// the session instead of outliving it.
    public func becomeSubreaper() {
        if pidsh_set_child_subreaper() == 0 { isSubreaper = true }
    }
    public private(set) var isSubreaper = false

    /// pidsh's janitor (one of its children), -1 when it has none.
    public static var janitorPID: Int32 { pidsh_janitor_pid() }

    /// pidsh's children right now, whether it started them or adopted them (not the janitor).
    func directChildren() -> [Int32] {
        var out: [Int32] = []
        let me = getpid()
        for task in FileIO.directoryEntries("/proc/self/task") {
            // PIDs separated by spaces, read as digits (the tear-down reads this at least once).
            guard let bytes = ProcFiles.read("/proc/\(me)/task/\(task)/children") else { continue }
            for pid in ProcStatus.ints(bytes) where pid != pidsh_janitor_pid() && !HelperJanitors.contains(pid) {
                out.append(pid)
            }
        }
        return out
    }

    /// SIGKILL to every process the session started that is not known to have ended
    /// (a signal to one that ended meanwhile does nothing: its pidfd names it alone).
    private func killTrackedChildren() {
        for p in children where p.exitStatus == nil { try? p.signal(SIGKILL) }
    }

    /// Returns every child it found, tracked or not.
    @discardableResult
    func killUntrackedChildren() -> [Int32] {
        let tracked = Set(children.map { $0.pid })
        let found = directChildren()
        for pid in found where !tracked.contains(pid) {
            // A PID from the children list can't be recycled before pidsh reaps it.
            kill(pid, SIGKILL)
        }
        return found
    }
}

extension String {
    /// `/tmp/proc{level}` -> `/tmp/proc3`.
    func replacingLevel(_ level: Int) -> String {
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: "{level}") {
            out += rest[rest.startIndex..<r.lowerBound]
            out += String(level)
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
