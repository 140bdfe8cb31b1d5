import PidshSystem

/// The options of `spawn` and `ns new` for namespaces of every type: what to make
/// (`--new TYPES`, `--type T`) with util-linux unshare's companions, and what to join
/// (`--join TARGET [--type T,...]`, `--enter TARGET`).
enum NamespaceTypeOptions {
    static let creation: [OptionSpec] = [
        OptionSpec("--map-root", "with a new user namespace: map root inside to pidsh's user outside (as unshare -r)"),
        OptionSpec("--map-user", "U", "with a new user namespace: map uid U inside to pidsh's user outside"),
        OptionSpec("--map-group", "G", "with a new user namespace: map gid G inside to pidsh's group outside"),
        OptionSpec("--hostname", "NAME", "with a new UTS namespace: its hostname"),
        OptionSpec("--time-offset", "monotonic=S,boottime=S", "with a new time namespace: its clocks' offsets in seconds (fractions allowed), set before the first process enters"),
    ]

    static let joining: [OptionSpec] = [
        OptionSpec("--join", "TARGET", "join TARGET's namespaces (a process, a PID or a namespace): those of --type, or every type whose namespace differs from pidsh's"),
        OptionSpec("--type", "T,...", "with --join: the types to join (pid mnt uts ipc net user cgroup time, or all)"),
        OptionSpec("--enter", "TARGET", "join every namespace of TARGET (a process) and take its root and working directory, as nsenter -a -r -w; CMD is looked for there, on $PATH (a container's /bin), as with any join of a mount namespace"),
    ]

    /// The companions of the types made; each needs its type among them.
    static func creation(_ p: BuiltinCall.Parsed, new: [NamespaceType], call: BuiltinCall) throws -> NamespaceSpawnOptions {
        var o = NamespaceSpawnOptions()
        o.new = new.filter { $0 != .pid }
        func need(_ t: NamespaceType, for option: String) throws {
            guard new.contains(t) else {
                throw BuiltinError("\(option) goes with a new \(t.rawValue) namespace (--new \(t.rawValue))", argument: p.valueIndex[option])
            }
        }
        if p.has("--map-root") || p.value("--map-user") != nil || p.value("--map-group") != nil {
            try need(.user, for: p.has("--map-root") ? "--map-root" : (p.value("--map-user") != nil ? "--map-user" : "--map-group"))
            let ids = SessionSetup.effectiveIDs
            if p.has("--map-root") { o.uidMap = "0 \(ids.uid) 1\n"; o.gidMap = "0 \(ids.gid) 1\n" }
            if let u = p.value("--map-user") { o.uidMap = "\(try call.integer(u, argument: p.valueIndex["--map-user"], what: "a uid")) \(ids.uid) 1\n" }
            if let g = p.value("--map-group") { o.gidMap = "\(try call.integer(g, argument: p.valueIndex["--map-group"], what: "a gid")) \(ids.gid) 1\n" }
            // As unshare -r: an unprivileged writer of gid_map must deny setgroups first.
            o.denySetgroups = o.gidMap != nil
        }
        if let h = p.value("--hostname") {
            try need(.uts, for: "--hostname")
            o.hostname = Printer.string(h)
        }
        if let t = p.value("--time-offset") {
            try need(.time, for: "--time-offset")
            o.timeOffsets = try timeOffsets(Printer.string(t), argument: p.valueIndex["--time-offset"])
        }
        o.privateMounts = new.contains(.mnt)
        return o
    }

    /// `monotonic=S,boottime=S` -> the lines of /proc/PID/timens_offsets.
    static func timeOffsets(_ text: String, argument: Int?) throws -> String {
        var lines = ""
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, ["monotonic", "boottime"].contains(kv[0]), let seconds = Double(kv[1]), seconds.isFinite,
                  abs(seconds) < 1e12 else {
                throw BuiltinError("--time-offset takes monotonic=S and/or boottime=S (seconds, fractions allowed), not `\(part)`", argument: argument)
            }
            let whole = seconds.rounded(.down)
            lines += "\(kv[0]) \(Int64(whole)) \(Int64(((seconds - whole) * 1e9).rounded()))\n"
        }
        return lines
    }

    /// `--join TARGET [--type ...]` or `--enter TARGET`, or nil.
    static func join(_ p: BuiltinCall.Parsed, call: BuiltinCall) throws -> NamespaceJoin? {
        let enter = p.value("--enter")
        guard let target = enter ?? p.value("--join") else {
            if p.value("--type") != nil { throw BuiltinError("--type goes with --join (the types to join)", argument: p.valueIndex["--type"]) }
            return nil
        }
        let option = enter != nil ? "--enter" : "--join"
        if enter != nil && p.value("--join") != nil { throw BuiltinError("--enter and --join exclude each other: --enter joins every namespace", argument: p.valueIndex["--join"]) }
        var types: [NamespaceType]?
        if let t = p.value("--type") {
            do { types = try NamespaceType.list(Printer.string(t)) } catch let e as UsageError {
                throw BuiltinError(e.description, argument: p.valueIndex["--type"])
            }
        }
        if case .namespace(let ns) = target, enter == nil {
            // A namespace value is one namespace: join that one (its init's others with --type).
            if types == nil || types == [ns.type] { return NamespaceJoin.of(namespaces: [ns]) }
            guard let initProcess = ns.findInit() else {
                throw BuiltinError("--type names other types, and \(ns.id) has no process to take them from", argument: p.valueIndex[option])
            }
            return try NamespaceJoin.of(process: initProcess, types: types, enter: false)
        }
        let process = try call.memberProcess(target, argument: p.valueIndex[option])
        do {
            return try NamespaceJoin.of(process: process, types: types, enter: enter != nil)
        } catch let e as SystemError {
            throw BuiltinError("\(e)", argument: p.valueIndex[option])
        }
    }
}

extension BuiltinCall {
    /// A process to take namespaces from: a process, a PID, or a namespace's PID 1.
    func memberProcess(_ v: Value, argument: Int?) throws -> ProcessHandle {
        if case .namespace(let ns) = v {
            guard let initProcess = ns.findInit() else {
                throw BuiltinError("\(ns.id) has no live process to take its namespaces from", argument: argument)
            }
            return initProcess
        }
        // Held while the spawn takes its namespaces, nothing kept after.
        return try process(v, argument: argument, transient: true)
    }
}
