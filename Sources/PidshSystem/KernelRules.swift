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
            let why: String
            switch e {
            case ENOENT where options.searchPath != nil:
                why = "command not found: \(program) (not on $PATH in the filesystem it entered, a mount namespace or root of its own)"
            case ENOENT: why = "no such file: \(options.path ?? program)"
            case EACCES: why = "\(options.path ?? program) is not executable (permission denied, or a directory)"
            case ENOEXEC: why = "\(options.path ?? program) is not a program the kernel can run (no #! line, wrong format)"
            default: why = "execve failed"
            }
            return SystemError(errnoValue: e, "exec \(program)", explanation: why)
        case Int32(PIDSH_STAGE_CLONE.rawValue):
            return cloneError(e, what: options.newPIDNamespace ? "clone(CLONE_NEWPID) for \(program)" : "fork for \(program)",
                              intoNamespace: options.joinNamespace)
        case Int32(PIDSH_STAGE_SETNS.rawValue):
            return setnsError(e, namespace: options.joinNamespace)
        case Int32(PIDSH_STAGE_OPEN_OWN_NS.rawValue):
            return pendingUnshareError(e, what: "spawn --ns")
        case Int32(PIDSH_STAGE_MOUNT_PROC.rawValue):
            return SystemError(errnoValue: e, "mount proc for \(program)",
                               explanation: e == EPERM ? privilegeHint : "the child could not mount a procfs of its namespace")
        case Int32(PIDSH_STAGE_REMOUNT_PROC.rawValue):
            return SystemError(errnoValue: e, "remount /proc for \(program)",
                               explanation: e == EPERM ? privilegeHint : "the child could not make its mount namespace private and remount /proc")
        case Int32(PIDSH_STAGE_RESTORE_NS.rawValue):
            return SystemError(errnoValue: e, "setns back after spawning \(program)",
                               explanation: "pidsh could not send its later children back where they went before; the child was killed")
        default:
            return SystemError(errnoValue: e, "spawn \(program) (stage \(stage))")
        }
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
            return SystemError(errnoValue: e, what, explanation: "a process limit was hit (RLIMIT_NPROC, pids.max of a cgroup, or the namespace's pid_max)")
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
            return SystemError(errnoValue: e, "nest \(levels) (stage \(result.stage), level \(level))")
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
