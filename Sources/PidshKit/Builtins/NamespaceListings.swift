import PidshSystem

/// `ns list --type T|all` (as lsns), `ns tree --type user` (the ownership tree) and
/// `ns pin`: namespaces of every type.
enum NamespaceListings {
    /// lsns's columns: NS TYPE NPROCS PID USER COMMAND, then NAME and what else holds
    /// one (a bind mount, an open descriptor).
    /// With `mine` (--mine): only the namespaces those processes are in, counting only
    /// them (so the listing is this session's, and --stable-ids knows every inode in it).
    static func list(types: [NamespaceType], descriptors: Bool, mine: Set<Int32>?, json: Bool, wide: Bool, call: BuiltinCall) {
        let usages = only(mine, NamespaceScan.scan(types: types, descriptors: descriptors), call: call)
        let named = call.session.namesByID
        let table = ProcTable.snapshot(commandLines: true)
        let byPid = Dictionary(table.entries.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        if json {
            call.print(JSON.array(usages.map { u in
                let first = u.pids.first.flatMap { byPid[$0] }
                return JSON.object([
                    ("ns", JSON.string(u.id)), ("type", JSON.string(u.type.rawValue)), ("inode", JSON.number(Int(u.inode))),
                    ("nprocs", JSON.number(u.pids.count)),
                    ("pid", first.map { JSON.number(Int($0.pid)) } ?? "null"),
                    ("user", first.map { JSON.string(UserNames.name(of: $0.uid)) } ?? "null"),
                    ("command", first.map { JSON.string(InspectionBuiltins.commandText($0)) } ?? "null"),
                    ("label", named[u.id].map(JSON.string) ?? "null"),
                    ("mounts", JSON.array(u.mounts.map(JSON.string))),
                    ("fds", JSON.array(u.descriptors.map { JSON.string("\($0.pid):\($0.fd)") })),
                ])
            }))
            return
        }
        let rows = usages.map { u -> [String] in
            let first = u.pids.first.flatMap { byPid[$0] }
            var held: [String] = u.mounts.map { "mounted at \($0)" }
            if !u.descriptors.isEmpty { held.append("fd " + u.descriptors.map { "\($0.fd) of \($0.pid)" }.joined(separator: ", ")) }
            let command = first.map(InspectionBuiltins.commandText) ?? (held.isEmpty ? "-" : "(" + held.joined(separator: "; ") + ")")
            return [String(u.inode), u.type.rawValue, String(u.pids.count), first.map { String($0.pid) } ?? "-",
                    first.map { UserNames.name(of: $0.uid) } ?? "-", named[u.id] ?? "-", command].map(call.interpreter.ids.rewrite)
        }
        call.write(Listings.fitted(Columns.render(rows, headers: ["NS", "TYPE", "NPROCS", "PID", "USER", "NAME", "COMMAND"],
                                                  numeric: [true, false, true, true, false, false, false]),
                                   to: call.io.out, wide: wide))
    }

    /// With --mine, the namespaces those processes use, counting only them; --stable-ids
    /// knows each of them from here on (they are this session's).
    static func only(_ mine: Set<Int32>?, _ usages: [NamespaceScan.Usage], call: BuiltinCall) -> [NamespaceScan.Usage] {
        guard let mine else { return usages }
        return usages.compactMap { u in
            var kept = u
            kept.pids = u.pids.filter { mine.contains($0) }
            kept.descriptors = u.descriptors.filter { mine.contains($0.pid) }
            guard !kept.pids.isEmpty || !kept.descriptors.isEmpty else { return nil }
            call.interpreter.ids.knowInode(u.inode)
            return kept
        }
    }

    /// The user namespaces as a tree (NS_GET_PARENT), each with the namespaces it owns
    /// (NS_GET_USERNS) in use by a process or a bind mount.
    static func userTree(mine: Set<Int32>?, call: BuiltinCall) -> String {
        let usages = only(mine, NamespaceScan.scan(types: NamespaceType.allCases), call: call)
        var owned: [UInt64: [NamespaceScan.Usage]] = [:]
        var parentOf: [UInt64: UInt64] = [:]
        var users: Set<UInt64> = []
        for u in usages {
            guard let ns = u.open() else { continue }
            if u.type == .user {
                users.insert(u.inode)
                if let parent = try? ns.parent() { parentOf[u.inode] = parent.inode }
            } else if let owner = try? ns.owner() {
                owned[owner.inode, default: []].append(u)
            }
        }
        let roots = users.filter { parentOf[$0] == nil || !users.contains(parentOf[$0]!) }.sorted()
        var out = ""
        func draw(_ inode: UInt64, _ prefix: String, _ isLast: Bool, _ isRoot: Bool) {
            let branch = isRoot ? "" : (isLast ? "└─ " : "├─ ")
            out += prefix + branch + "user:[\(inode)]\n"
            let childPrefix = isRoot ? "" : prefix + (isLast ? "   " : "│  ")
            let things = (owned[inode] ?? []).sorted { ($0.type, $0.inode) < ($1.type, $1.inode) }
            let children = users.filter { parentOf[$0] == inode }.sorted()
            for (i, u) in things.enumerated() {
                let last = i == things.count - 1 && children.isEmpty
                out += childPrefix + (last ? "└─ " : "├─ ") + "\(u.id) (\(u.pids.count) process\(u.pids.count == 1 ? "" : "es"))\n"
            }
            for (i, c) in children.enumerated() { draw(c, childPrefix, i == children.count - 1, false) }
        }
        for r in roots { draw(r, "", true, true) }
        return call.interpreter.ids.rewrite(out)
    }
}
