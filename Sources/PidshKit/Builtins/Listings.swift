import PidshSystem

/// What `ps`, `ns list` and `ns tree` share: the names given with `--name`, user names,
/// and lines cut to a terminal's width (as ps and lsns do) unless `-w`.
struct Listings {
    /// `ns new --name N` by namespace inode; `spawn --name N` by host PID.
    let namespaceNames: [UInt64: String]
    let processNames: [Int32: String]
    /// pidsh's inits that pidsh can ask what they received, by host PID.
    let inits: [Int32: ProcessHandle]

    init(session: Session) {
        var ns: [UInt64: String] = [:]
        for n in session.namespaces { if let name = n.name { ns[n.inode] = name } }
        var procs: [Int32: String] = [:]
        for p in session.children { if let label = p.label { procs[p.pid] = label } }
        namespaceNames = ns
        processNames = procs
        var inits: [Int32: ProcessHandle] = [:]
        for p in session.children where p.initChannel != nil && p.isRunning { inits[p.pid] = p }
        self.inits = inits
    }

    /// The JSON key `received`: what pidsh's init of the namespace caught (an array of
    /// objects, as `signals received --json`), or null when its PID 1 is not pidsh's.
    func receivedJSON(of info: ProcTable.NamespaceInfo) -> String {
        guard info.level > 0, let first = info.processes.first, first.ownPid == 1, let initProcess = inits[first.pid],
              let (list, _) = try? initProcess.initChannel!.received(recorder: nil, initPID: initProcess.pid) else { return "null" }
        return JSON.array(list.map(ReceivedText.json))
    }

    /// A namespace's name: its own (`ns new --name`), else its PID 1's (`spawn
    /// --newpid --name`).
    func name(of info: ProcTable.NamespaceInfo) -> String? {
        if let own = namespaceNames[info.inode] { return own }
        guard info.level > 0, let first = info.processes.first, first.ownPid == 1 else { return nil }
        return processNames[first.pid]
    }

    func name(of entry: ProcEntry) -> String? { processNames[entry.pid] }

    /// `-w`, the option every listing takes.
    static let wideOption = OptionSpec("-w", aliases: ["--wide"], "do not cut lines to the terminal's width (only a terminal's output is cut)")

    /// Cuts each line to the width of the terminal the output goes to, unless `wide`
    /// or the output is not a terminal (a pipe, a file, `let`).
    static func fitted(_ text: String, to out: OutputSink, wide: Bool) -> String {
        guard !wide, let fd = out.descriptor, let width = Terminal.columns(of: fd) else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.count > width ? line.prefix(width) : line
        }
        if lines.last == "" { lines.removeLast(); return lines.joined(separator: "\n") + "\n" }
        return lines.joined(separator: "\n")
    }
}
