import PidshSystem

/// `--trace`: each system call behind a command, printed to stderr as it is made
/// (ids pass through the stable-id rewriter like every other output).
final class TraceWriter: Tracer {
    unowned let interpreter: Interpreter
    init(interpreter: Interpreter) { self.interpreter = interpreter }

    func emit(_ s: String) { interpreter.err.write("+ " + s + "\n") }

    func call(_ line: String) { emit(line) }

    func spawned(_ o: SpawnOptions, process: ProcessHandle) {
        for line in describe(o) { emit(line) }
        // Rootless in the host's namespace a join is made by a helper process (pidsh
        // could not come back), which clones on pidsh's behalf.
        let byHelper = o.joinNamespace != nil && SessionSetup.childrenNamespaceIsFixed
        var flags = ["CLONE_PIDFD"]
        if byHelper { flags.insert("CLONE_PARENT", at: 0) }
        if o.newPIDNamespace { flags.insert("CLONE_NEWPID", at: 0) }
        if o.remountProc { flags.insert("CLONE_NEWNS", at: 0) }
        emit("clone3(\(flags.joined(separator: "|"))) = \(process.pid)\(byHelper ? "   # in the helper" : "")")
        if o.joinNamespace != nil && !byHelper { emit("setns(pid_for_children, CLONE_NEWPID) = 0   # back") }
        if o.path != nil { emit("execve(\(o.path!), [\(o.arguments.map { "\"\($0)\"" }.joined(separator: ", "))]) in child \(process.pid)") }
        else { emit("pidsh-init loop in child \(process.pid) (PID \(process.nspid) inside)") }
    }

    func failed(_ o: SpawnOptions, error: Error) {
        for line in describe(o) { emit(line) }
        emit("clone3/exec failed: \((error as? SystemError).map { $0.operation + ": " + $0.errnoName } ?? "\(error)")")
    }

    func nested(levels: Int, processes: [ProcessHandle]) {
        for (i, p) in processes.enumerated() {
            emit("clone3(CLONE_NEWPID|CLONE_PIDFD) level \(levels - 1 - i) = \(p.pid)")
        }
    }

    func describe(_ o: SpawnOptions) -> [String] {
        var lines: [String] = []
        if let ns = o.joinNamespace {
            if SessionSetup.childrenNamespaceIsFixed { lines.append("fork() = helper   # rootless in the host's namespace: it joins, pidsh stays") }
            lines.append("setns(\(ns.id), CLONE_NEWPID) = 0\(SessionSetup.childrenNamespaceIsFixed ? "   # in the helper" : "")")
        }
        if o.procMountDirFD >= 0 { lines.append("fsopen(\"proc\") + fsmount + move_mount in the child (its own namespace's procfs)") }
        if o.remountProc { lines.append("mount(\"/\", MS_REC|MS_PRIVATE) + mount(\"proc\", \"/proc\") in the child") }
        return lines
    }
}
