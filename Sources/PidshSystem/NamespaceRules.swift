import CPidsh
import Glibc

/// Why creating or joining a namespace of another type failed: the kernel's rules for
/// each type, as verified on this machine (docs/namespaces.md).
extension KernelRules {
    /// The most user namespaces nested below the initial one (kernel/user_namespace.c,
    /// create_user_ns: a parent at level 33 may have no child): counted on this machine,
    /// as root and as uid 65534, the 34th unshare(CLONE_NEWUSER) fails ENOSPC.
    public static let maxUserNamespaceDepth = 33

    static func namespaceStageError(stage: Int32, errno e: Int32, options: SpawnOptions) -> Error? {
        let program = options.arguments.first ?? options.path ?? "pidsh-init"
        let new = options.namespaces.new
        switch stage {
        case Int32(PIDSH_STAGE_ID_MAPS.rawValue):
            return SystemError(errnoValue: e, "writing the uid/gid maps of \(program)'s user namespace",
                               explanation: "a user namespace's uid_map and gid_map can each be written once, by a process with CAP_SETUID/CAP_SETGID in the parent user namespace, and each outside id must be mapped in that parent; an unprivileged writer may map only its own id, and must first write \"deny\" to setgroups")
        case Int32(PIDSH_STAGE_JOIN.rawValue):
            return joinError(e, program: program, options: options)
        case Int32(PIDSH_STAGE_TIME.rawValue):
            return SystemError(errnoValue: e, "a new time namespace for \(program)",
                               explanation: e == EACCES || e == EPERM
                                ? "a time namespace's offsets can be written only before any process is in it, by a process with CAP_SYS_TIME in the user namespace that owns it"
                                : e == EUSERS ? "setns(CLONE_NEWTIME) needs a single-threaded process that shares its memory with no other" : nil)
        case Int32(PIDSH_STAGE_HOSTNAME.rawValue):
            return SystemError(errnoValue: e, "sethostname for \(program)",
                               explanation: e == EPERM ? "setting the hostname needs CAP_SYS_ADMIN in the user namespace that owns the UTS namespace (give --new uts, so the child has one of its own)" : nil)
        case Int32(PIDSH_STAGE_ROOT.rawValue):
            return SystemError(errnoValue: e, "chroot to the target's root for \(program)")
        case Int32(PIDSH_STAGE_CLONE.rawValue) where !new.isEmpty:
            return createError(e, program: program, types: new)
        default:
            return nil
        }
    }

    /// clone(CLONE_NEW*) refused: privilege, the user namespace depth, per-user limits.
    static func createError(_ e: Int32, program: String, types: [NamespaceType]) -> SystemError {
        let flags = types.map { "CLONE_NEW" + ($0 == .mnt ? "NS" : $0.rawValue.uppercased()) }.joined(separator: "|")
        switch e {
        case EPERM:
            return SystemError(errnoValue: e, "clone(\(flags)) for \(program)", explanation:
                "creating a namespace other than a user namespace needs CAP_SYS_ADMIN in the user namespace that owns the caller's (a user namespace needs nothing, and its creator holds every capability inside: give --new user too, as `unshare -r` does)")
        case ENOSPC, EUSERS:
            return SystemError(errnoValue: e, "clone(\(flags)) for \(program)", explanation:
                "a limit is reached: user namespaces nest at most \(maxUserNamespaceDepth) levels below the initial one, and each user may own at most /proc/sys/user/max_<type>_namespaces namespaces of a type (\(limits(types)))")
        default:
            return SystemError(errnoValue: e, "clone(\(flags)) for \(program)")
        }
    }

    static func limits(_ types: [NamespaceType]) -> String {
        let names: [NamespaceType: String] = [.mnt: "mnt", .uts: "uts", .ipc: "ipc", .net: "net", .user: "user", .cgroup: "cgroup", .time: "time", .pid: "pid"]
        return types.compactMap { t in
            ProcFiles.readString("/proc/sys/user/max_\(names[t]!)_namespaces").map { "max_\(names[t]!)_namespaces=\($0.filter { $0 != "\n" })" }
        }.joined(separator: ", ")
    }

    /// setns of another type refused in the child.
    static func joinError(_ e: Int32, program: String, options: SpawnOptions) -> SystemError {
        let types = options.namespaces.join?.types.map { $0.rawValue }.joined(separator: ",") ?? ""
        let why: String?
        switch e {
        case EINVAL:
            why = "the kernel refuses a join into a namespace the process is in already when it is a user namespace (re-entering one's own user namespace would grant its capabilities again), and a join of a user namespace by a process that shares its filesystem or threads"
        case EPERM:
            why = "joining a namespace needs CAP_SYS_ADMIN in the user namespace that owns it (and, for a user namespace, in that one itself): as a normal user, pidsh can join only namespaces its own user namespace owns"
        case EUSERS:
            why = "setns(CLONE_NEWTIME) needs a single-threaded process that shares its memory with no other"
        default:
            why = nil
        }
        return SystemError(errnoValue: e, "setns(\(types)) for \(program)", explanation: why)
    }
}
