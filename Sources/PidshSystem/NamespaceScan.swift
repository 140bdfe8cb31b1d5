import Glibc

/// Namespaces of any type in use, found as lsns finds them — each process's
/// /proc/PID/ns links — plus those kept alive only by a bind mount (an nsfs entry in
/// mountinfo) and, when asked, only by an open descriptor (/proc/PID/fd, which lsns
/// does not read).
public enum NamespaceScan {
    public struct Usage: Sendable {
        public let type: NamespaceType
        public let inode: UInt64
        /// Processes in it (pidsh's view), lowest PID first.
        public var pids: [Int32] = []
        /// Where it is bind-mounted (`ns pin`, `ip netns add`, `unshare --net=PATH`).
        public var mounts: [String] = []
        /// Processes that hold it only through an open descriptor: (PID, fd).
        public var descriptors: [(pid: Int32, fd: Int32)] = []
        public var id: String { "\(type.procName):[\(inode)]" }

        /// A handle of it: through a process in it, else through its bind mount.
        public func open() -> Namespace? {
            if let pid = pids.first, let ns = try? Namespace.of(pid: pid, type: type), ns.inode == inode { return ns }
            for path in mounts {
                let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0, let ns = try? Namespace(adopting: fd), ns.inode == inode { return ns }
            }
            return nil
        }
    }

    /// The inode in a link such as `net:[4026532008]`, when it is of `type`.
    static func inode(of link: String, type: NamespaceType) -> UInt64? {
        let prefix = type.procName + ":["
        guard link.hasPrefix(prefix), link.hasSuffix("]") else { return nil }
        return UInt64(link.dropFirst(prefix.count).dropLast())
    }

    static func processIDs() -> [Int32] {
        ProcDirectory.processIDs()
    }

    /// Every namespace of `types` in use.
    public static func scan(types: [NamespaceType], descriptors: Bool = false) -> [Usage] {
        var found: [String: Usage] = [:]
        func note(_ type: NamespaceType, _ inode: UInt64, _ change: (inout Usage) -> Void) {
            let key = "\(type.procName):\(inode)"
            var u = found[key] ?? Usage(type: type, inode: inode)
            change(&u)
            found[key] = u
        }
        for pid in processIDs() {
            for t in types {
                guard let link = ProcFiles.readLink("/proc/\(pid)/ns/\(t.procName)"),
                      let inode = inode(of: link, type: t) else { continue }
                note(t, inode) { $0.pids.append(pid) }
            }
        }
        for (type, inode, path) in boundMounts() where types.contains(type) {
            note(type, inode) { $0.mounts.append(path) }
        }
        if descriptors {
            for (pid, fd, type, inode) in heldDescriptors(types) {
                note(type, inode) { $0.descriptors.append((pid, fd)) }
            }
        }
        return found.values.sorted { ($0.type, $0.inode) < ($1.type, $1.inode) }
    }

    /// Processes in the namespace `ns` (its id in their /proc/PID/ns link).
    public static func members(of ns: Namespace) -> [Int32] {
        processIDs().filter { ProcFiles.readLink("/proc/\($0)/ns/\(ns.type.procName)") == ns.id }
    }

    /// nsfs bind mounts in pidsh's mount namespace: (type, inode, mount point).
    static func boundMounts() -> [(NamespaceType, UInt64, String)] {
        guard let text = ProcFiles.readString("/proc/self/mountinfo") else { return [] }
        var out: [(NamespaceType, UInt64, String)] = []
        for line in text.split(separator: "\n") {
            guard let dash = line.range(of: " - "), line[dash.upperBound...].hasPrefix("nsfs ") else { continue }
            let fields = line[..<dash.lowerBound].split(separator: " ")
            guard fields.count >= 5 else { continue }
            // The root field is the namespace's link text, e.g. `net:[4026532008]`.
            let root = String(fields[3])
            for t in NamespaceType.allCases {
                if let inode = inode(of: root, type: t) { out.append((t, inode, String(fields[4]))) }
            }
        }
        return out
    }

    /// Open descriptors of namespaces, in every process pidsh may read.
    static func heldDescriptors(_ types: [NamespaceType]) -> [(Int32, Int32, NamespaceType, UInt64)] {
        var out: [(Int32, Int32, NamespaceType, UInt64)] = []
        for pid in processIDs() {
            for name in FileIO.directoryEntries("/proc/\(pid)/fd") {
                guard let fd = Int32(name), let link = ProcFiles.readLink("/proc/\(pid)/fd/\(name)") else { continue }
                for t in types {
                    if let inode = inode(of: link, type: t) { out.append((pid, fd, t, inode)) }
                }
            }
        }
        return out
    }
}
