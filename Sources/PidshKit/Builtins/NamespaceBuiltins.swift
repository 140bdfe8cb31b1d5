import PidshSystem

/// Builtins that make and steer namespaces and processes: ns new, spawn, unshare,
/// setns, mount proc, umount, nest, kill, wait.
enum NamespaceBuiltins {
    static let all: [BuiltinSpec] = [nsNew, spawn, unshare, setns, mountProc, umount, nest, kill, wait]

    static let nsNew = BuiltinSpec(
        name: "ns new", synopsis: "ns new [--parent NS] [--name N]",
        summary: "Make a PID namespace whose PID 1 is pidsh's minimal init (reaps orphans, lives until killed).",
        options: [OptionSpec("--parent", "NS", "nest it under NS (a namespace or a process in one)"),
                  OptionSpec("--name", "N", "a name to show for it")],
        returns: "namespace",
        examples: ["let ns = ns new", "let inner = ns new --parent $ns"],
        errors: ["EPERM: no privilege to create a PID namespace", "ENOSPC: past 32 levels", "ENOMEM: the parent's init has exited"]
    ) { call in
        let spec = call.spec
        let p = try call.parse()
        try noPositionals(p, spec)
        var parent: Namespace?
        if let v = p.value("--parent") { parent = try call.namespace(v, argument: nil) }
        let name = p.value("--name").map(Printer.string)
        let ns = try call.session.newNamespace(parent: parent, name: name)
        return .namespace(ns)
    }

    static let spawn = BuiltinSpec(
        name: "spawn",
        synopsis: "spawn [--newpid | --ns NS] [--mount-proc [PATH]] [--wait] [--name N] CMD ARG...",
        summary: "Start a program: as PID 1 of a new namespace (--newpid), inside NS (--ns), or where pidsh's children go.",
        options: [OptionSpec("--newpid", "CMD is PID 1 of a new PID namespace (clone(CLONE_NEWPID))"),
                  OptionSpec("--ns", "NS", "CMD joins NS (setns + fork); NS may be a namespace or a process"),
                  OptionSpec("--mount-proc", "PATH", optional: true, "mount a procfs of CMD's namespace at PATH from inside it; without PATH, a private mount namespace with /proc remounted"),
                  OptionSpec("--wait", "wait for CMD and return its status"),
                  OptionSpec("--name", "N", "a name to show for the process")],
        returns: "process (with --wait: its status; spawn itself succeeds and `$?` is the program's code)",
        examples: ["let child = spawn --newpid --mount-proc /proc2 sleep 600", "spawn --ns $ns --wait sh -c 'echo $$'"],
        errors: ["command not found (not on $PATH), or no such program", "ENOMEM: the namespace's init has exited", "EPERM: no privilege", "ENOSPC: nesting past 32 levels",
                 "--newpid and --ns together: they exclude each other", "--mount-proc /proc: refused (it would hide pidsh's own view; use --mount-proc without a path)",
                 "a --mount-proc PATH with `..`, through a symlink, on a file, or with a missing parent: refused"],
        commandAfterPositionals: 0
    ) { call in
        let p = try call.parse()
        guard !p.command.isEmpty else { throw BuiltinError("spawn needs a command to run (spawn [options] CMD ARG...)") }
        if p.has("--newpid") && p.value("--ns") != nil {
            throw BuiltinError("--newpid and --ns exclude each other: a process is either PID 1 of a new namespace or joins an existing one")
        }
        var join: Namespace?
        if let v = p.value("--ns") { join = try call.namespace(v, argument: nil) }
        var dirfd: Int32 = -1
        var mountPath: String?
        if let v = p.value("--mount-proc") {
            let path = Printer.string(v)
            if path.split(separator: "/").filter({ $0 != "." }) == ["proc"] && path.hasPrefix("/") {
                throw BuiltinError("--mount-proc /proc would hide pidsh's own view of its processes; use `--mount-proc` without a path: the child then gets a private mount namespace with /proc remounted")
            }
            dirfd = try call.session.mounts.prepareMountPoint(path)
            mountPath = path
        }
        defer { if dirfd >= 0 { FileIO.close(dirfd) } }
        let wait = p.has("--wait")
        let (proc, status) = try call.spawnProgram(p.command, configure: { o in
            o.newPIDNamespace = p.has("--newpid")
            o.joinNamespace = join
            o.procMountDirFD = dirfd
            o.remountProc = p.flags.contains("--mount-proc")
        }, wait: wait, argument: p.commandIndex)
        if let mountPath { call.session.mounts.recordMount(mountPath) }
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
        summary: "setns(2) with CLONE_NEWPID: pidsh's future children join NS; --self sends them back to pidsh's own namespace.",
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
                  OptionSpec("--keep", "leave it mounted when pidsh exits (only with --shared-mounts)")],
        examples: ["mount proc /tmp/nsproc --ns $ns", "ls /tmp/nsproc"],
        errors: ["PATH with `..`, through a symlink, on a file, or with a missing parent: refused",
                 "--keep without --shared-mounts: refused (the mount would vanish with pidsh's private mount namespace)",
                 "ENOMEM: NS's init has exited"]
    ) { call in
        let spec = call.spec
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("mount proc needs one PATH") }
        let path = Printer.string(p.positionals[0].0)
        var ns: Namespace? = call.session.childrenNamespace
        if let v = p.value("--ns") { ns = try call.namespace(v, argument: nil) }
        if p.has("--keep") && !call.session.mounts.sharedMounts {
            // Refused before anything is made: only an empty directory would outlive pidsh.
            throw BuiltinError("--keep needs --shared-mounts: pidsh mounts in a private mount namespace of its own, so the mount vanishes when pidsh exits, whatever it keeps",
                               notes: ["run `pidsh --shared-mounts` (root) to leave a procfs mounted on the host"],
                               argument: call.arguments.firstIndex { Printer.string($0) == "--keep" })
        }
        do {
            try call.session.mounts.mountProc(at: path, namespace: ns)
            for step in call.session.mounts.lastSteps { call.trace(step) }
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
        try call.session.mounts.unmount(Printer.string(call.arguments[0]))
        call.trace("umount2(\(Printer.string(call.arguments[0])), UMOUNT_NOFOLLOW) = 0")
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
        let namespaces = try call.session.nest(levels: n, mountPattern: pattern, path: path, arguments: argv)
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
        name: "kill", synopsis: "kill [-SIGNAL] PROCESS|NS...",
        summary: "Send a signal (default TERM; KILL for a namespace or a namespace's PID 1, which tears the namespace down). A signal that a namespace's PID 1 does not catch is dropped by the kernel: pidsh says so.",
        options: [OptionSpec("-SIGNAL", "a signal name or number: -KILL, -9, -SIGKILL, -TERM, -USR1 ...")],
        examples: ["kill $child", "kill -KILL $ns", "try kill -TERM $ns"],
        errors: ["ESRCH: the process has already ended", "dropped: PID 1 of a namespace has no handler for the signal (status 1, the error says so)",
                 "unknown signal -NAME (with a \"did you mean\" note)", "NS has no live init: it is already torn down"]
    ) { call in
        var args = call.arguments
        var signal: Int32?
        if let first = args.first, case .string(let s) = first, s.hasPrefix("-"), s.count > 1 {
            guard let n = Signals.number(of: String(s.dropFirst())) else {
                var notes: [String] = []
                if let g = Suggest.closest(to: String(s.dropFirst()).uppercased(), among: Signals.allNames) { notes.append("did you mean -\(g)?") }
                throw BuiltinError("unknown signal \(s)", notes: notes, argument: 0)
            }
            signal = n
            args.removeFirst()
        }
        guard !args.isEmpty else { throw BuiltinError("kill needs a process or a namespace") }
        let offset = call.arguments.count - args.count
        for (i, target) in args.enumerated() {
            if case .namespace(let ns) = target {
                try killNamespace(ns, signal: signal ?? 9, call: &call)
                continue
            }
            let proc = try call.process(target, argument: i + offset)
            let status = proc.procStatus()
            if signal == nil, let status, status.nspid.count > 1, status.nspid.last == 1 {
                // PID 1 of a namespace: without a signal, kill tears its namespace down
                // (a TERM would be dropped by the kernel unless it has a handler).
                try call.session.killNamespace(initProcess: proc)
                continue
            }
            let sig = signal ?? 15
            try proc.signal(sig)
            call.trace("pidfd_send_signal(\(proc.pid), \(Signals.name(of: sig))) = 0")
            if let status, status.nspid.count > 1, status.nspid.last == 1, sig != 9, sig != 19, !status.catches(signal: sig) {
                dropped(sig, pid: proc.pid, call: &call)
            }
        }
        return nil
    }

    static func killNamespace(_ ns: Namespace, signal: Int32, call: inout BuiltinCall) throws {
        guard let initProcess = ns.findInit() else {
            throw BuiltinError("\(ns.id) has no live init: it is already torn down")
        }
        if signal == 9 {
            // The kernel kills every member once its init dies; wait for that.
            try call.session.killNamespace(initProcess: initProcess)
            return
        }
        let status = initProcess.procStatus()
        try initProcess.signal(signal)
        call.trace("pidfd_send_signal(\(initProcess.pid), \(Signals.name(of: signal))) = 0")
        if let status, signal != 19, !status.catches(signal: signal) {
            dropped(signal, pid: initProcess.pid, call: &call)
        }
    }

    static func dropped(_ sig: Int32, pid: Int32, call: inout BuiltinCall) {
        call.status = 1
        call.failureMessage = "kill: \(Signals.name(of: sig)) to PID 1 of its namespace (PID \(pid) here) was dropped by the kernel: a namespace's init receives only the signals it has a handler for (none for \(Signals.name(of: sig)), see SigCgt in /proc/\(pid)/status); only SIGKILL and SIGSTOP from an ancestor namespace always arrive. Use `kill -KILL` to tear the namespace down"
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
