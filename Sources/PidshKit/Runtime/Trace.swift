import PidshSystem

/// `--trace`: each system call behind a command, printed to stderr as the C layer
/// recorded it (ids pass through the stable-id rewriter like every other output).
final class TraceWriter: Tracer {
    unowned let interpreter: Interpreter
    init(interpreter: Interpreter) { self.interpreter = interpreter }

    func trace(_ calls: [SystemCall], context: TraceContext, lost: Int) {
        for call in calls {
            for pid in call.hostPIDs { interpreter.ids.knowPid(pid) }
            if let inode = call.namespaceInode { interpreter.ids.knowInode(inode) }
            interpreter.err.write("+ " + call.line(context) + "\n")
        }
        if lost > 0 { interpreter.err.write("+ ... \(lost) more calls (not kept)\n") }
    }
}
