import CPidsh
import Glibc

/// Start-up of a pidsh process, done first in main while it is single-threaded: the
/// rootless user namespace (when not root) and the private mount namespace.
public enum SessionSetup {
    public static var isRoot: Bool { geteuid() == 0 }

    /// pidsh's effective uid and gid (in its user namespace: 0 when rootless).
    public static var effectiveIDs: (uid: UInt32, gid: UInt32) { (geteuid(), getegid()) }

    /// True inside a user namespace (a rootless pidsh is root only there): the uid map
    /// is not the initial namespace's identity map.
    public static var inUserNamespace: Bool {
        guard let map = ProcFiles.readString("/proc/self/uid_map") else { return false }
        let f = map.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        return !(f.count == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
    }

    /// At a normal exit, once the session is torn down: lets the janitor go.
    public static func finish() {
        ChildReaper.shared.waitForHelperJanitors()
        pidsh_stop_janitor()
    }

    /// Where `--shared-mounts` runs keep their undo journal for `pidsh cleanup`.
    public static let journalDirectory = "/run/pidsh"

    /// Where a session's pidsh is: as root (or already root in a user namespace) in the
    /// PID namespace it started in; as a normal user, in a user namespace of its own and
    /// either still in the host's PID namespace or PID 1 of one of its own.
    public enum Placement: Equatable, Sendable {
        case asStarted
        case rootlessInHostNamespace
        case rootlessInOwnNamespace
    }
    public private(set) static var placement = Placement.asStarted

    /// True when pidsh must not move its children's PID namespace: rootless in the
    /// host's, it could never move them back.
    public static var childrenNamespaceIsFixed: Bool { placement == .rootlessInHostNamespace }

    /// `ownPIDNamespace`: rootless, become PID 1 of a PID namespace of its own (one level
    /// down) so that `setns`/`unshare --pid` can be undone; otherwise stay in the host's,
    /// with the kernel's whole 32 levels below. Ignored as root.
    public static func enter(privateMounts: Bool, ownPIDNamespace: Bool = true) throws {
        let rootless = !isRoot
        if rootless && !privateMounts {
            throw UsageError("--shared-mounts needs root: as a normal user pidsh works in a user namespace of its own, whose mounts no other process sees")
        }
        // Before the janitor is forked (here, or rootless in the outer process).
        SessionCgroup.prepareJanitorEscape()
        var stage: Int32 = 0
        let e = pidsh_enter_session(privateMounts ? 1 : 0, rootless ? 1 : 0, ownPIDNamespace ? 1 : 0, &stage)
        guard e != 0 else {
            placement = !rootless ? .asStarted : ownPIDNamespace ? .rootlessInOwnNamespace : .rootlessInHostNamespace
            // After the namespaces, so the janitor unmounts in pidsh's own mount namespace.
            try startJanitor()
            return
        }
        switch stage {
        case 1:
            throw SystemError(errnoValue: e, "unshare(CLONE_NEWUSER)", explanation: userNamespaceHint(e))
        case 2:
            throw SystemError(errnoValue: e, "writing uid_map/gid_map of pidsh's user namespace")
        case 3:
            throw SystemError(errnoValue: e, "unshare(CLONE_NEWNS) for pidsh's private mount namespace",
                              explanation: e == EPERM ? "making a mount namespace needs CAP_SYS_ADMIN" : nil)
        case 5:
            throw SystemError(errnoValue: e, "unshare(CLONE_NEWPID) + fork for pidsh's own PID namespace (rootless)")
        default:
            throw SystemError(errnoValue: e, "making / MS_REC|MS_PRIVATE in pidsh's mount namespace")
        }
    }

    /// Forks pidsh's janitor unless it runs already (a session's, or `pidsh test`'s).
    public static func startJanitor() throws {
        let j = pidsh_start_janitor()
        if j != 0 {
            throw SystemError(errnoValue: j, "starting pidsh's janitor process",
                              explanation: j == EAGAIN ? ResourceLimits.processLimitsExplanation() : nil)
        }
    }

    /// Why an unprivileged user namespace was refused, and how to allow it.
    static func userNamespaceHint(_ e: Int32) -> String {
        var why = "pidsh runs as a normal user by entering a user namespace of its own (as `unshare -r`), and the kernel refused it."
        if let v = ProcFiles.readString("/proc/sys/kernel/unprivileged_userns_clone"), v.hasPrefix("0") {
            why += " Unprivileged user namespaces are disabled: enable them with `sysctl -w kernel.unprivileged_userns_clone=1`, or run pidsh as root."
        } else if let v = ProcFiles.readString("/proc/sys/user/max_user_namespaces"), v.hasPrefix("0") {
            why += " user.max_user_namespaces is 0: raise it with `sysctl -w user.max_user_namespaces=15000`, or run pidsh as root."
        } else if let v = ProcFiles.readString("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"), v.hasPrefix("1") {
            why += " AppArmor restricts unprivileged user namespaces: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or run pidsh as root."
        } else if e == EINVAL {
            why += " (EINVAL: the process was already multi-threaded)"
        } else if e == ENOSPC || e == EUSERS {
            why += " The limit on user namespaces is reached (user.max_user_namespaces for this user, or 32 nested user namespaces): end some, or run pidsh as root."
        } else if e == EPERM {
            why += " Unprivileged user namespaces are not switched off by a sysctl here, so something else forbids them: pidsh is running in a chroot, or under a seccomp filter (as in many containers). Run pidsh as root, or outside that chroot or container."
        } else {
            why += " Run pidsh as root, or allow unprivileged user namespaces on this machine."
        }
        return why
    }

    /// The executable of this process (for `pidsh test` to run scripts in a child pidsh).
    public static var executablePath: String { ProcFiles.readLink("/proc/self/exe") ?? "pidsh" }
}
