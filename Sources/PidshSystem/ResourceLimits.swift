import CPidsh
import Glibc

/// The resource limits (ulimit) pidsh adapts to, and the words for one that was hit.
public enum ResourceLimits {
    /// The soft RLIMIT_AS (`ulimit -v`) in bytes, or nil when unlimited.
    public static let addressSpace: Int? = {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: r.rlim_cur)
    }()

    /// At start: the soft RLIMIT_NOFILE up to the hard limit (pidsh holds a pidfd per
    /// live process); the programs pidsh runs get the limit it started with.
    public static func raiseDescriptorLimit() { _ = pidsh_raise_nofile_limit() }

    /// RLIMIT_NOFILE now (soft, hard) and the soft limit pidsh started with.
    public static var descriptors: (soft: UInt64, hard: UInt64, started: UInt64) {
        var started: UInt64 = 0, soft: UInt64 = 0, hard: UInt64 = 0
        pidsh_nofile_limits(&started, &soft, &hard)
        return (soft, hard, started)
    }

    static func show(_ value: UInt64) -> String { value == rlim_t.max ? "unlimited" : String(value) }

    /// Why EMFILE or ENFILE: which limit, its value, how to raise it.
    static func descriptorExplanation(_ e: Int32) -> String? {
        switch e {
        case EMFILE:
            let d = descriptors
            var why = "pidsh has as many descriptors open as RLIMIT_NOFILE allows: \(show(d.soft)) (`ulimit -n`; it holds one per live process and namespace)."
            why += d.soft < d.hard
                ? " Raise it before starting pidsh: `ulimit -n \(show(d.hard))`."
                : " That is the hard limit too: raise it before starting pidsh (`ulimit -Hn N` as root, or `nofile` in /etc/security/limits.conf, LimitNOFILE= for a service), then `ulimit -n N`."
            return why
        case ENFILE:
            let max = value("/proc/sys/fs/file-max") ?? "?"
            return "the whole system has as many files open as fs.file-max allows (\(max)): raise it with `sysctl -w fs.file-max=N`, or end what holds them"
        default:
            return nil
        }
    }

    /// Why fork/clone failed EAGAIN: the process limits with their values.
    static func processLimitsExplanation() -> String {
        var parts: [String] = []
        var r = rlimit()
        if getrlimit(Int32(__RLIMIT_NPROC.rawValue), &r) == 0 {
            parts.append("RLIMIT_NPROC (`ulimit -u`) allows this user \(show(UInt64(r.rlim_cur))) processes; raise it with `ulimit -u N` before starting pidsh")
        }
        if let cgroup = cgroupPidsLimit() {
            parts.append("the cgroup \(cgroup.path) allows \(cgroup.max) tasks (pids.max; \(cgroup.current) in use): raise it by writing to \(cgroup.file)")
        }
        for (file, name) in [("/proc/sys/kernel/pid_max", "kernel.pid_max"), ("/proc/sys/kernel/threads-max", "kernel.threads-max")] {
            if let v = value(file) {
                parts.append("\(name) is \(v) (`sysctl -w \(name)=N`)")
            }
        }
        return "a limit on processes was hit: " + parts.joined(separator: "; ")
    }

    /// A one-line /proc or /sys file, trimmed.
    static func value(_ path: String) -> String? {
        ProcFiles.readString(path).map { Substring($0).trimmingCharacters(in: " \n") }
    }

    /// pids.max of pidsh's cgroup (cgroup v2), when it has one.
    static func cgroupPidsLimit() -> (path: String, file: String, max: String, current: String)? {
        guard let text = ProcFiles.readString("/proc/self/cgroup"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = String(line.dropFirst(3))
        let file = "/sys/fs/cgroup" + (path == "/" ? "" : path) + "/pids.max"
        guard let max = value(file) else { return nil }
        let current = value("/sys/fs/cgroup" + (path == "/" ? "" : path) + "/pids.current") ?? "?"
        return (path, file, max, current)
    }
}
