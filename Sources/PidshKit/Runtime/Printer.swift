import PidshSystem

/// How values become text: `string` for interpolation and arguments (a process is its
/// PID, a namespace its id), `show` for the readable, fixed-order form.
public enum Printer {
    public static func string(_ v: Value) -> String {
        switch v {
        case .string(let s): return s
        case .integer(let n): return String(n)
        case .boolean(let b): return b ? "true" : "false"
        case .list(let items): return items.map(string).joined(separator: " ")
        case .range(let a, let b): return "\(a)..\(b)"
        case .process(let p): return String(p.pid)
        case .namespace(let ns): return ns.id
        case .status(let s): return String(s.shellCode)
        case .none: return ""
        }
    }

    /// The readable form, fields in the one fixed order of `Fields`.
    public static func show(_ v: Value) -> String {
        switch v {
        case .process(let p):
            p.poll()
            let status = p.exitStatus.map { $0.description } ?? (p.isRunning ? "running" : "ended")
            let ns = (try? p.namespace()).map { $0.id } ?? "-"
            let name = p.label ?? p.name
            return "process pid=\(p.pid) nspid=\(p.nspid) pids=[\(p.pids.map(String.init).joined(separator: " "))] ppid=\(p.ppid) nsppid=\(p.nsppid) ns=\(ns) name=\(name) status=\(status)"
        case .namespace(let ns) where ns.type != .pid:
            let owner = (try? ns.owner())??.id ?? "-"
            let holder = ns.findInit().map { " member=\($0.pid)" } ?? ""
            let named = ns.name.map { " name=\($0)" } ?? ""
            return "namespace id=\(ns.id) type=\(ns.type.rawValue) owner=\(owner)\(holder) alive=\(ns.alive)\(named)"
        case .namespace(let ns):
            let level = ns.level.map(String.init) ?? "?"
            let parent = (try? ns.parent())??.id ?? "-"
            let initPid = ns.findInit().map { String($0.pid) } ?? "-"
            let named = ns.name.map { " name=\($0)" } ?? ""
            return "namespace id=\(ns.id) level=\(level) parent=\(parent) init=\(initPid) alive=\(ns.alive)\(named)"
        case .status(let s):
            return "status \(s) (code \(s.shellCode))"
        case .list(let items):
            return "[" + items.map(showShort).joined(separator: ", ") + "]"
        case .range(let a, let b):
            return "\(a)..\(b)"
        case .string(let s):
            return s
        default:
            return string(v)
        }
    }

    static func showShort(_ v: Value) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .process(let p): return "process \(p.pid)"
        case .list: return show(v)   // a nested list keeps its brackets
        default: return string(v)
        }
    }

    /// A short description for error messages: `"abc" (string)`.
    public static func describe(_ v: Value) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .none: return "nothing"
        default: return "\(string(v)) (\(v.typeName))"
        }
    }

    public static func integer(_ v: Value) -> Int? {
        switch v {
        case .integer(let n): return n
        case .string(let s): return Int(s.trimmingSpaces())
        case .boolean(let b): return b ? 1 : 0
        case .status(let s): return Int(s.shellCode)
        case .process(let p): return Int(p.pid)
        default: return nil
        }
    }

    public static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x == y
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.process(let x), .process(let y)): return x.pid == y.pid
        case (.namespace(let x), .namespace(let y)): return x.inode == y.inode
        case (.range(let a1, let b1), .range(let a2, let b2)):
            return (a1 > b1 && a2 > b2) || (a1 == a2 && b1 == b2)
        case (.list(let xs), .range(let lo, let hi)), (.range(let lo, let hi), .list(let xs)):
            // Counted first, then compared lazily: the range is never built.
            guard Value.rangeLength(lo, hi) == xs.count else { return false }
            return zip(xs, (lo...max(lo, hi)).lazy).allSatisfy { equal($0, .integer($1)) }
        case (.list(let xs), .list(let ys)):
            return xs.count == ys.count && zip(xs, ys).allSatisfy { equal($0, $1) }
        case (.none, .none): return true
        default:
            if let x = integer(a), let y = integer(b), isNumeric(a) || isNumeric(b) { return x == y }
            return string(a) == string(b)
        }
    }

    static func isNumeric(_ v: Value) -> Bool {
        if case .integer = v { return true }
        if case .status = v { return true }
        return false
    }

    public static func chompTrailingNewline(_ s: String) -> String {
        var s = s
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
