import PidshSystem

/// `spawn`: a program where pidsh's children go, joining a namespace, or in a new one —
/// as its PID 1, or as PID 2 under pidsh's init (`--init reaper|forwarder`) — with the
/// signal mask and ignored signals it starts with.
enum SpawnBuiltin {
    static let spec = BuiltinSpec(
        name: "spawn",
        synopsis: "spawn [--newpid [--init none|reaper|forwarder] [--catch SIGS] | --ns NS] [--new TYPES [--map-root | --map-user U --map-group G] [--hostname NAME] [--time-offset monotonic=S,boottime=S]] [--join TARGET [--type T,...] | --enter TARGET] [--mount-proc [PATH]] [--block SIGS] [--ignore SIGS] [--wait] [--name N] CMD ARG...",
        summary: "Start a program: as PID 1 of a new namespace (--newpid), inside NS (--ns), or where pidsh's children go; in new namespaces of any type (--new, as util-linux unshare), or joining a process's namespaces (--join, --enter: as nsenter). With --newpid, --init says who is PID 1: none (CMD itself, as clone(CLONE_NEWPID) makes it), reaper (pidsh's init, CMD is PID 2 and the namespace outlives it, as `ns new` then `spawn --ns`), or forwarder (pidsh's init runs CMD as PID 2, passes it every signal it catches, reaps orphans, and exits with CMD's status, 128+N for signal N, as tini does: the value is then the init).",
        options: [OptionSpec("--newpid", "CMD is PID 1 of a new PID namespace (clone(CLONE_NEWPID)); the same as --new pid"),
                  OptionSpec("--init", "MODE", "with --newpid: none (the default: CMD is PID 1), reaper (pidsh's init is PID 1, CMD PID 2), forwarder (pidsh's init forwards signals to CMD and exits with its status)"),
                  OptionSpec("--catch", "SIGS", "with --init reaper or forwarder: the signals pidsh's init catches, so an ancestor's reach it instead of being discarded; a forwarder passes exactly these to CMD (default: every signal tini forwards)"),
                  OptionSpec("--ns", "NS", "CMD joins NS (setns + fork); NS may be a namespace or a process"),
                  OptionSpec("--new", "TYPES", "new namespaces of these types (a comma list of pid mnt uts ipc net user cgroup time, or all), as unshare -p -m -u -i -n -U -C -T -f")]
            + NamespaceTypeOptions.creation + NamespaceTypeOptions.joining + [
                  OptionSpec("--mount-proc", "PATH", optional: true, "mount a procfs of CMD's namespace at PATH from inside it; without PATH, a private mount namespace with /proc remounted"),
                  OptionSpec("--block", "SIGS", "CMD starts with SIGS blocked (a mask survives exec): sent to it, they stay pending"),
                  OptionSpec("--ignore", "SIGS", "CMD starts with SIGS ignored (SIG_IGN survives exec)"),
                  OptionSpec("--wait", "wait for CMD and return its status"),
                  OptionSpec("--name", "N", "a name to show for the process")],
        returns: "process (with --wait: its status; spawn itself succeeds and `$?` is the program's code); with --init forwarder the init, whose status is CMD's",
        examples: ["let child = spawn --newpid --mount-proc /proc2 sleep 600", "spawn --ns $ns --wait sh -c 'echo $$'",
                   "let app = spawn --newpid --init forwarder sleep 600", "let p = spawn --newpid --init reaper --catch USR1 sleep 600",
                   "let b = spawn --block USR1 --ignore TERM sleep 600",
                   "spawn --new uts,net --hostname box --wait hostname", "spawn --new user --map-root --wait id -u",
                   "spawn --enter $ctr --wait cat /etc/hostname", "spawn --join $c --type net --wait ip link"],
        errors: ["command not found (not on $PATH), or no such program (with --enter, or a join of a mount namespace: not on $PATH in the filesystem it entered): `$?` is 127; a program that cannot be executed (no execute permission, a directory, ENOEXEC): 126", "ENOMEM: the namespace's init has exited", "EPERM: no privilege", "ENOSPC: nesting past 32 levels",
                 "EACCES: NS belongs to another user namespace (opening it needs ptrace access to its process; joining it, CAP_SYS_ADMIN over its owner)",
                 "ESRCH: no such process in pidsh's PID namespace (rootless, pidsh PID 1 of its own namespace sees no host process)",
                 "--newpid and --ns together: they exclude each other", "--mount-proc /proc: refused (it would hide pidsh's own view; use --mount-proc without a path)",
                 "a --mount-proc PATH with `..`, through a symlink, on a file, or with a missing parent: refused",
                 "a companion without its type (--hostname without --new uts...)", "EINVAL: joining pidsh's own user namespace", "EPERM: joining a namespace owned by another user namespace",
                 "--init without --newpid, or an unknown mode", "--catch with --init none: handlers do not survive exec",
                 "--block or --ignore of KILL or STOP: they can be neither blocked nor ignored"],
        commandAfterPositionals: 0
    ) { call in
        let p = try call.parse()
        guard !p.command.isEmpty else { throw BuiltinError("spawn needs a command to run (spawn [options] CMD ARG...)") }
        let places = try Placement(p, call)
        let mode = try initMode(p, call, newPID: places.newPID)
        var join = places.join
        var point: MountPoint?
        if let v = p.value("--mount-proc") {
            do {
                point = try call.session.mounts.prepareMountPoint(Printer.string(v))
            } catch let e as UsageError {
                throw BuiltinError(e.description, argument: p.valueIndex["--mount-proc"])
            }
        }
        defer { point?.close() }
        let block = try masks(p, "--block", "blocked", call)
        let ignore = try masks(p, "--ignore", "ignored", call)
        let label = p.value("--name").map(Printer.string)
        var namespace: Namespace?
        if mode == .reaper {
            // As `ns new` then `spawn --ns`: pidsh's init first, then CMD joins it.
            namespace = try call.session.newNamespace(parent: nil, name: label, catching: try NamespaceBuiltins.catchSet(p, call))
            join = namespace
        }
        let started: (ProcessHandle, ExitStatus?)
        do {
            started = try call.spawnProgram(p.command, configure: { o in
                o.newPIDNamespace = places.newPID && mode != .reaper
                o.joinNamespace = join
                o.procMountPoint = point
                o.remountProc = p.flags.contains("--mount-proc")
                o.namespaces = places.namespaces
                o.blockSignals = block
                o.ignoreSignals = ignore
                if mode == .forwarder {
                    o.initForwards = true
                    let catching = try NamespaceBuiltins.catchSet(p, call)
                    o.initCatches = catching.isEmpty ? InitMode.forwardedByDefault : catching
                }
            }, wait: p.has("--wait"), argument: p.commandIndex)
        } catch {
            // The namespace made for CMD goes with it.
            if let initProcess = namespace?.initProcess { try? call.session.killNamespace(initProcess: initProcess) }
            if let e = error as? SystemError { throw NamespaceBuiltins.refused(e, p) }
            throw error
        }
        let (proc, status) = started
        proc.label = label
        if let status {
            // spawn itself succeeded; `$?` tells how the program ended.
            call.dollarQuestion = status.shellCode
            return .status(status)
        }
        return .process(proc)
    }

    /// Where CMD goes: the namespaces it gets new (--newpid, --new) and those it joins
    /// (--ns, --join, --enter), checked against each other.
    struct Placement {
        var newPID: Bool
        var join: Namespace?
        var namespaces: NamespaceSpawnOptions

        init(_ p: BuiltinCall.Parsed, _ call: BuiltinCall) throws {
            var new: [NamespaceType] = []
            if let v = p.value("--new") {
                do { new = try NamespaceType.list(Printer.string(v)) } catch let e as UsageError {
                    throw BuiltinError(e.description, argument: p.valueIndex["--new"])
                }
            }
            if p.has("--newpid") && !new.contains(.pid) { new.append(.pid) }
            let joinTarget = try NamespaceTypeOptions.join(p, call: call)
            if new.contains(.pid) && (p.value("--ns") != nil || joinTarget?.pidNamespace != nil) {
                throw BuiltinError("--newpid and --ns exclude each other: a process is either PID 1 of a new namespace or joins an existing one")
            }
            if let overlap = joinTarget?.types.first(where: { new.contains($0) }) {
                throw BuiltinError("the \(overlap.rawValue) namespace is both new and joined: give it to one of --new and --join")
            }
            newPID = new.contains(.pid)
            join = joinTarget?.pidNamespace
            if let v = p.value("--ns") { join = try call.namespace(v, argument: p.valueIndex["--ns"]) }
            namespaces = try NamespaceTypeOptions.creation(p, new: new, call: call)
            namespaces.join = joinTarget
        }
    }

    /// `--init MODE`, only with --newpid; `--catch` only for pidsh's init.
    static func initMode(_ p: BuiltinCall.Parsed, _ call: BuiltinCall, newPID: Bool) throws -> InitMode {
        var mode = InitMode.none
        if let v = p.value("--init") {
            guard let m = InitMode(rawValue: Printer.string(v)) else {
                throw BuiltinError("unknown init mode \(Printer.describe(v)): none, reaper or forwarder", argument: p.valueIndex["--init"])
            }
            guard newPID else {
                throw BuiltinError("--init chooses the PID 1 of a new namespace: it needs --newpid", argument: p.valueIndex["--init"])
            }
            mode = m
        }
        if p.value("--catch") != nil && mode == .none {
            throw BuiltinError("--catch needs pidsh's init (--newpid --init reaper or forwarder): with --init none CMD itself is PID 1, and handlers do not survive exec (a program starts with every caught signal back at its default)",
                               argument: p.valueIndex["--catch"])
        }
        return mode
    }

    /// `--block SIGS` / `--ignore SIGS`.
    static func masks(_ p: BuiltinCall.Parsed, _ option: String, _ what: String, _ call: BuiltinCall) throws -> SignalSet {
        guard let v = p.value(option) else { return SignalSet() }
        let set = try call.signalSet([(v, p.valueIndex[option])])
        try call.refuseUncatchable(set, what, argument: p.valueIndex[option])
        return set
    }
}
