import PidshSystem

/// Minimal JSON writing (no Foundation): the schemas are in docs/json.md.
enum JSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
    static func number(_ n: Int) -> String { String(n) }
    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}

/// procps-like aligned columns: numbers right-aligned, text left, the last column free.
enum Columns {
    static func render(_ rows: [[String]], headers: [String], numeric: [Bool]) -> String {
        // A last column of text is not padded, so its width (the longest command line,
        // counted in characters) is not needed.
        let sized = headers.indices.filter { $0 < headers.count - 1 || numeric[$0] }
        var widths = headers.map { $0.count }
        for r in rows { for i in sized where i < r.count { widths[i] = max(widths[i], r[i].count) } }
        var out = ""
        var line = ""
        func add(_ cells: [String]) {
            line.removeAll(keepingCapacity: true)
            for (i, c) in cells.enumerated() {
                if i > 0 { line += " " }
                let pad = i == cells.count - 1 && !numeric[i] ? 0 : widths[i] - c.count
                if numeric[i] { line += String(repeating: " ", count: max(0, pad)) + c }
                else { line += c; if pad > 0 { line += String(repeating: " ", count: pad) } }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line
            out += "\n"
        }
        // As procps: when no column has a name (`ps -o pid=,comm=`), no header line.
        if !headers.allSatisfy({ $0.isEmpty }) { add(headers) }
        for r in rows { add(r) }
        return out
    }
}

/// `ps --tree`: children under parents, as a namespace numbers them.
enum ProcessTree {
    static func render(_ rows: [ProcView], fields: [String], viewLevel: Int, table: ProcTable,
                       rewrite: (String) -> String = { $0 }) -> String {
        var children: [Int32: [ProcView]] = [:]
        let visible = Set(rows.map { $0.pid })
        var roots: [ProcView] = []
        for r in rows {
            if r.ppid != 0, visible.contains(r.ppid) { children[r.ppid, default: []].append(r) } else { roots.append(r) }
        }
        let tail = fields.filter { $0 != "cmd" && $0 != "pid" }
        var out = "  PID  " + tail.map(InspectionBuiltins.header).map { $0 + "  " }.joined() + "COMMAND\n"
        func walk(_ r: ProcView, _ prefix: String, _ isLast: Bool, _ isRoot: Bool) {
            let branch = isRoot ? "" : (isLast ? "└─ " : "├─ ")
            let pid = rewrite(String(r.pid))
            let extra = tail.map { rewrite(InspectionBuiltins.cell($0, r, viewLevel: viewLevel, table: table)) + "  " }.joined()
            out += String(repeating: " ", count: max(0, 5 - pid.count)) + pid + "  " + extra + prefix + branch + InspectionBuiltins.commandText(r.entry) + "\n"
            let kids = children[r.pid] ?? []
            for (i, k) in kids.enumerated() {
                walk(k, prefix + (isRoot ? "" : (isLast ? "   " : "│  ")), i == kids.count - 1, false)
            }
        }
        for r in roots { walk(r, "", true, true) }
        return out
    }
}

/// `ns tree`: the namespace hierarchy with each namespace's members.
struct NamespaceTree {
    let table: ProcTable
    let names: Listings
    let infos: [ProcTable.NamespaceInfo]
    var children: [UInt64: [ProcTable.NamespaceInfo]] = [:]
    var roots: [ProcTable.NamespaceInfo] = []
    /// Where each host PID is in the table: a parent is found from its child's PPID
    /// (made once: per namespace, with 200 of them, it was 200 passes over every process).
    let index: [Int32: Int]

    init(table: ProcTable, names: Listings) {
        self.table = table
        self.names = names
        self.infos = table.namespaces()
        let known = Set(infos.map { $0.inode })
        index = table.hostPidIndex()
        for i in infos {
            if let p = i.parent, known.contains(p) { children[p, default: []].append(i) } else { roots.append(i) }
        }
    }

    /// The members of a namespace with their PIDs at its level (made when drawn, not
    /// kept for every namespace at once: with 20,000 members that is megabytes).
    func members(_ info: ProcTable.NamespaceInfo) -> [ProcView] {
        table.view(of: info.processes, fromNamespace: info.inode, level: info.level, index: index)
    }

    func initOf(_ info: ProcTable.NamespaceInfo) -> ProcView? {
        members(info).first { $0.pid == 1 }
    }

    /// The tree; each member as `PID  HOST-PID  USER  ["NAME"] COMMAND`, its PID in the
    /// namespace first and then in pidsh's view, the columns aligned per namespace.
    /// `rewrite` (--stable-ids) runs before the columns are sized.
    func text(rewrite: (String) -> String = { $0 }) -> String {
        var out = ""
        func walk(_ info: ProcTable.NamespaceInfo, _ prefix: String, _ isLast: Bool, _ isRoot: Bool) {
            let branch = isRoot ? "" : (isLast ? "└─ " : "├─ ")
            let inner = prefix + (isRoot ? "" : (isLast ? "   " : "│  "))
            let ms = members(info)
            let named = names.name(of: info).map { " \"\($0)\"" } ?? ""
            if info.level == 0 {
                out += rewrite(prefix + branch + "pid:[\(info.inode)]\(named) level 0 (pidsh's namespace): \(info.processes.count) process\(info.processes.count == 1 ? "" : "es")") + "\n"
            } else {
                let initText = ms.first { $0.pid == 1 }.map { "init \($0.entry.pid)" } ?? "no init"
                out += rewrite(prefix + branch + "pid:[\(info.inode)]\(named) level \(info.level), \(initText)") + "\n"
                appendMembers(ms, prefix: inner, lastBranch: (children[info.inode] ?? []).isEmpty, rewrite: rewrite, to: &out)
            }
            let kids = children[info.inode] ?? []
            for (i, k) in kids.enumerated() { walk(k, inner, i == kids.count - 1, false) }
        }
        for r in roots { walk(r, "", true, true) }
        return out
    }

    /// One namespace's members as aligned columns (no trailing blanks), each line after
    /// `prefix` and its branch; the last member's branch closes when `lastBranch`.
    /// Written straight into `out`: the command, the one long cell, is made once, when
    /// its line is (its width is not needed: it is the last column).
    func appendMembers(_ ms: [ProcView], prefix: String, lastBranch: Bool, rewrite: (String) -> String, to out: inout String) {
        let firsts = ms.map { m in (pid: rewrite(String(m.pid)), host: rewrite(String(m.entry.pid)), user: UserNames.name(of: m.entry.uid)) }
        var widths = (0, 0, 0)
        for c in firsts { widths = (max(widths.0, c.pid.count), max(widths.1, c.host.count), max(widths.2, c.user.count)) }
        for (i, (m, c)) in zip(ms, firsts).enumerated() {
            out += prefix
            out += i == ms.count - 1 && lastBranch ? "└─ " : "├─ "
            out += String(repeating: " ", count: widths.0 - c.pid.count) + c.pid + "  "
            out += String(repeating: " ", count: widths.1 - c.host.count) + c.host + "  "
            out += c.user.padding(to: widths.2) + "  "
            if let label = names.name(of: m.entry) { out += "\"" + label + "\" " }
            out += rewrite(InspectionBuiltins.commandText(m.entry))
            out += "\n"
        }
    }

    func json() -> String {
        func node(_ info: ProcTable.NamespaceInfo) -> String {
            let ms = info.level == 0 ? [] : members(info)
            return JSON.object([
                ("ns", JSON.string("pid:[\(info.inode)]")), ("inode", JSON.number(Int(info.inode))),
                ("level", JSON.number(info.level)),
                ("parent", info.parent.map { JSON.string("pid:[\($0)]") } ?? "null"),
                ("init", initOf(info).map { JSON.number(Int($0.entry.pid)) } ?? "null"),
                ("nprocs", JSON.number(info.processes.count)),
                ("label", names.name(of: info).map(JSON.string) ?? "null"),
                ("received", names.receivedJSON(of: info)),
                ("processes", JSON.array(ms.map { m in
                    JSON.object([("pid", JSON.number(Int(m.pid))), ("host_pid", JSON.number(Int(m.entry.pid))),
                                 ("name", JSON.string(m.entry.name)), ("cmd", JSON.array(m.entry.commandLine.map(JSON.string))),
                                 ("user", JSON.string(UserNames.name(of: m.entry.uid))),
                                 ("label", names.name(of: m.entry).map(JSON.string) ?? "null")])
                })),
                ("children", JSON.array((children[info.inode] ?? []).map(node))),
            ])
        }
        return JSON.array(roots.map(node))
    }

    func dot() -> String {
        var out = "digraph pid_namespaces {\n  node [shape=box, fontname=\"monospace\"];\n"
        for info in infos {
            var label = "pid:[\(info.inode)]\\nlevel \(info.level)"
            if info.level == 0 { label += "\\n\(info.processes.count) processes" }
            else { for m in members(info) { label += "\\n\(m.pid) \(Self.dotEscaped(m.entry.name))" } }
            out += "  ns\(info.inode) [label=\"\(label)\"];\n"
        }
        for info in infos { if let p = info.parent { out += "  ns\(p) -> ns\(info.inode);\n" } }
        return out + "}\n"
    }

    /// Text inside a dot string: `"` and `\` escaped (a process may name itself so).
    static func dotEscaped(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c == "\n" ? " " : c)
        }
        return out
    }
}
