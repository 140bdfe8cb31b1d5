/// The kernel's namespace types, with the names /proc/PID/ns, lsns and util-linux
/// unshare use, and their clone flags.
public enum NamespaceType: String, CaseIterable, Sendable, Comparable {
    // The order setns(2) through a pidfd applies them: user first (it may give the
    // privilege the others need), then the rest.
    case user, mnt, pid, uts, ipc, net, cgroup, time

    /// The clone/unshare/setns flag (CLONE_NEWNS for mnt).
    public var cloneFlag: UInt64 {
        switch self {
        case .pid: return 0x2000_0000
        case .mnt: return 0x0002_0000
        case .uts: return 0x0400_0000
        case .ipc: return 0x0800_0000
        case .net: return 0x4000_0000
        case .user: return 0x1000_0000
        case .cgroup: return 0x0200_0000
        case .time: return 0x0000_0080
        }
    }

    /// The entry in /proc/PID/ns (also the type word of a namespace's id: `net:[...]`).
    public var procName: String { self == .mnt ? "mnt" : rawValue }

    /// Accepts lsns's and util-linux's spellings: `mnt`/`mount`, `net`/`network`...
    public init?(name: String) {
        switch name.lowercased() {
        case "pid": self = .pid
        case "mnt", "mount", "ns": self = .mnt
        case "uts": self = .uts
        case "ipc": self = .ipc
        case "net", "network": self = .net
        case "user": self = .user
        case "cgroup": self = .cgroup
        case "time": self = .time
        default: return nil
        }
    }

    /// The type NS_GET_NSTYPE reports (a CLONE_NEW* flag).
    public init?(cloneFlag: UInt64) {
        guard let t = Self.allCases.first(where: { $0.cloneFlag == cloneFlag }) else { return nil }
        self = t
    }

    /// The `ps -o` column, as procps names it (pidns, mntns, netns...).
    public var psField: String { procName + "ns" }

    /// Whether namespaces of this type nest (NS_GET_PARENT): pid and user.
    public var isHierarchical: Bool { self == .pid || self == .user }

    /// `TYPES`: a comma list of names, or `all`. Throws a UsageError naming a bad one.
    public static func list(_ text: String) throws -> [NamespaceType] {
        if text == "all" { return allCases }
        var out: [NamespaceType] = []
        for word in text.split(separator: ",") {
            guard let t = NamespaceType(name: String(word)) else {
                throw UsageError("unknown namespace type `\(word)` (types: \(allCases.map { $0.rawValue }.joined(separator: " ")), or all)")
            }
            if !out.contains(t) { out.append(t) }
        }
        return out.sorted()
    }

    public static func < (a: NamespaceType, b: NamespaceType) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public static func flags(_ types: [NamespaceType]) -> UInt64 { types.reduce(0) { $0 | $1.cloneFlag } }
}
