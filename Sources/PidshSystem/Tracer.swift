/// `--trace`: the system calls behind each command, in the order made. The Session
/// reports what it did; the interpreter decides how to print (and alias ids).
public protocol Tracer: AnyObject {
    func call(_ line: String)
    func spawned(_ options: SpawnOptions, process: ProcessHandle)
    func failed(_ options: SpawnOptions, error: Error)
    func nested(levels: Int, processes: [ProcessHandle])
}
