import PidshSystem

/// Expressions, word expansion and fields.
extension Interpreter {
    func evaluate(_ e: Expr) throws -> Value {
        switch e {
        case .integer(let n, _): return .integer(n)
        case .boolean(let b, _): return .boolean(b)
        case .string(let w): return .string(try interpolate(w))
        case .variable(let w):
            if w.parts.count == 1 { return try value(of: w.parts[0], literalFieldFallback: true) }
            return .string(try interpolate(w))
        case .name(let name, let fields, let loc):
            return try readVariable(name, fields: fields, location: loc, literalFieldFallback: false)
        case .list(let items, _):
            return .list(try items.map { try evaluate($0) })
        case .range(let a, let b, let loc):
            let av = try evaluate(a), bv = try evaluate(b)
            guard let x = Printer.integer(av), let y = Printer.integer(bv) else {
                throw RuntimeError(loc, "a range needs integers, got \(Printer.describe(av))..\(Printer.describe(bv))")
            }
            return .range(x, y)
        case .unary(let op, let operand, let loc):
            let v = try evaluate(operand)
            if op == "not" { return .boolean(!v.isTrue) }
            guard let n = Printer.integer(v) else { throw RuntimeError(loc, "`-` needs a number, got \(Printer.describe(v))") }
            if n == Int.min { throw RuntimeError(loc, "integer overflow") }
            return .integer(-n)
        case .binary(let op, let l, let r, let loc):
            if op == "and" { return .boolean(try evaluate(l).isTrue && evaluate(r).isTrue) }
            if op == "or" { return .boolean(try evaluate(l).isTrue || evaluate(r).isTrue) }
            return try binary(op, try evaluate(l), try evaluate(r), loc)
        }
    }

    func binary(_ op: String, _ a: Value, _ b: Value, _ loc: SourceLocation) throws -> Value {
        switch op {
        case "==": return .boolean(Printer.equal(a, b))
        case "!=": return .boolean(!Printer.equal(a, b))
        case "<", "<=", ">", ">=":
            let c: Int
            if let x = Printer.integer(a), let y = Printer.integer(b) { c = x < y ? -1 : (x > y ? 1 : 0) }
            else {
                let x = Printer.string(a), y = Printer.string(b)
                c = x < y ? -1 : (x > y ? 1 : 0)
            }
            switch op {
            case "<": return .boolean(c < 0)
            case "<=": return .boolean(c <= 0)
            case ">": return .boolean(c > 0)
            default: return .boolean(c >= 0)
            }
        case "+":
            if case .integer(let x) = a, case .integer(let y) = b { return try overflowChecked(x.addingReportingOverflow(y), loc) }
            if let x = Printer.integer(a), let y = Printer.integer(b) { return try overflowChecked(x.addingReportingOverflow(y), loc) }
            if case .list(let x) = a { return .list(x + b.elements) }
            return .string(Printer.string(a) + Printer.string(b))
        case "-", "*", "/", "%":
            guard let x = Printer.integer(a), let y = Printer.integer(b) else {
                throw RuntimeError(loc, "`\(op)` needs two numbers, got \(Printer.describe(a)) and \(Printer.describe(b))")
            }
            switch op {
            case "-": return try overflowChecked(x.subtractingReportingOverflow(y), loc)
            case "*": return try overflowChecked(x.multipliedReportingOverflow(by: y), loc)
            default:
                if y == 0 { throw RuntimeError(loc, "division by zero") }
                if x == Int.min && y == -1 { throw RuntimeError(loc, "integer overflow") }
                return .integer(op == "/" ? x / y : x % y)
            }
        default:
            throw RuntimeError(loc, "unknown operator `\(op)`")
        }
    }

    func overflowChecked(_ r: (partialValue: Int, overflow: Bool), _ loc: SourceLocation) throws -> Value {
        if r.overflow { throw RuntimeError(loc, "integer overflow") }
        return .integer(r.partialValue)
    }

    // MARK: words

    /// A word's text, substitutions included (no globbing): for strings and messages.
    func interpolate(_ w: Word) throws -> String {
        if w.parts.count == 1, case .literal(let t, _) = w.parts[0] { return t }
        var s = ""
        for p in w.parts {
            switch p {
            case .literal(let t, _): s += t
            default: s += Printer.string(try value(of: p, literalFieldFallback: true))
            }
        }
        return s
    }

    /// A command word's values: a lone substitution keeps its type (a process stays a
    /// process); anything else is text, globbed when it has unquoted `* ? [`.
    func expand(_ w: Word) throws -> [Value] {
        if w.parts.count == 1 {
            switch w.parts[0] {
            case .literal(let t, let quoted):
                if quoted { return [.string(t)] }
                let t2 = expandTilde(t)
                if Self.hasGlob(t2), let matches = FileIO.glob(t2) { return matches.map { .string($0) } }
                return [.string(Self.hasGlob(t2) ? t2 : t2)]
            default:
                return [try value(of: w.parts[0], literalFieldFallback: true)]
            }
        }
        var text = ""
        var pattern = ""
        var globbing = false
        for (i, p) in w.parts.enumerated() {
            switch p {
            case .literal(var t, let quoted):
                if !quoted {
                    if i == 0 { t = expandTilde(t) }
                    if Self.hasGlob(t) { globbing = true }
                    pattern += t
                } else {
                    pattern += Self.escapeGlob(t)
                }
                text += t
            default:
                let s = Printer.string(try value(of: p, literalFieldFallback: true))
                text += s
                pattern += Self.escapeGlob(s)
            }
        }
        if globbing, let matches = FileIO.glob(pattern) { return matches.map { .string($0) } }
        return [.string(text)]
    }

    func expandTilde(_ t: String) -> String {
        guard t.hasPrefix("~"), t == "~" || t.hasPrefix("~/") else { return t }
        return (FileIO.environment("HOME") ?? "") + t.dropFirst()
    }

    static func hasGlob(_ s: String) -> Bool {
        s.utf8.contains { $0 == 42 || $0 == 63 || $0 == 91 }
    }

    static func escapeGlob(_ s: String) -> String {
        guard hasGlob(s) || s.contains("\\") else { return s }
        var out = ""
        for c in s {
            if c == "*" || c == "?" || c == "[" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// The value of one substitution.
    func value(of part: WordPart, literalFieldFallback: Bool) throws -> Value {
        switch part {
        case .literal(let t, _): return .string(t)
        case .variable(let name, let fields, let loc):
            return try readVariable(name, fields: fields, location: loc, literalFieldFallback: literalFieldFallback)
        case .expression(let e):
            return try evaluate(e)
        case .commandSubstitution(let statements, let loc):
            return .string(Printer.chompTrailingNewline(try captureOutput(of: statements, at: loc)))
        case .special(let s, let loc):
            switch s {
            case "?": return .integer(Int(lastStatus))
            case "$": return .integer(Int(FileIO.processID))
            case "args":
                if let v = scope.lookup("args") { return v }
                return .list(scriptArguments.map { .string($0) })
            case "0": return .string(scriptName)
            default:
                let i = Int(s)! - 1
                guard i < positional.count else {
                    throw RuntimeError(loc, "$\(s) is not set: \(positional.isEmpty ? "no arguments were given" : "only \(positional.count) argument(s) were given")")
                }
                return .string(positional[i])
            }
        }
    }

    func readVariable(_ name: String, fields: [String], location loc: SourceLocation, literalFieldFallback: Bool) throws -> Value {
        // The common case, `$name` of a variable that exists, without the rest.
        if fields.isEmpty, let v = scope.lookup(name) { return v }
        // `$args.length` at script level: the script's arguments (a def has its own `args`).
        let scriptArgs: Value? = name == "args" ? .list(scriptArguments.map { .string($0) }) : nil
        // As in sh, a name that is no variable of the script reads the environment
        // ($HOME, $PATH, $PIDSH...): pidsh's own variables come first.
        let fromEnvironment: Value? = FileIO.environment(name).map { .string($0) }
        guard var v = scope.lookup(name) ?? scriptArgs ?? fromEnvironment else {
            var candidates = scope.allNames
            candidates.append(contentsOf: ["args"])
            var notes: [String] = []
            if let s = Suggest.closest(to: name, among: candidates) { notes.append("did you mean $\(s)?") }
            throw RuntimeError(loc, "no variable `\(name)` (nor an environment variable of that name)", notes: notes)
        }
        for (i, f) in fields.enumerated() {
            if Fields.names(for: v).isEmpty, literalFieldFallback {
                // `$file.txt` on plain text: the dot is just text.
                return .string(Printer.string(v) + "." + fields[i...].joined(separator: "."))
            }
            v = try field(f, of: v, at: loc)
        }
        return v
    }

    /// A value's field, read from the kernel for processes and namespaces.
    func field(_ name: String, of v: Value, at loc: SourceLocation) throws -> Value {
        let known = Fields.names(for: v)
        func unknown() -> RuntimeError {
            var notes: [String] = []
            if let s = Suggest.closest(to: name, among: known) { notes.append("did you mean .\(s)?") }
            if !known.isEmpty { notes.append("\(v.typeName) fields: " + known.joined(separator: " ")) }
            return RuntimeError(loc, "a \(v.typeName) has no field `\(name)`", notes: notes)
        }
        do {
            switch v {
            case .process(let p):
                switch name {
                case "pid": return .integer(Int(p.pid))
                case "nspid": return .integer(Int(p.nspid))
                case "pids": return .list(p.pids.map { .integer(Int($0)) })
                case "ppid": return .integer(Int(p.ppid))
                case "nsppid": return .integer(Int(p.nsppid))
                case "ns": return .namespace(try p.namespace())
                case "name": return .string(p.label ?? p.name)
                case "status":
                    p.poll()
                    if let s = p.exitStatus { return .status(s) }
                    // Not pidsh's child: it ended, but only its parent learns how.
                    return .string(p.isRunning ? "running" : "ended")
                default: throw unknown()
                }
            case .namespace(let ns):
                switch name {
                case "id": return .string(ns.id)
                case "inode": return .integer(Int(ns.inode))
                case "level": return .integer(ns.level ?? -1)
                case "parent": return try ns.parent().map { .namespace($0) } ?? .none
                case "init": return ns.findInit().map { .process($0) } ?? .none
                case "alive": return .boolean(ns.alive)
                case "received": return try receivedSignals(ns, at: loc)
                default: throw unknown()
                }
            case .status(let s):
                switch name {
                case "code": return .integer(Int(s.shellCode))
                case "signal":
                    if case .signaled(let sig) = s { return .string(Signals.name(of: sig)) }
                    return .string("")
                case "exited":
                    if case .exited = s { return .boolean(true) }
                    return .boolean(false)
                default: throw unknown()
                }
            case .list, .range:
                let items = v.elements
                switch name {
                case "length": return .integer(items.count)
                case "first": return items.first ?? .none
                case "last": return items.last ?? .none
                default: throw unknown()
                }
            default:
                throw unknown()
            }
        } catch let e as SystemError {
            throw RuntimeError(loc, "\(v.typeName).\(name): \(e)")
        }
    }

    /// `$ns.received`: what pidsh's init of the namespace caught (`signals received`).
    func receivedSignals(_ ns: Namespace, at loc: SourceLocation) throws -> Value {
        guard let found = ns.findInit() else { throw RuntimeError(loc, "namespace.received: \(ns.id) has no live init") }
        guard let initProcess = found.initChannel != nil ? found
                : session.children.first(where: { $0.pid == found.pid && $0.initChannel != nil && $0.isRunning }) else {
            throw RuntimeError(loc, "namespace.received: PID 1 of \(ns.id) is `\(found.name)`, not pidsh's init: only pidsh's init logs what it receives")
        }
        let (list, _) = try initProcess.initChannel!.received(recorder: session.recorder, initPID: initProcess.pid)
        return .list(list.map { .string(ReceivedText.line($0)) })
    }
}
