import Glibc

/// Why the kernel refused a signal call: the rules of kill(2), sigaction(2) and
/// sigprocmask(2) as they meet namespaces.
extension KernelRules {
    static func initActionError(_ e: Int32, action: InitAction) -> SystemError {
        let what = "ns init: the init's \(action.callText)"
        switch (e, action) {
        case (ESRCH, .kill(_, let target)) where target == -1:
            return SystemError(errnoValue: e, what, explanation: "kill(-1) from the init signals every process of its namespace (and those below) but itself, and there is none: the init is alone")
        case (ESRCH, .kill(_, let target)):
            return SystemError(errnoValue: e, what, explanation: "the init's namespace has no process \(target): an init sees only the processes of its own namespace and of those below it, numbered as its namespace numbers them (a PID of an ancestor namespace names nothing there)")
        case (EPERM, .kill):
            return SystemError(errnoValue: e, what, explanation: "the init may not signal that process (kill(2) needs the same uid, or CAP_KILL over the target's user namespace)")
        case (EINVAL, _):
            return SystemError(errnoValue: e, what, explanation: "SIGKILL and SIGSTOP can never be caught or ignored, and glibc keeps signals 32 and 33 for itself")
        default:
            return SystemError(errnoValue: e, what)
        }
    }

    /// The signals no process can catch, ignore or block: refused before asking.
    public static func uncatchable(_ set: SignalSet) -> [Int32] {
        set.signals.filter { $0 == SIGKILL || $0 == SIGSTOP }
    }
}
