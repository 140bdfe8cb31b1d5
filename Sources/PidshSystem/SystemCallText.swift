import CPidsh
import Glibc
import SystemPackage

/// A recorded call written as strace writes it: the call's name, its arguments with
/// flags by name, `= result` or `= -1 ERRNO (text)`, and where it ran.
extension SystemCall {
    public func line(_ context: TraceContext = TraceContext()) -> String {
        "\(name)(\(arguments(context))) = \(resultText)\(whereText)"
    }

    var resultText: String {
        guard failed else { return String(result) }
        return "-1 \(Errno.symbolicName(errno)) (\(String(cString: strerror(errno))))"
    }

    var whereText: String {
        let pid = actorPID > 0 ? " \(actorPID)" : ""
        switch actor {
        case .pidsh: return ""
        case .child: return "   # in the child\(pid)"
        case .helper: return "   # in a helper\(pid)"
        case .level(let k): return "   # in level \(k)\(pid)"
        case .janitor: return "   # in the janitor\(pid)"
        case .namespaceInit: return "   # in the init\(pid)"
        }
    }

    func descriptor(_ value: Int64, _ context: TraceContext) -> String {
        guard value >= 0 else { return value == -100 ? "AT_FDCWD" : String(value) }
        if let path = context.paths[value] ?? TraceContext.lasting[value] { return "\(value)<\(path)>" }
        return String(value)
    }

    func quoted(_ s: String) -> String { "\"" + s + "\"" }

    // swiftlint:disable:next cyclomatic_complexity
    func arguments(_ context: TraceContext) -> String {
        switch call {
        case PIDSH_CALL_CLONE:
            return "flags=" + FlagNames.clone(flags)
        case PIDSH_CALL_CLONE3:
            // CLONE_INTO_CGROUP names the cgroup's directory descriptor, as strace shows it.
            let cgroup = flags & FlagNames.cloneIntoCgroup != 0 ? ", cgroup=\(descriptor(fd, context))" : ""
            return "{flags=\(FlagNames.clone(flags)), exit_signal=\(flags2 == 0 ? "0" : Signals.name(of: Int32(flags2)))\(cgroup)}"
        case PIDSH_CALL_SETNS:
            // A namespace's descriptor, or the target's pidfd (its namespaces of the types).
            if flags2 == 1 { return "\(fd)<pidfd>, \(FlagNames.namespaces(flags))" }
            if let type = NamespaceType(cloneFlag: flags) { return "\(fd)<\(type.procName):[\(target)]>, \(FlagNames.namespaces(flags))" }
            if flags == 0 { return "\(fd)<ns:[\(target)]>, 0" }
            return "\(fd)<pidfd>, \(FlagNames.namespaces(flags))"
        case PIDSH_CALL_UNSHARE:
            return FlagNames.namespaces(flags)
        case PIDSH_CALL_SETHOSTNAME:
            return "\(quoted(text)), \(text.utf8.count)"
        case PIDSH_CALL_CHROOT:
            return quoted(text)
        case PIDSH_CALL_FSOPEN:
            return "\(quoted(text)), \(FlagNames.of(flags, FlagNames.fsopen))"
        case PIDSH_CALL_FSCONFIG:
            return "\(fd), \(flags == 6 ? "FSCONFIG_CMD_CREATE" : String(flags)), NULL, NULL, 0"
        case PIDSH_CALL_FSMOUNT:
            return "\(fd), \(FlagNames.of(flags, FlagNames.fsmount)), \(FlagNames.of(flags2, FlagNames.mountAttributes))"
        case PIDSH_CALL_MOVE_MOUNT:
            return "\(fd), \"\", \(descriptor(Int64(bitPattern: target), context)), \(quoted(text)), \(FlagNames.of(flags, FlagNames.moveMount))"
        case PIDSH_CALL_OPEN_TREE:
            return "\(descriptor(fd, context)), \(quoted(text)), \(FlagNames.of(flags, FlagNames.openTree))"
        case PIDSH_CALL_MOUNT:
            let proc = flags & UInt64(MS_PRIVATE) == 0
            return "\(proc ? "\"proc\"" : "NULL"), \(quoted(text)), \(proc ? "\"proc\"" : "NULL"), \(FlagNames.of(flags, FlagNames.mount)), NULL"
        case PIDSH_CALL_UMOUNT2:
            return "\(quoted(text)), \(FlagNames.of(flags, FlagNames.umount))"
        case PIDSH_CALL_PIDFD_SEND_SIGNAL:
            return "\(fd)<PID \(target)>, \(Signals.name(of: Int32(flags2))), NULL, 0"
        case PIDSH_CALL_KILL:
            return "\(Int64(bitPattern: target)), \(Signals.name(of: Int32(flags2)))"
        case PIDSH_CALL_RT_SIGPROCMASK:
            return "\(flags == 0 ? "SIG_BLOCK" : flags == 1 ? "SIG_UNBLOCK" : "SIG_SETMASK"), [\(SignalSet(flags2).names(prefixed: false).joined(separator: " "))], NULL, 8"
        case PIDSH_CALL_RT_SIGACTION:
            let handler = flags2 == 0 ? "SIG_DFL" : flags2 == 1 ? "SIG_IGN" : "<logs the siginfo>"
            return "\(Signals.name(of: Int32(target))), {sa_handler=\(handler), sa_mask=[], sa_flags=\(FlagNames.of(flags, FlagNames.sigaction))}, NULL, 8"
        case PIDSH_CALL_EXECVE:
            let argv = (context.argv ?? []).map { quoted($0) }.joined(separator: ", ")
            return "\(quoted(text)), [\(argv)]"
        case PIDSH_CALL_WAITID:
            let options = FlagNames.of(flags, FlagNames.wait)
            switch flags2 {
            case 0: return "P_ALL, 0, \(options)"
            case 1: return "P_PID, \(target), \(options)"
            default: return "P_PIDFD, \(fd)<PID \(target)>, \(options)"
            }
        case PIDSH_CALL_MKDIRAT:
            return "\(descriptor(fd, context)), \(quoted(text)), 0\(String(flags, radix: 8))"
        case PIDSH_CALL_UNLINKAT:
            return "\(descriptor(fd, context)), \(quoted(text)), \(flags == 0 ? "0" : "AT_REMOVEDIR")"
        case PIDSH_CALL_PIVOT_ROOT:
            return "\".\", \".\""
        default:
            return ""
        }
    }
}

/// Flag names as the kernel's headers (and strace) spell them.
enum FlagNames {
    typealias Table = [(UInt64, String)]

    static func of(_ value: UInt64, _ table: Table) -> String {
        if value == 0 { return "0" }
        var rest = value
        var names: [String] = []
        for (bit, name) in table where rest & bit == bit && bit != 0 {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 || names.isEmpty { names.append("0x" + String(rest, radix: 16)) }
        return names.joined(separator: "|")
    }

    /// setns/unshare flags: CLONE_NEW* only (CLONE_NEWTIME is 0x80, in clone's signal byte).
    static func namespaces(_ value: UInt64) -> String { value == 0 ? "0" : of(value, cloneTable) }

    /// clone flags; a clone's exit signal sits in the low byte.
    static func clone(_ value: UInt64) -> String {
        let signal = value & 0xff
        var text = of(value & ~0xff, cloneTable)
        if value & ~0xff == 0 { text = "" }
        if signal != 0 { text += (text.isEmpty ? "" : "|") + Signals.name(of: Int32(signal)) }
        return text.isEmpty ? "0" : text
    }

    static let cloneTable: Table = [
        (0x80, "CLONE_NEWTIME"), (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
        (0x800, "CLONE_SIGHAND"), (0x1000, "CLONE_PIDFD"), (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"),
        (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"), (0x2000000, "CLONE_NEWCGROUP"),
        (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"),
        (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"), (cloneIntoCgroup, "CLONE_INTO_CGROUP"),
    ]
    static let cloneIntoCgroup: UInt64 = 0x200000000
    static let fsopen: Table = [(1, "FSOPEN_CLOEXEC")]
    static let fsmount: Table = [(1, "FSMOUNT_CLOEXEC")]
    static let mountAttributes: Table = [(1, "MOUNT_ATTR_RDONLY"), (2, "MOUNT_ATTR_NOSUID"), (4, "MOUNT_ATTR_NODEV"), (8, "MOUNT_ATTR_NOEXEC")]
    static let moveMount: Table = [(4, "MOVE_MOUNT_F_EMPTY_PATH"), (0x40, "MOVE_MOUNT_T_EMPTY_PATH")]
    static let openTree: Table = [(1, "OPEN_TREE_CLONE"), (0x80000, "OPEN_TREE_CLOEXEC"), (0x100, "AT_SYMLINK_NOFOLLOW"),
                                  (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"), (0x8000, "AT_RECURSIVE")]
    static let mount: Table = [(1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"), (0x1000, "MS_BIND"),
                               (0x4000, "MS_REC"), (0x20000, "MS_UNBINDABLE"), (0x40000, "MS_PRIVATE"), (0x80000, "MS_SLAVE"),
                               (0x100000, "MS_SHARED")]
    static let umount: Table = [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")]
    static let wait: Table = [(1, "WNOHANG"), (4, "WEXITED"), (0x1000000, "WNOWAIT")]
    static let sigaction: Table = [(0x10000000, "SA_RESTART"), (4, "SA_SIGINFO"), (0x40000000, "SA_NODEFER")]
}
