import CPidsh

/// A spawn's namespaces besides PID: new ones (`spawn --new`, `ns new --type`) with
/// their companions, and joins (`spawn --join`, `--enter`, `setns` of other types).
public struct NamespaceSpawnOptions {
    /// New namespaces of these types (not PID: `newPIDNamespace`).
    public var new: [NamespaceType] = []
    /// The new user namespace's maps: `0 UID 1`-style lines, written by pidsh.
    public var uidMap: String?
    public var gidMap: String?
    public var denySetgroups = false
    /// `monotonic S 0\nboottime S 0\n`, written before the first process enters.
    public var timeOffsets: String?
    public var hostname: String?
    /// Every mount made private in the new mount namespace (as unshare -m does).
    public var privateMounts = false
    public var join: NamespaceJoin?

    public init() {}

    public var isEmpty: Bool { new.isEmpty && join == nil }

    /// Fills the request (C strings and arrays live while `body` runs).
    func apply<R>(_ req: inout pidsh_spawn_request, _ body: (inout pidsh_spawn_request) -> R) -> R {
        req.join_pidfd = -1
        req.root_fd = -1
        req.cwd_fd = -1
        req.new_namespaces = NamespaceType.flags(new.filter { $0 != .time && $0 != .pid })
        req.new_time_namespace = new.contains(.time) ? 1 : 0
        req.private_mounts = privateMounts ? 1 : 0
        req.deny_setgroups = denySetgroups ? 1 : 0
        return withOptionalCString(uidMap) { uid in
            withOptionalCString(gidMap) { gid in
                withOptionalCString(timeOffsets) { offsets in
                    withOptionalCString(hostname) { host in
                        req.uid_map = uid
                        req.gid_map = gid
                        req.time_offsets = offsets
                        req.hostname = host
                        guard let join else { return body(&req) }
                        return join.apply(&req, body)
                    }
                }
            }
        }
    }
}
