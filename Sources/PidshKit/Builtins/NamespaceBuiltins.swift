import PidshSystem

/// Builtins that make and steer namespaces and processes: ns new, spawn, unshare,
/// setns, mount proc, umount, nest (kill and wait: SignalBuiltins).
enum NamespaceBuiltins {
    static let all: [BuiltinSpec] = [nsNew, SpawnBuiltin.spec, unshare, setns, mountProc, umount, nest, nsPin]

    static let nsPin = BuiltinSpec(
        name: "ns pin", synopsis: "ns pin NS PATH [--keep]",
        summary: "Bind-mount the namespace file of NS on PATH (a file, made if missing), as `ip netns add` and `unshare --net=PATH` do, so the namespace outlives its processes; undone at exit unless --keep (with --shared-mounts: in pidsh's private mount namespace the pin is seen only by pidsh and its children).",
        options: [OptionSpec("--keep", "leave it mounted when pidsh exits (with --shared-mounts)")],
        examples: ["let n = ns new --type net", "ns pin $n /run/netns/lab", "ns list --type net"],
        errors: ["PATH through a symlink, a directory, or a file of another user: refused", "EPERM: no privilege to mount"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 2 else { throw BuiltinError("ns pin needs a namespace and a PATH (ns pin NS PATH)") }
        let ns = try call.namespace(p.positionals[0].0, argument: p.positionals[0].1)
        let path = Printer.string(p.positionals[1].0)
        if p.has("--keep") && !call.session.mounts.sharedMounts {
            throw BuiltinError("--keep needs --shared-mounts: in pidsh's private mount namespace the pin goes with the session anyway")
        }
        do {
            try call.session.mounts.pin(ns, at: path)
        } catch let e as UsageError {
            throw BuiltinError(e.description, argument: p.positionals[1].1)
        } catch let e as SystemError {
            throw BuiltinError("\(e)", argument: p.positionals[1].1)
        }
        if p.has("--keep") { call.session.mounts.keep(path) }
        return nil
    }

    static let nsNew = BuiltinSpec(
        name: "ns new", synopsis: "ns new [--type T] [--parent NS] [--name N] [--catch SIGS] [--map-root | --map-user U --map-group G] [--hostname NAME] [--time-offset monotonic=S,boottime=S]",
        summary: "Make a namespace held by pidsh's minimal init (reaps orphans, lives until killed, logs the signals it catches: `signals received`, and does what `ns init` asks): a PID namespace whose PID 1 it is (the default), or one of another type (--type) it is the member of.",
        options: [OptionSpec("--type", "T", "the type: pid (default), mnt, uts, ipc, net, user, cgroup or time"),
                  OptionSpec("--parent", "NS", "nest it under NS (a namespace or a process in one; pid only)"),
                  OptionSpec("--name", "N", "a name to show for it"),
                  OptionSpec("--catch", "SIGS", "the init installs handlers for these signals (USR1 or USR1,TERM), so the kernel delivers them from an ancestor instead of discarding them")] + NamespaceTypeOptions.creation,
        returns: "namespace",
        examples: ["let ns = ns new", "let inner = ns new --parent $ns", "let ns = ns new --catch USR1,TERM", "let net = ns new --type net", "let u = ns new --type user --map-root"],
        errors: ["EPERM: no privilege to create the namespace", "ENOSPC: past 32 levels (PID or user namespaces), or a per-user limit",
                 "ENOMEM: the parent's init has exited", "--parent with a type other than pid", "--catch KILL or STOP: those can never be caught"]
    ) { call in
        let spec = call.spec
        let p = try call.parse()
        try noPositionals(p, spec)
        var type = NamespaceType.pid
        if let v = p.value("--type") {
            guard let t = NamespaceType(name: Printer.string(v)) else {
                throw BuiltinError("unknown namespace type `\(Printer.string(v))` (types: \(NamespaceType.allCases.map { $0.rawValue }.joined(separator: " ")))", argument: p.valueIndex["--type"])
            }
            type = t
        }
        let name = p.value("--name").map(Printer.string)
        let companions = try NamespaceTypeOptions.creation(p, new: [type], call: call)
        if type != .pid {
            if p.value("--parent") != nil { throw BuiltinError("--parent nests PID namespaces; a \(type.rawValue) namespace has none", argument: p.valueIndex["--parent"]) }
            if p.value("--catch") != nil { throw BuiltinError("--catch sets what a PID namespace's init catches; a \(type.rawValue) namespace's holder is no init", argument: p.valueIndex["--catch"]) }
            return .namespace(try call.session.newNamespace(of: type, options: companions, name: name))
        }
        var parent: Namespace?
        if let v = p.value("--parent") { parent = try call.namespace(v, argument: p.valueIndex["--parent"]) }
        do {
            return .namespace(try call.session.newNamespace(parent: parent, name: name, catching: try catchSet(p, call)))
        } catch let e as SystemError where e.culprit == .namespace {
            // The parent's init is gone, or the parent is nested too deep: its fault.
            throw BuiltinError(e.description, argument: p.valueIndex["--parent"])
        }
    }

    /// `--catch SIGS`: the signals pidsh's init catches from the start.
    static func catchSet(_ p: BuiltinCall.Parsed, _ call: BuiltinCall) throws -> SignalSet {
        guard let v = p.value("--catch") else { return SignalSet() }
        let set = try call.signalSet([(v, p.valueIndex["--catch"])])
        try call.refuseUncatchable(set, "caught", argument: p.valueIndex["--catch"])
        return set
    }

    /// A spawn the kernel refused, with the caret on what it refused: the program, the
    /// namespace given with --ns, the --mount-proc path; and sh's status for a program
    /// that could not be executed.
    static func refused(_ e: SystemError, _ p: BuiltinCall.Parsed) -> BuiltinError {
        let at: Int?
        switch e.culprit {
        case .program?: at = p.commandIndex
        case .namespace?: at = p.valueIndex["--ns"] ?? p.valueIndex["--join"] ?? p.valueIndex["--enter"]
        case .mountPoint?: at = p.valueIndex["--mount-proc"]
        case nil: at = nil
        }
        return BuiltinError(e.description, argument: at, status: e.shellStatus ?? 1)
    }

    static let unshare = BuiltinSpec(
        name: "unshare", synopsis: "unshare --pid",
        summary: "unshare(CLONE_NEWPID): pidsh's FUTURE children go into a new PID namespace; the first becomes its PID 1; $$ is unchanged. (Other arguments run util-linux unshare.)",
        options: [OptionSpec("--pid", aliases: ["-p"], "a new PID namespace for pidsh's next children")],
        examples: ["unshare --pid", "spawn sh -c 'echo $$'   # prints 1"],
        errors: ["EINVAL: children already go to another namespace (run `setns --self` first)", "EPERM: no privilege",
                 "EPERM: as a normal user in the host's PID namespace, reached through a variable (name it in the script, or --own-pid-namespace)"],
        accepts: { $0 == ["--pid"] || $0 == ["-p"] }
    ) { call in
        try call.session.unsharePID()
        return nil
    }

    static let setns = BuiltinSpec(
        name: "setns", synopsis: "setns NS|PROCESS | setns --self",
        summary: "pidsh's future children join NS: for a PID namespace (or a process's), setns(2) with CLONE_NEWPID, the kernel's own semantics; for another type each child joins it (setns would move pidsh itself at once, and a multi-threaded process may not join a mount, user or time namespace). --self sends them all back to pidsh's own namespaces.",
        options: [OptionSpec("--self", "back to pidsh's own namespace")],
        returns: "namespace (the one children now join); nothing with --self",
        examples: ["setns $ns", "setns $child", "setns --self"],
        errors: ["EINVAL: NS is not pidsh's namespace or a descendant", "EPERM: no privilege", "NS is not a namespace, a process or a PID",
                 "EPERM: as a normal user in the host's PID namespace, reached through a variable (name it in the script, or --own-pid-namespace)"]
    ) { call in
        let p = try call.parse()
        if p.has("--self") {
            guard p.positionals.isEmpty else { throw BuiltinError("setns --self takes no namespace", argument: p.positionals[0].1) }
            try call.session.setChildrenNamespaceToOwn()
            return nil
        }
        guard p.positionals.count == 1 else { throw BuiltinError("setns needs one namespace or process (or --self)") }
        let ns = try call.namespace(p.positionals[0].0, argument: p.positionals[0].1)
        try call.session.setChildrenNamespace(ns)
        return .namespace(ns)
    }

    static let mountProc = BuiltinSpec(
        name: "mount proc", synopsis: "mount proc PATH [--ns NS|PROCESS] [--keep]",
        summary: "Mount a procfs showing NS at PATH, by a helper inside NS (PATH is created if missing; unmounted and removed at exit unless --keep). Other `mount` forms run mount(8).",
        options: [OptionSpec("--ns", "NS", "the namespace to show (default: where pidsh's children go)"),
                  OptionSpec("--keep", "leave it mounted when pidsh exits (only with --shared-mounts)")],
        examples: ["mount proc /tmp/nsproc --ns $ns", "ls /tmp/nsproc"],
        errors: ["PATH with `..`, through a symlink, on a file, or with a missing parent: refused",
                 "PATH owned by another user than pidsh's: refused (rootless, every other owner, root included, shows as the overflow uid 65534)",
                 "--keep without --shared-mounts: refused (the mount would vanish with pidsh's private mount namespace)",
                 "ENOMEM: NS's init has exited"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("mount proc needs one PATH") }
        let path = Printer.string(p.positionals[0].0)
        var ns: Namespace? = call.session.childrenNamespace
        if let v = p.value("--ns") { ns = try call.namespace(v, argument: p.valueIndex["--ns"]) }
        if p.has("--keep") && !call.session.mounts.sharedMounts {
            // Refused before anything is made: only an empty directory would outlive pidsh.
            throw BuiltinError("--keep needs --shared-mounts: pidsh mounts in a private mount namespace of its own, so the mount vanishes when pidsh exits, whatever it keeps",
                               notes: ["run `pidsh --shared-mounts` (root) to leave a procfs mounted on the host"],
                               argument: call.arguments.firstIndex { Printer.string($0) == "--keep" })
        }
        do {
            try call.session.mounts.mountProc(at: path, namespace: ns)
        } catch let e as UsageError {
            throw BuiltinError(e.description, argument: p.positionals[0].1)
        }
        if p.has("--keep") { call.session.mounts.keep(path) }
        return nil
    }

    static let umount = BuiltinSpec(
        name: "umount", synopsis: "umount PATH", summary: "Unmount PATH (one of pidsh's mounts, or any mount point).",
        examples: ["umount /tmp/nsproc"], errors: ["EINVAL: not a mount point", "EPERM: no privilege"]
    ) { call in
        guard call.arguments.count == 1 else { throw BuiltinError("umount needs one PATH") }
        do {
            try call.session.mounts.unmount(Printer.string(call.arguments[0]))
        } catch let e as UsageError {
            throw BuiltinError(e.description, argument: 0)
        }
        return nil
    }

    static let nest = BuiltinSpec(
        name: "nest", synopsis: "nest N [--mount-proc PATTERN | --no-mount] [--verbose] [CMD ARG...]",
        summary: "N nested PID namespaces, as multi_pidns --levels N: level N-1 outermost .. 0 innermost; level k mounts its procfs at PATTERN with {level} replaced (default /tmp/proc{level}); the innermost runs CMD (default: sleep forever).",
        options: [OptionSpec("--mount-proc", "PATTERN", "where level k mounts its procfs; {level} is replaced by k"),
                  OptionSpec("--no-mount", "mount no procfs at all"),
                  OptionSpec("--verbose", "print each level's `Mounted procfs at ...` line, as the article's program does")],
        returns: "list of namespaces, outermost first",
        examples: ["let levels = nest 5 --verbose", "nest 32 --no-mount"],
        errors: ["ENOSPC: more than 32 levels below the root namespace", "N missing, not a number, or below 1",
                 "a --mount-proc PATTERN without `{level}` when N > 1", "command not found: CMD is not on $PATH"],
        commandAfterPositionals: 1
    ) { call in
        let p = try call.parse()
        guard let (nv, ni) = p.positionals.first else { throw BuiltinError("nest needs the number of levels (nest N)") }
        let n = try call.integer(nv, argument: ni, what: "the number of levels")
        guard n >= 1 else { throw BuiltinError("nest needs at least 1 level", argument: ni) }
        guard n <= 64 else {
            throw BuiltinError("nest \(n): PID namespaces nest at most 32 levels below the root (the kernel's MAX_PID_NS_LEVEL)", argument: ni)
        }
        let pattern: String? = p.has("--no-mount") ? nil : (p.value("--mount-proc").map(Printer.string) ?? "/tmp/proc{level}")
        if let pattern, !pattern.contains("{level}"), n > 1 {
            throw BuiltinError("the --mount-proc pattern needs `{level}`, or every level would mount at \(pattern)")
        }
        var path: String?
        var argv: [String] = []
        if !p.command.isEmpty {
            argv = p.command.map(Printer.string)
            switch ProgramLookup.find(argv[0], notFound: "command not found: \(argv[0]) (not on $PATH)") {
            case .program(let found): path = found
            case .refused(let why, let status): throw BuiltinError(why, argument: p.commandIndex, status: status)
            }
        } else if let sleep = FileIO.findExecutable("sleep", path: FileIO.environment("PATH")) {
            path = sleep
            argv = ["sleep", "infinity"]
        }
        let namespaces: [Namespace]
        do {
            namespaces = try call.session.nest(levels: n, mountPattern: pattern, path: path, arguments: argv)
        } catch let e as UsageError {
            throw BuiltinError(e.description, argument: p.valueIndex["--mount-proc"])
        }
        if p.has("--verbose") {
            // Progress messages, not the value: under `let levels = nest 5 --verbose` the
            // capture buffer would swallow them, so they go to pidsh's output then.
            let sink = call.io.out.descriptor == nil && call.io.out !== call.interpreter.out ? call.interpreter.out : call.io.out
            for level in stride(from: n - 1, through: 0, by: -1) {
                if let pattern { sink.write("level \(level): Mounted procfs at \(pattern.replacingOccurrences("{level}", String(level)))\n") }
            }
            sink.write("level 0: Final child " + (p.command.isEmpty ? "sleeping .." : "running \(argv.joined(separator: " "))") + "\n")
        }
        return .list(namespaces.map { .namespace($0) })
    }

    static func noPositionals(_ p: BuiltinCall.Parsed, _ spec: BuiltinSpec) throws {
        if let (v, i) = p.positionals.first {
            throw BuiltinError("unexpected argument \(Printer.describe(v)) (usage: \(spec.synopsis))", argument: i)
        }
    }
}

extension String {
    func replacingOccurrences(_ needle: String, _ replacement: String) -> String {
        guard !needle.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.firstRange(of: needle) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
