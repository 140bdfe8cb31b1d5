import CPidsh
import Glibc

/// Turns (where it failed, errno) into an error that states the kernel's rule. This is
/// the one place that knows why PID namespace calls fail.
public enum KernelRules {
    public static let maxNestingDepth = 32

    static let privilegeHint = "creating or joining a PID namespace needs CAP_SYS_ADMIN in the user namespace that owns it: run pidsh as root, or as a normal user (pidsh then enters a user namespace of its own, as `unshare -r` does)"

    static func spawnError(stage: Int32, errno e: Int32, options: SpawnOptions) -> Error {
        let program = options.arguments.first ?? options.path ?? "pidsh-init"
        if let e = namespaceStageError(stage: stage, errno: e, options: options) { return e }
        switch stage {
        case Int32(PIDSH_STAGE_EXEC.rawValue):
            var error = execError(e, program: program, path: options.path ?? program, searched: options.searchPath != nil)
            error.culprit = .program
            return error
        case Int32(PIDSH_STAGE_CLONE.rawValue):
            var error = cloneError(e, what: options.newPIDNamespace ? "clone(CLONE_NEWPID) for \(program)" : "fork for \(program)",
                                   intoNamespace: options.joinNamespace)
            // The namespace joined has no init any more, or is nested too deep for a new one.
            if options.joinNamespace != nil && (e == ENOMEM || e == ENOSPC) { error.culprit = .namespace }
            return error
        case Int32(PIDSH_STAGE_SETNS.rawValue):
            var error = setnsError(e, namespace: options.joinNamespace)
            error.culprit = .namespace
            return error
        case Int32(PIDSH_STAGE_OPEN_OWN_NS.rawValue) where e == ENOENT:
            return pendingUnshareError(e, what: "spawn --ns")
        case Int32(PIDSH_STAGE_MOUNT_PROC.rawValue):
            var error = SystemError(errnoValue: e, "mount proc for \(program)",
                                    explanation: e == EPERM ? privilegeHint : "the child could not mount a procfs of its namespace")
            error.culprit = .mountPoint
            return error
        case Int32(PIDSH_STAGE_REMOUNT_PROC.rawValue):
            return SystemError(errnoValue: e, "remount /proc for \(program)",
                               explanation: e == EPERM ? privilegeHint : "the child could not make its mount namespace private and remount /proc")
        case Int32(PIDSH_STAGE_RESTORE_NS.rawValue):
            return SystemError(errnoValue: e, "setns back after spawning \(program)",
                               explanation: "pidsh could not send its later children back where they went before; the child was killed")
        default:
            return SystemError(errnoValue: e, "spawn \(program): \(describe(stage: stage))")
        }
    }

    /// A step of starting a process, in words (its number is pidsh's business).
    static func describe(stage: Int32) -> String {
        switch stage {
        case Int32(PIDSH_STAGE_OPEN_OWN_NS.rawValue): return "opening pidsh's pid_for_children to come back to it"
        case Int32(PIDSH_STAGE_SETNS.rawValue): return "setns into the namespace"
        case Int32(PIDSH_STAGE_CLONE.rawValue): return "clone"
        case Int32(PIDSH_STAGE_RESTORE_NS.rawValue): return "setns back to where pidsh's children went before"
        case Int32(PIDSH_STAGE_CHILD_SETUP.rawValue): return "setting up the new process (its descriptors, signals, directory)"
        case Int32(PIDSH_STAGE_MOUNT_PROC.rawValue): return "mounting its procfs"
        case Int32(PIDSH_STAGE_REMOUNT_PROC.rawValue): return "remounting /proc in its mount namespace"
        case Int32(PIDSH_STAGE_EXEC.rawValue): return "execve"
        case Int32(PIDSH_STAGE_PIPE.rawValue): return "the pipe or socket the new processes report to pidsh on"
        case Int32(PIDSH_STAGE_PARENT_GONE.rawValue): return "pidsh ended before the new process started"
        default: return "starting it"
        }
    }

    /// execve failures. ENOENT for a file that exists means what it names cannot be
    /// found: the interpreter of its `#!` line, or its ELF loader.
    static func execError(_ e: Int32, program: String, path: String, searched: Bool = false) -> SystemError {
        let why: String
        switch e {
        case ENOENT where searched:
            why = "command not found: \(program) (not on $PATH in the filesystem it entered, a mount namespace or root of its own)"
        case ENOENT where FileIO.exists(path):
            why = "\(path) exists, but the interpreter its #! line names (or the loader a binary needs) does not"
        case ENOENT: why = "no such file: \(path)"
        case EACCES: why = "\(path) is not executable (no execute permission, a directory, or a file system mounted noexec)"
        case ENOEXEC: why = "\(path) is not a program the kernel can run (no #! line, wrong format)"
        default: why = "execve failed"
        }
        return SystemError(errnoValue: e, "exec \(program)", explanation: why)
    }

    /// clone/fork failures: the rules of dead namespaces, depth and privilege.
    public static func cloneError(_ e: Int32, what: String, intoNamespace ns: Namespace? = nil, depth: Int? = nil) -> SystemError {
        switch e {
        case ENOMEM:
            let which = ns.map { " \($0.id)" } ?? ""
            return SystemError(errnoValue: e, what, explanation:
                "the PID namespace\(which) has no init any more: once its PID 1 has exited the kernel lets no new process into it (it killed every member, and fork fails ENOMEM). Spawn into a live namespace, or make a new one with `ns new`")
        case ENOSPC:
            var level = ""
            if let depth, depth <= maxNestingDepth {
                // Counted from what pidsh's /proc shows, the level looks allowed: pidsh's
                // own namespace is nested deeper than its /proc can tell (a rootless
                // pidsh that took a PID namespace of its own; or it runs in a container).
                let why = SessionSetup.placement == .rootlessInOwnNamespace
                    ? "as a normal user pidsh took a PID namespace of its own, one level down (in the REPL, with --own-pid-namespace, or for a script that names setns, unshare or source); a script without those keeps the host's"
                    : "pidsh runs in a container, or under another PID namespace"
                level = " (this would be level \(depth) counted from pidsh's namespace, so pidsh's own namespace is itself at least \(maxNestingDepth + 1 - depth) level(s) below the root: \(why))"
            }
            return SystemError(errnoValue: e, what, explanation:
                "PID namespaces nest at most \(maxNestingDepth) levels below the root namespace (the kernel's MAX_PID_NS_LEVEL)\(level)")
        case EPERM:
            return SystemError(errnoValue: e, what, explanation: privilegeHint)
        case EAGAIN:
            return SystemError(errnoValue: e, what, explanation: ResourceLimits.processLimitsExplanation())
        default:
            return SystemError(errnoValue: e, what)
        }
    }

    public static func setnsError(_ e: Int32, namespace ns: Namespace?) -> SystemError {
        let what = "setns(\(ns?.id ?? "ns"), CLONE_NEWPID)"
        switch e {
        case EINVAL:
            return SystemError(errnoValue: e, what, explanation:
                "a process may only send its children into its own PID namespace or one of its descendants, never an ancestor or a sibling")
        case EPERM where capabilityReach != nil:
            return SystemError(errnoValue: e, what, explanation:
                "setns(2) into a PID namespace needs CAP_SYS_ADMIN in the user namespace that owns it (and in the caller's): \(capabilityReach!), and \(ns?.id ?? "that namespace") is owned by another one (the host's, or one another program made). Run pidsh as root (of the host) to join it")
        case EPERM:
            return SystemError(errnoValue: e, what, explanation: privilegeHint)
        default:
            return SystemError(errnoValue: e, what)
        }
    }

    public static func pendingUnshareError(_ e: Int32, what: String) -> SystemError {
        SystemError(errnoValue: e, what, explanation:
            "after `unshare --pid` the new namespace has no handle until its first process (its PID 1) exists, so pidsh could not come back to it afterwards: spawn its first child before, or run `setns --self`")
    }

    public static func unshareError(_ e: Int32) -> SystemError {
        switch e {
        case EINVAL:
            return SystemError(errnoValue: e, "unshare(CLONE_NEWPID)", explanation:
                "pidsh's children already go to another PID namespace (after `unshare --pid` or `setns`): the kernel allows unshare(CLONE_NEWPID) only while pid_for_children is the caller's own namespace. Run `setns --self` first")
        case EPERM:
            return SystemError(errnoValue: e, "unshare(CLONE_NEWPID)", explanation: privilegeHint)
        case ENOSPC:
            return cloneError(e, what: "unshare(CLONE_NEWPID)")
        default:
            return SystemError(errnoValue: e, "unshare(CLONE_NEWPID)")
        }
    }

    /// A PID that pidsh's /proc does not show: it has ended, or it is outside pidsh's
    /// PID namespace — which, for a rootless pidsh of its own namespace, is every host
    /// process.
    public static func invisibleProcess(_ pid: Int32) -> String {
        let rule = "a process sees only the processes of its own PID namespace and of the namespaces below it"
        guard SessionSetup.placement == .rootlessInOwnNamespace else {
            return "no process \(pid) in pidsh's PID namespace: it has ended, or it lives outside (\(rule))"
        }
        return "no process \(pid) is visible from pidsh's PID namespace (\(rule)). As a normal user pidsh runs here as PID 1 of a PID namespace of its own — in the REPL, with --own-pid-namespace, and for a script that names setns, unshare or source — because only there can it send its children back after setns or unshare --pid; the host's processes are outside it. To reach one, run a script that names none of those (pidsh then stays in the host's PID namespace), or run pidsh as root"
    }

    /// Opening /proc/PID/ns/pid refused (EACCES): the ptrace rule, and setns's.
    public static func namespaceAccessRule(_ pid: Int32) -> String {
        var why = "opening another process's namespace needs ptrace read access to it (PTRACE_MODE_READ): being the same user in the same user namespace, holding every capability the process holds, or holding CAP_SYS_PTRACE in the user namespace the process belongs to; and setns(2) into a PID namespace then needs CAP_SYS_ADMIN in the user namespace that owns it"
        if let reach = capabilityReach {
            why += ". \(reach.prefix(1).uppercased() + reach.dropFirst()); process \(pid) belongs to another one (the host's, or one another program made), so the kernel refuses. Run pidsh as root (of the host) to join it, or start the process from this pidsh"
        }
        return why
    }

    /// kill(2)/pidfd_send_signal(2) refused (EPERM): kernel/signal.c's kill_ok_by_cred.
    public static func signalPermissionRule(_ pid: Int32) -> String {
        "a process may signal another only when its real or effective uid is the other's real or saved uid, or when it holds CAP_KILL in the user namespace the other belongs to: process \(pid) runs as another user than pidsh's (\(UserIDMap.current().pidshUser()))\(capabilityReach.map { ", and \($0)" } ?? "")"
    }

    /// Where pidsh's capabilities reach, when that is not everywhere (nil as the
    /// host's root): a user namespace and those below it.
    static var capabilityReach: String? {
        guard SessionSetup.inUserNamespace else { return nil }
        if SessionSetup.placement != .asStarted {
            return "as a normal user pidsh holds capabilities only in a user namespace of its own (where it is root) and in those below it"
        }
        return "pidsh runs in a user namespace it did not make (a container's, or one entered with nsenter), and its capabilities reach only that user namespace and those below it"
    }

    /// `setns`/`unshare --pid` in a rootless pidsh that stayed in the host's PID
    /// namespace: the move would be for good.
    public static func childrenNamespaceFixedError(_ what: String) -> SystemError {
        SystemError(errnoValue: EPERM, what, explanation:
            "as a normal user pidsh runs here in the host's PID namespace, and once its children went elsewhere it could never send them back (setns needs CAP_SYS_ADMIN over the namespace's owner, the host's user namespace). A rootless pidsh becomes PID 1 of a PID namespace of its own (one level down, so `nest` can go 31 deep) when the script names `setns`, `unshare` or `source`, in the REPL, and with --own-pid-namespace: use that option, or name the command in the script")
    }

    static func nestError(result: pidsh_nest_result, levels: Int, program: String?) -> SystemError {
        let level = Int(result.failed_level)
        let e = result.error
        switch result.stage {
        case Int32(PIDSH_STAGE_CLONE.rawValue):
            // The C layer counts levels as multi_pidns does (innermost 0); the message
            // counts them one way only, down from the root, as the explanation does.
            let depth = (Namespace.ownDepth ?? 0) + (levels - level)
            return cloneError(e, what: "nest \(levels): clone(CLONE_NEWPID) for level \(depth) below the root namespace", depth: depth)
        case Int32(PIDSH_STAGE_MOUNT_PROC.rawValue):
            return SystemError(errnoValue: e, "nest \(levels): mount proc at level \(level)",
                               explanation: e == EPERM ? privilegeHint : nil)
        case Int32(PIDSH_STAGE_EXEC.rawValue):
            return SystemError(errnoValue: e, "nest \(levels): exec \(program ?? "?")",
                               explanation: e == ENOENT ? "no such file: \(program ?? "?")" : nil)
        case Int32(PIDSH_STAGE_SETNS.rawValue):
            return setnsError(e, namespace: nil)
        default:
            let at = level >= 0 ? " at level \(level)" : ""
            return SystemError(errnoValue: e, "nest \(levels): \(describe(stage: result.stage))\(at)")
        }
    }
}

extension Namespace {
    /// How deep pidsh's own namespace is below the root (from NSpid of itself).
    public static var ownDepth: Int? {
        guard let s = ProcStatus.read(pid: getpid()) else { return nil }
        return max(0, s.nspid.count - 1)
    }
}
