import PidshSystem

/// Builtins that make and steer namespaces and processes: ns new, spawn, unshare,
/// setns, mount proc, umount, nest, kill, wait.
enum NamespaceBuiltins {
    static let all: [BuiltinSpec] = [nsNew, spawn, unshare, setns, mountProc, umount, nest, kill, wait, nsPin]

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
        name: "ns new", synopsis: "ns new [--type T] [--parent NS] [--name N] [--map-root | --map-user U --map-group G] [--hostname NAME] [--time-offset monotonic=S,boottime=S]",
        summary: "Make a namespace held by pidsh's minimal init (reaps orphans, lives until killed): a PID namespace whose PID 1 it is (the default), or one of another type (--type) it is the member of.",
        options: [OptionSpec("--type", "T", "the type: pid (default), mnt, uts, ipc, net, user, cgroup or time"),
                  OptionSpec("--parent", "NS", "nest it under NS (a namespace or a process in one; pid only)"),
                  OptionSpec("--name", "N", "a name to show for it")] + NamespaceTypeOptions.creation,
        returns: "namespace",
        examples: ["let ns = ns new", "let inner = ns new --parent $ns", "let net = ns new --type net", "let u = ns new --type user --map-root"],
        errors: ["EPERM: no privilege to create the namespace", "ENOSPC: past 32 levels (PID or user namespaces), or a per-user limit",
                 "ENOMEM: the parent's init has exited", "--parent with a type other than pid"]
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
            return .namespace(try call.session.newNamespace(of: type, options: companions, name: name))
        }
        var parent: Namespace?
        if let v = p.value("--parent") { parent = try call.namespace(v, argument: p.valueIndex["--parent"]) }
        let ns = try call.session.newNamespace(parent: parent, name: name)
        return .namespace(ns)
    }

    static let spawn = BuiltinSpec(
        name: "spawn",
        synopsis: "spawn [--newpid | --ns NS] [--new TYPES [--map-root | --map-user U --map-group G] [--hostname NAME] [--time-offset monotonic=S,boottime=S]] [--join TARGET [--type T,...] | --enter TARGET] [--mount-proc [PATH]] [--wait] [--name N] CMD ARG...",
        summary: "Start a program: as PID 1 of a new namespace (--newpid), inside NS (--ns), or where pidsh's children go; in new namespaces of any type (--new, as util-linux unshare), or joining a process's namespaces (--join, --enter: as nsenter).",
        options: [OptionSpec("--newpid", "CMD is PID 1 of a new PID namespace (clone(CLONE_NEWPID)); the same as --new pid"),
                  OptionSpec("--ns", "NS", "CMD joins NS (setns + fork); NS may be a namespace or a process"),
                  OptionSpec("--new", "TYPES", "new namespaces of these types (a comma list of pid mnt uts ipc net user cgroup time, or all), as unshare -p -m -u -i -n -U -C -T -f")]
            + NamespaceTypeOptions.creation + NamespaceTypeOptions.joining + [
                  OptionSpec("--mount-proc", "PATH", optional: true, "mount a procfs of CMD's namespace at PATH from inside it; without PATH, a private mount namespace with /proc remounted"),
                  OptionSpec("--wait", "wait for CMD and return its status"),
                  OptionSpec("--name", "N", "a name to show for the process")],
        returns: "process (with --wait: its status; spawn itself succeeds and `$?` is the program's code)",
        examples: ["let child = spawn --newpid --mount-proc /proc2 sleep 600", "spawn --ns $ns --wait sh -c 'echo $$'",
                   "spawn --new uts,net --hostname box --wait hostname", "spawn --new user --map-root --wait id -u",
                   "spawn --enter $ctr --wait cat /etc/hostname", "spawn --join $c --type net --wait ip link"],
        errors: ["command not found (not on $PATH), or no such program; with --enter, or a join of a mount namespace: not on $PATH in the filesystem it entered", "ENOMEM: the namespace's init has exited", "EPERM: no privilege", "ENOSPC: nesting past 32 levels",
                 "--newpid and --ns together: they exclude each other", "--mount-proc /proc: refused (it would hide pidsh's own view; use --mount-proc without a path)",
                 "a --mount-proc PATH with `..`, through a symlink, on a file, or with a missing parent: refused",
                 "a companion without its type (--hostname without --new uts...)", "EINVAL: joining pidsh's own user namespace", "EPERM: joining a namespace owned by another user namespace"],
        commandAfterPositionals: 0
    ) { call in
        let p = try call.parse()
        guard !p.command.isEmpty else { throw BuiltinError("spawn needs a command to run (spawn [options] CMD ARG...)") }
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
        var join: Namespace? = joinTarget?.pidNamespace
        if let v = p.value("--ns") { join = try call.namespace(v, argument: p.valueIndex["--ns"]) }
        var namespaces = try NamespaceTypeOptions.creation(p, new: new, call: call)
        namespaces.join = joinTarget
        var point: MountPoint?
        if let v = p.value("--mount-proc") {
            do {
                point = try call.session.mounts.prepareMountPoint(Printer.string(v))
            } catch let e as UsageError {
                throw BuiltinError(e.description, argument: p.valueIndex["--mount-proc"])
            }
        }
        defer { point?.close() }
        let wait = p.has("--wait")
        let (proc, status) = try call.spawnProgram(p.command, configure: { o in
            o.newPIDNamespace = new.contains(.pid)
            o.joinNamespace = join
            o.procMountPoint = point
            o.remountProc = p.flags.contains("--mount-proc")
            o.namespaces = namespaces
        }, wait: wait, argument: p.commandIndex)
        proc.label = p.value("--name").map(Printer.string)
        if let status {
            // spawn itself succeeded; `$?` tells how the program ended.
            call.dollarQuestion = status.shellCode
            return .status(status)
        }
        return .process(proc)
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
        let spec = call.spec
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
                  OptionSpec("--keep", "leave it mounted when pidsh exits (with --shared-mounts)")],
        examples: ["mount proc /tmp/nsproc --ns $ns", "ls /tmp/nsproc"],
        errors: ["PATH with `..`, through a symlink, on a file, or with a missing parent: refused",
                 "ENOMEM: NS's init has exited"]
    ) { call in
        let spec = call.spec
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("mount proc needs one PATH") }
        let path = Printer.string(p.positionals[0].0)
        var ns: Namespace? = call.session.childrenNamespace
        if let v = p.value("--ns") { ns = try call.namespace(v, argument: nil) }
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
        let spec = call.spec
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
            guard let found = FileIO.findExecutable(argv[0], path: FileIO.environment("PATH")) else {
                throw BuiltinError("command not found: \(argv[0])", argument: p.commandIndex)
            }
            path = found
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

    static let kill = BuiltinSpec(
        name: "kill", synopsis: "kill [-q] [-SIGNAL] PROCESS|NS...",
        summary: "Send a signal (default TERM; KILL for a namespace or a namespace's PID 1, which tears the namespace down and waits until it is gone). Succeeds whenever the kernel accepted the signal; the value is the kernel's verdict — delivered, queued (the target blocks it), discarded (a namespace's PID 1 without a handler, or an ignored signal) or resumed (SIGCONT woke a stopped process, the signal itself was discarded) — with a one-line note on stderr for all but delivered.",
        options: [OptionSpec("-SIGNAL", "a signal name or number: -KILL, -9, -SIGKILL, -TERM, -USR1 ..."),
                  OptionSpec("-q", "no note on stderr when the signal is not simply delivered")],
        returns: "the verdict: delivered, queued, discarded or resumed (a list of them for several targets)",
        examples: ["kill $child", "kill -KILL $ns", "let v = kill -USR1 $init", "expect $v == \"discarded\""],
        errors: ["ESRCH: the process has already ended",
                 "unknown signal -NAME (with a \"did you mean\" note)", "NS has no live init: it is already torn down"]
    ) { call in
        var args = call.arguments
        var signal: Int32?
        var quiet = false
        while let first = args.first, case .string(let s) = first, s.hasPrefix("-"), s.count > 1, Int(s.dropFirst()) == nil || signal == nil {
            if s == "-q" { quiet = true; args.removeFirst(); continue }
            guard signal == nil else { break }
            guard let n = Signals.number(of: String(s.dropFirst())) else {
                throw BuiltinError("unknown signal \(s)", notes: [SignalSuggestions.note(for: String(s.dropFirst()))], argument: call.arguments.count - args.count)
            }
            signal = n
            args.removeFirst()
        }
        guard !args.isEmpty else { throw BuiltinError("kill needs a process or a namespace") }
        let offset = call.arguments.count - args.count
        var verdicts: [Value] = []
        for (i, target) in args.enumerated() {
            let verdict: SignalVerdict
            if case .namespace(let ns) = target {
                guard let initProcess = ns.findInit() else {
                    throw BuiltinError("\(ns.id) has no live init: it is already torn down", argument: i + offset)
                }
                verdict = try send(signal ?? Signals.kill, to: initProcess, call: &call)
            } else {
                let proc = try call.process(target, argument: i + offset)
                // Without a signal, a namespace's PID 1 is torn down (a TERM would be
                // discarded by the kernel unless it has a handler).
                // (Once it has ended too: a second `kill` names the signal it sends a PID 1.)
                let isInit = proc.procStatus().map { $0.isNamespaceInit && $0.nspid.count > 1 } ?? wasNamespaceInit(proc)
                verdict = try send(signal ?? (isInit ? Signals.kill : Signals.term), to: proc, call: &call)
            }
            if let rule = verdict.rule, !quiet { call.warn(rule) }
            verdicts.append(.string(verdict.kind.rawValue))
        }
        return verdicts.count == 1 ? verdicts[0] : .list(verdicts)
    }

    /// PID 1 of a namespace below pidsh's, as its last NSpid showed (also once ended).
    static func wasNamespaceInit(_ proc: ProcessHandle) -> Bool {
        let pids = proc.pids
        return pids.count > 1 && pids.last == 1
    }

    /// Sends and judges one signal. SIGKILL to a namespace's PID 1 waits until it is
    /// gone (reaped, with every member of its namespace that is pidsh's child).
    static func send(_ sig: Int32, to proc: ProcessHandle, call: inout BuiltinCall) throws -> SignalVerdict {
        // Read before sending: the verdict depends on the dispositions and the state
        // the signal meets (a SIGCONT changes the state itself).
        let status = proc.procStatus()
        try proc.signal(sig, recorder: call.session.recorder)
        guard let status else { return .delivered }
        if sig == Signals.kill && status.isNamespaceInit && status.nspid.count > 1 {
            try call.session.waitUntilGone(proc)
        }
        return SignalVerdict.judge(sig, target: status, pid: proc.pid)
    }

    static let wait = BuiltinSpec(
        name: "wait", synopsis: "wait PROCESS", summary: "Wait for a process pidsh started to end.",
        returns: "status (exit code, or the signal that ended it); `$?` is its code",
        examples: ["let st = wait $child", "echo $st.code $st.signal"],
        errors: ["ECHILD: not pidsh's child (pidsh waits until it ends, then says only its parent learns how)", "ESRCH: no such process"]
    ) { call in
        guard call.arguments.count == 1 else { throw BuiltinError("wait needs one process") }
        let proc = try call.process(call.arguments[0], argument: 0)
        guard proc.isChild else {
            throw BuiltinError("process \(proc.pid) is not pidsh's child: only a process's parent can wait for it and learn how it ended", argument: 0)
        }
        let status = try proc.wait()
        call.dollarQuestion = status.shellCode
        call.session.reapFinished()
        return .status(status)
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
