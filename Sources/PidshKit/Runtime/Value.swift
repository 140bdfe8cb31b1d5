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

    /// The elements of a list, or a single value as itself. A range is built element by
    /// element: callers count it first (`rangeLength`) and refuse one past
    /// `Limits.listElements` (`0..9999999999` would be ten billion values).
    public var elements: [Value] {
        switch self {
        case .list(let items): return items
        case .range(let a, let b): return a <= b ? (a...b).map { .integer($0) } : []
        default: return [self]
        }
    }

    /// How many integers `a..b` holds; nil when that does not fit an integer
    /// (`0..9223372036854775807` holds 2^63).
    public static func rangeLength(_ a: Int, _ b: Int) -> Int? {
        guard a <= b else { return 0 }
        let (span, overflow) = b.subtractingReportingOverflow(a)
        if overflow || span == Int.max { return nil }
        return span + 1
    }

    /// How deeply lists nest in this value (a non-list: 0), counted no further than
    /// `limit + 1`: enough to refuse a list past the limit without walking it all.
    func listDepth(limit: Int) -> Int {
        guard case .list(let items) = self else { return 0 }
        guard limit >= 0 else { return 1 }
        var deepest = 0
        for item in items {
            if case .list = item { deepest = max(deepest, item.listDepth(limit: limit - 1)) }
            if deepest > limit { break }
        }
        return deepest + 1
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
    public static let namespace = ["id", "inode", "level", "parent", "init", "alive", "type", "owner", "received"]
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
