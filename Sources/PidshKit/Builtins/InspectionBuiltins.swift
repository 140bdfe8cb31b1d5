import PidshSystem

/// Builtins that look: ps, pids, ns list, ns tree, ns id. All read the host /proc and
/// NSpid, so no procfs needs to be mounted for any namespace.
enum InspectionBuiltins {
    static let all: [BuiltinSpec] = [ps, pids, nsList, nsTree, nsId]

    static let psFields = ["pid", "ppid", "stat", "cmd", "name", "nspid", "pids", "level", "ns", "comm"]
        + NamespaceType.allCases.map { $0.psField }

    static let ps = BuiltinSpec(
        name: "ps", synopsis: "ps [--ns NS|PROCESS] [-C NAME] [-o FIELD[=HEADER],...] [-e] [--tree] [--mine] [-w] [--json]",
        summary: "Processes as seen from a namespace (default: pidsh's), with PIDs and PPIDs as that namespace numbers them.",
        options: [OptionSpec("--ns", "NS", "look from NS (a namespace or a process in one)"),
                  OptionSpec("-C", "NAME", "only processes named NAME"),
                  // reduce, not joined(separator:): this runs at every start-up, and the
                  // unspecialised joined costs a runtime conformance look-up (~0.4 ms).
                  OptionSpec("-o", "FIELD[=HEADER],...", "columns: " + psFields.dropFirst().reduce(psFields[0]) { $0 + " " + $1 }
                             + "; as procps: `comm` is the command name (COMMAND), FIELD=HEADER renames a column, `pid=` leaves it unnamed and when no column is named there is no header line; -o may be repeated"),
                  OptionSpec("-e", aliases: ["-A"], "every process of the view (the default; accepted as procps has it)"),
                  OptionSpec("--tree", "the process tree as seen from that namespace"),
                  OptionSpec("--mine", "only processes this pidsh session started, and their descendants"),
                  Listings.wideOption,
                  OptionSpec("--json", "a JSON array (docs/json.md)")],
        returns: "nothing (under `let`, the text)",
        examples: ["ps -C sleep -o pid,ppid,stat,cmd", "ps -o pid=,comm=", "ps --ns $child", "ps --ns $ns --tree", "ps --mine --json", "ps -w"],
        errors: ["unknown ps field (the note lists them)", "`-o` with no field (`ps -o ''`)", "NS is not pidsh's namespace or a descendant of it: pidsh cannot see its processes",
                 "unexpected argument: ps takes no positional arguments"]
    ) { call in
        let p = try call.parse()
        try NamespaceBuiltins.noPositionals(p, call.spec)
        let (inode, level, nsID) = try viewpoint(p.value("--ns"), at: p.valueIndex["--ns"], call: call)
        let columns = try psColumns(p)
        let fields = columns.map(\.field)
        let table = ProcTable.snapshot(psNeeds(p, fields: fields, inode: inode, level: level))
        var rows = table.view(fromNamespace: inode, level: level)
        if let name = p.value("-C").map(Printer.string) { rows = rows.filter { $0.entry.name == name } }
        if p.has("--mine") {
            let mine = table.sessionDescendants()
            rows = rows.filter { mine.contains($0.entry.pid) }
            if call.interpreter.ids.enabled {
                // A transcript's rows must not depend on where the PID counter stood.
                let order = CreationOrder.sorted(rows.map { $0.entry.pid })
                let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
                rows.sort { position[$0.entry.pid, default: 0] < position[$1.entry.pid, default: 0] }
            }
            // Their host PIDs are this session's own (grandchildren included): alias
            // them under --stable-ids like the PIDs of processes pidsh started.
            for r in rows { call.interpreter.ids.knowPid(r.entry.pid) }
        }
        if p.has("--json") {
            call.print(JSON.array(rows.map { psJSON($0, viewLevel: level, table: table) }))
        } else if p.has("--tree") {
            call.write(Listings.fitted(ProcessTree.render(rows, fields: p.value("-o") == nil ? ["pid", "cmd"] : fields, viewLevel: level, table: table,
                                                          rewrite: call.interpreter.ids.rewrite), to: call.io.out, wide: p.has("-w")))
        } else {
            // Cells go through --stable-ids before the columns are sized, so the padding
            // depends on the aliases, not on how many digits the host's PIDs have.
            let ids = call.interpreter.ids
            call.write(Listings.fitted(Columns.render(rows.map { row in fields.map { ids.rewrite(cell($0, row, viewLevel: level, table: table)) } },
                                                      headers: columns.map(\.header), numeric: fields.map { ["pid", "ppid", "nspid", "level"].contains($0) }),
                                       to: call.io.out, wide: p.has("-w")))
        }
        _ = nsID
        if level == 0 && !p.has("--json") { noteAdoptedOrphans(rows.map { $0.entry }, call: call) }
        return nil
    }

    /// What `ps` reads of each process: NSpid only for columns that show it (or a view
    /// below pidsh's level), command lines only when shown; with --mine every process
    /// (its descendants are found through processes the view may not show), else only
    /// those the namespace sees.
    static func psNeeds(_ p: BuiltinCall.Parsed, fields: [String], inode: UInt64, level: Int) -> ProcNeeds {
        let json = p.has("--json")
        var needs = ProcNeeds(pidsAtEveryLevel: json || fields.contains { ["nspid", "pids", "level"].contains($0) },
                              commandLines: fields.contains("cmd") || json || p.has("--tree"),
                              seenFrom: p.has("--mine") ? nil : (inode, level))
        // pidsh's own namespace, no column that says where a process is: every process
        // /proc lists is in the view, and its link need not be read.
        needs.placesInNamespaces = level > 0 || needs.pidsAtEveryLevel || p.has("--tree") || p.has("--mine")
            || fields.contains("ns")
        return needs
    }

    /// Where pidsh's subreaper role shows: processes it did not start whose parent is
    /// pidsh (orphans of its programs come to it, not to PID 1 as orphan.c shows).
    static func noteAdoptedOrphans(_ entries: [ProcEntry], call: BuiltinCall) {
        guard call.session.isSubreaper else { return }
        let me = FileIO.processID
        let started = Set(call.session.children.map { $0.pid })
        let adopted = entries.filter { $0.ppid == me && !started.contains($0.pid) && $0.pid != Session.janitorPID }
        guard !adopted.isEmpty else { return }
        call.warn("note: pidsh (PID \(me)) is the parent of \(adopted.map { String($0.pid) }.joined(separator: ", ")), which it did not start: pidsh is a child subreaper, so orphans of its programs come to it instead of to PID 1 (`pidsh --no-subreaper` for the kernel's default)")
    }

    /// The columns `-o` asks for (every `-o`, in order), as procps reads them:
    /// FIELD[=HEADER],... where FIELD is case-insensitive and `=` renames the column
    /// (an empty name leaves it unnamed). Default: pid ppid stat cmd.
    static func psColumns(_ p: BuiltinCall.Parsed) throws -> [(field: String, header: String)] {
        let given = p.allValues["-o"] ?? []
        guard !given.isEmpty else { return ["pid", "ppid", "stat", "cmd"].map { ($0, header($0)) } }
        var columns: [(field: String, header: String)] = []
        for (value, index) in given {
            let items = Printer.string(value).split(separator: ",", omittingEmptySubsequences: false)
            if items.allSatisfy({ String($0).trimmingSpaces().isEmpty }) {
                throw BuiltinError("-o needs at least one field", notes: ["fields: " + psFields.joined(separator: " ")], argument: index)
            }
            for item in items where !String(item).trimmingSpaces().isEmpty {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let field = String(parts[0]).trimmingSpaces().lowercased()
                guard psFields.contains(field) else {
                    var notes: [String] = []
                    if let s = Suggest.closest(to: field, among: psFields) { notes.append("did you mean \(s)?") }
                    notes.append("fields: " + psFields.joined(separator: " "))
                    throw BuiltinError("unknown ps field `\(field)`", notes: notes, argument: index)
                }
                columns.append((field, parts.count > 1 ? String(parts[1]) : header(field)))
            }
        }
        return columns
    }

    /// The namespace to look from: (inode, level below pidsh's, id).
    static func viewpoint(_ v: Value?, at index: Int?, call: BuiltinCall) throws -> (UInt64, Int, String) {
        guard let v else { return (Namespace.ownInode, 0, "pid:[\(Namespace.ownInode)]") }
        let ns = try call.namespace(v, argument: index)
        guard let level = ns.level else {
            throw BuiltinError("\(ns.id) is not pidsh's namespace or a descendant of it: pidsh cannot see its processes", argument: index)
        }
        return (ns.inode, level, ns.id)
    }

    static func header(_ f: String) -> String {
        if NamespaceType.allCases.contains(where: { $0.psField == f }) { return f.uppercased() }
        switch f {
        case "stat": return "STAT"
        case "name": return "NAME"
        case "comm": return "COMMAND"   // as procps
        default: return f.uppercased()
        }
    }

    static func cell(_ f: String, _ row: ProcView, viewLevel: Int, table: ProcTable) -> String {
        switch f {
        case "pid": return String(row.pid)
        case "ppid": return String(row.ppid)
        case "stat": return row.entry.state
        case "cmd": return commandText(row.entry)
        case "name", "comm": return row.entry.name
        case "nspid": return String(row.entry.nspid.last ?? row.pid)
        case "pids": return row.pids.map(String.init).joined(separator: " ")
        case "level": return String(row.entry.level)
        case "ns": return "pid:[\(row.entry.nsInode)]"
        default:
            // pidns, mntns, netns...: the namespace's inode, as procps prints it.
            guard let t = NamespaceType.allCases.first(where: { $0.psField == f }) else { return "" }
            let link = ProcFiles.readLink("/proc/\(row.entry.pid)/ns/\(t.procName)") ?? ""
            return link.split(separator: "[").last.map { String($0.dropLast()) } ?? "-"
        }
    }

    static func commandText(_ e: ProcEntry) -> String {
        guard !e.commandLine.isEmpty else { return "[\(e.name)]" }
        // As procps: a control character (a newline in `sh -c` text) shows as `?`, so
        // every process stays on one line of the table. Control characters are ASCII,
        // and in UTF-8 an ASCII byte is always a whole character: replacing bytes is
        // replacing characters, and most command lines have none to replace.
        let joined = e.commandLine.count == 1 ? e.commandLine[0] : e.commandLine.joined(separator: " ")
        guard joined.utf8.contains(where: isControl) else { return joined }
        return String(decoding: joined.utf8.map { isControl($0) ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }

    private static func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7f }

    static func psJSON(_ row: ProcView, viewLevel: Int, table: ProcTable) -> String {
        JSON.object([
            ("pid", JSON.number(Int(row.pid))), ("ppid", JSON.number(Int(row.ppid))),
            ("stat", JSON.string(row.entry.state)), ("name", JSON.string(row.entry.name)),
            ("cmd", JSON.array(row.entry.commandLine.map(JSON.string))),
            ("nspid", JSON.number(Int(row.entry.nspid.last ?? row.pid))),
            ("pids", JSON.array(row.pids.map { JSON.number(Int($0)) })),
            ("level", JSON.number(row.entry.level)), ("ns", JSON.string("pid:[\(row.entry.nsInode)]")),
        ])
    }

    static let pids = BuiltinSpec(
        name: "pids", synopsis: "pids PROCESS [--json]",
        summary: "A process's PID at every level, outermost first, on one line (as NSpid).",
        options: [OptionSpec("--json", "a JSON array of numbers")],
        returns: "list of integers",
        examples: ["pids $child   # 27656 1", "pids $$", "pids $child --json"],
        errors: ["ESRCH: no such process", "the process has ended", "pids needs one process"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("pids needs one process") }
        let proc = try call.process(p.positionals[0].0, argument: p.positionals[0].1)
        let list = proc.pids
        guard !list.isEmpty else { throw BuiltinError("process \(proc.pid) has ended", argument: p.positionals[0].1) }
        if p.has("--json") { call.print(JSON.array(list.map { JSON.number(Int($0)) })) }
        else { call.print(list.map(String.init).joined(separator: " ")) }
        call.printedItsValue = true
        return .list(list.map { .integer(Int($0)) })
    }

    static let nsList = BuiltinSpec(
        name: "ns list", synopsis: "ns list [--type T|all] [--fds] [--mine] [-w] [--json]",
        summary: "Namespaces on the system, as `lsns -t pid` (`lsns -t TYPE` with --type): id, type, processes, first PID and its user and command. For PID namespaces (the default) also level, parent and the name given with --name; for other types (--type) also those held only by a bind mount, and with --fds only by an open descriptor.",
        options: [OptionSpec("--type", "T", "the type: pid (default), mnt, uts, ipc, net, user, cgroup, time, or all"),
                  OptionSpec("--fds", "also namespaces held only by an open descriptor (scans /proc/*/fd, which lsns does not)"),
                  OptionSpec("--mine", "only pidsh's own namespaces and those of the processes this session started, counting only pidsh and its descendants"),
                  Listings.wideOption,
                  OptionSpec("--json", "a JSON array (docs/json.md)")],
        returns: "nothing (under `let`, the text)",
        examples: ["ns list", "ns list --mine", "ns list --json", "ns list --type net", "ns list --type all --fds"]
    ) { call in
        let p = try call.parse()
        try NamespaceBuiltins.noPositionals(p, call.spec)
        if let t = p.value("--type").map(Printer.string), t != "pid" || p.has("--fds") {
            do {
                let types = try NamespaceType.list(t)
                NamespaceListings.list(types: types, descriptors: p.has("--fds"), mine: p.has("--mine") ? minePids(call) : nil,
                                       json: p.has("--json"), wide: p.has("-w"), call: call)
            } catch let e as UsageError {
                throw BuiltinError(e.description, argument: p.valueIndex["--type"])
            }
            return nil
        }
        // One row per namespace: only its lowest PID's status and command line are shown.
        let table = mine(p, call, reading: ProcNeeds(details: .firstOfEachNamespace))
        let infos = table.namespaces()
        let names = Listings(session: call.session)
        if p.has("--json") {
            call.print(JSON.array(infos.map { info in
                let first = info.processes.first
                return JSON.object([
                    ("ns", JSON.string("pid:[\(info.inode)]")), ("inode", JSON.number(Int(info.inode))),
                    ("nprocs", JSON.number(info.processes.count)),
                    ("pid", first.map { JSON.number(Int($0.pid)) } ?? "null"),
                    ("user", first.map { JSON.string(UserNames.name(of: $0.uid)) } ?? "null"),
                    ("command", first.map { JSON.string(commandText($0)) } ?? "null"),
                    ("level", JSON.number(info.level)),
                    ("parent", info.parent.map { JSON.string("pid:[\($0)]") } ?? "null"),
                    ("label", names.name(of: info).map(JSON.string) ?? "null"),
                    ("received", names.receivedJSON(of: info)),
                ])
            }))
        } else {
            let rows = infos.map { info -> [String] in
                let first = info.processes.first
                return [String(info.inode), "pid", String(info.processes.count), first.map { String($0.pid) } ?? "-",
                        first.map { UserNames.name(of: $0.uid) } ?? "-",
                        String(info.level), info.parent.map { String($0) } ?? "-", names.name(of: info) ?? "-", first.map(commandText) ?? "-"]
                    .map(call.interpreter.ids.rewrite)   // aliases before sizing, as in ps
            }
            call.write(Listings.fitted(Columns.render(rows, headers: ["NS", "TYPE", "NPROCS", "PID", "USER", "LEVEL", "PARENT", "NAME", "COMMAND"],
                                                      numeric: [true, false, true, true, false, true, true, false, false]),
                                       to: call.io.out, wide: p.has("-w")))
        }
        return nil
    }

    static let nsTree = BuiltinSpec(
        name: "ns tree", synopsis: "ns tree [--type user] [--mine] [-w] [--json | --dot]",
        summary: "The PID namespace hierarchy drawn as a tree: each namespace with its level, id, name and init, and its member processes, each with its PID at that level, its PID in pidsh's view, its user, name and command. With --type user, the user namespaces' tree and the namespaces each owns.",
        options: [OptionSpec("--type", "T", "pid (default), or user: the ownership tree"),
                  OptionSpec("--mine", "only pidsh and the processes this session started (and their descendants)"),
                  Listings.wideOption,
                  OptionSpec("--json", "nested JSON (docs/json.md)"), OptionSpec("--dot", "Graphviz dot")],
        returns: "nothing (under `let`, the text)",
        examples: ["ns tree", "ns tree --json", "ns tree --dot | dot -Tpng > tree.png", "ns tree --type user"]
    ) { call in
        let p = try call.parse()
        try NamespaceBuiltins.noPositionals(p, call.spec)
        if let t = p.value("--type").map(Printer.string), t != "pid" {
            guard t == "user" else {
                throw BuiltinError("ns tree draws PID namespaces (they nest) or user namespaces (they nest and own the others): not `\(t)`", argument: p.valueIndex["--type"])
            }
            call.write(NamespaceListings.userTree(mine: p.has("--mine") ? minePids(call) : nil, call: call))
            return nil
        }
        // pidsh's own namespace is drawn as a count: its members are only located.
        var needs = ProcNeeds(pidsAtEveryLevel: false, ownPidsAndUids: true, details: .belowOwnNamespace)
        needs.names = p.has("--json") || p.has("--dot")   // the text shows command lines
        let table = mine(p, call, reading: needs)
        let tree = NamespaceTree(table: table, names: Listings(session: call.session))
        if p.has("--json") { call.print(tree.json()) }
        else if p.has("--dot") { call.write(tree.dot()) }
        else { call.write(Listings.fitted(tree.text(rewrite: call.interpreter.ids.rewrite), to: call.io.out, wide: p.has("-w"))) }
        return nil
    }

    /// With `--mine`: only pidsh and its descendants (whose host PIDs are then this
    /// session's own, aliased under --stable-ids), so the listing is about this session
    /// and reproducible; without it, the whole table.
    /// Without --mine, what `needs` reads; with it every process (pidsh's descendants are
    /// found through every process's parent).
    static func mine(_ p: BuiltinCall.Parsed, _ call: BuiltinCall, reading needs: ProcNeeds) -> ProcTable {
        guard p.has("--mine") else { return ProcTable.snapshot(needs) }
        let table = ProcTable.snapshot(commandLines: true)
        return table.restricted(to: minePids(call, table: table), inCreationOrder: call.interpreter.ids.enabled)
    }

    /// pidsh and its descendants (known to --stable-ids from here on).
    static func minePids(_ call: BuiltinCall, table: ProcTable = ProcTable.snapshot()) -> Set<Int32> {
        let keep = table.sessionDescendants().union([FileIO.processID])
        for pid in keep.sorted() { call.interpreter.ids.knowPid(pid) }
        return keep
    }

    static let nsId = BuiltinSpec(
        name: "ns id", synopsis: "ns id NS|PROCESS|PID [--type T]",
        summary: "The namespace's id, `pid:[inode]` (or `net:[inode]`... with --type), as readlink /proc/PID/ns/TYPE shows it.",
        options: [OptionSpec("--type", "T", "the process's namespace of this type (pid mnt uts ipc net user cgroup time)")],
        returns: "string",
        examples: ["ns id $child", "ns id $$", "ns id $ns", "ns id $$ --type net"],
        errors: ["ESRCH: no such process in pidsh's PID namespace (it has ended, or lives outside it)", "EACCES: the process belongs to another user namespace", "expected a namespace, a process or a PID", "unknown namespace type"]
    ) { call in
        let p = try call.parse()
        guard p.positionals.count == 1 else { throw BuiltinError("ns id needs one namespace, process or PID") }
        var ns = try call.namespace(p.positionals[0].0, argument: p.positionals[0].1)
        if let v = p.value("--type") {
            guard let t = NamespaceType(name: Printer.string(v)) else {
                throw BuiltinError("unknown namespace type `\(Printer.string(v))` (types: \(NamespaceType.allCases.map { $0.rawValue }.joined(separator: " ")))", argument: p.valueIndex["--type"])
            }
            if t != ns.type {
                let proc = try call.memberProcess(p.positionals[0].0, argument: p.positionals[0].1)
                do { ns = try Namespace.of(pid: proc.pid, type: t) } catch let e as SystemError { throw BuiltinError("\(e)", argument: p.positionals[0].1) }
            }
        }
        call.print(ns.id)
        call.printedItsValue = true
        return .string(ns.id)
    }
}
