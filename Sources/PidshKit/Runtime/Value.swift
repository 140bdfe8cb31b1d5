import PidshSystem

/// The values of the language. Processes and namespaces are handles on the kernel's
/// objects: their fields are read when asked.
public enum Value {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case list([Value])
    case range(Int, Int)
    case process(ProcessHandle)
    case namespace(Namespace)
    case status(ExitStatus)
    case none

    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .boolean: return "boolean"
        case .list: return "list"
        case .range: return "range"
        case .process: return "process"
        case .namespace: return "namespace"
        case .status: return "status"
        case .none: return "nothing"
        }
    }

    /// The elements of a list or range (a single value iterates as itself).
    public var elements: [Value] {
        switch self {
        case .list(let items): return items
        case .range(let a, let b): return a <= b ? (a...b).map { .integer($0) } : []
        default: return [self]
        }
    }

    /// Truth for `if`/`while`/`expect`: false, 0, "", empty list and a failed status are false.
    public var isTrue: Bool {
        switch self {
        case .boolean(let b): return b
        case .integer(let n): return n != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .range(let a, let b): return a <= b
        case .status(let s): return s.succeeded
        case .process(let p): return p.isRunning
        case .namespace(let n): return n.alive
        case .none: return false
        }
    }
}

/// The names of each value kind's fields, in the order values print them.
public enum Fields {
    public static let process = ["pid", "nspid", "pids", "ppid", "nsppid", "ns", "name", "status"]
    public static let namespace = ["id", "inode", "level", "parent", "init", "alive", "received"]
    public static let status = ["code", "signal", "exited"]
    public static let list = ["length", "first", "last"]

    public static func names(for v: Value) -> [String] {
        switch v {
        case .process: return process
        case .namespace: return namespace
        case .status: return status
        case .list, .range: return list
        default: return []
        }
    }
}
