import CPidsh
import Glibc

/// The resource limits (ulimit) pidsh adapts to.
public enum ResourceLimits {
    /// The soft RLIMIT_AS (`ulimit -v`) in bytes, or nil when unlimited.
    public static let addressSpace: Int? = {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: r.rlim_cur)
    }()
}
