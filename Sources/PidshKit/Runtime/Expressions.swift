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
        case .list(let items, let loc):
            let values = try items.map { try evaluate($0) }
            // `let x = [$x]` in a loop nests without any nesting in the text.
            if values.contains(where: { $0.listDepth(limit: Limits.listNesting) >= Limits.listNesting }) {
                throw RuntimeError(loc, "lists nested more than \(Limits.listNesting) deep inside each other")
            }
            return .list(values)
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
            return try binary(op, try evaluate(l), try evaluate(r), loc)
        case .chain(let first, let operations):
            return try evaluateChain(first, operations)
        }
    }

    /// Left to right, in a loop: `and`/`or` stop at the first operand that decides.
    func evaluateChain(_ first: Expr, _ operations: [Operation]) throws -> Value {
        var value = try evaluate(first)
        for o in operations {
            switch o.op {
            case "and":
                if !value.isTrue { return .boolean(false) }
                value = .boolean(try evaluate(o.operand).isTrue)
            case "or":
                if value.isTrue { return .boolean(true) }
                value = .boolean(try evaluate(o.operand).isTrue)
            default:
                value = try binary(o.op, value, try evaluate(o.operand), o.location)
            }
        }
        return value
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
            if case .list(let x) = a { return .list(x + (try elementsWithin(Limits.listElements - x.count, of: b, loc))) }
            let (x, y) = (Printer.string(a), Printer.string(b))
            if x.utf8.count + y.utf8.count > Limits.stringBytes {
                throw RuntimeError(loc, "`+` would make a string of more than \(Limits.describeBytes(Limits.stringBytes))")
            }
            return .string(x + y)
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

    /// The elements of a list or range, refused when more than `room`.
    func elementsWithin(_ room: Int, of v: Value, _ loc: SourceLocation) throws -> [Value] {
        let count: Int?
        if case .range(let a, let b) = v { count = Value.rangeLength(a, b) } else { count = v.elements.count }
        guard let count, count <= room else {
            throw RuntimeError(loc, "`+` would make a list of more than \(Limits.listElements) elements")
        }
        return v.elements
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
                let t2 = try expandTilde(t, at: w.location)
                if Self.hasGlob(t2), let matches = FileIO.glob(t2) { return matches.map { .string($0) } }
                return [.string(t2)]
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
                    if i == 0 { t = try expandTilde(t, at: w.location) }
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

    /// `~` and `~/...`: the home directory. Never the empty string (`~/tmp` would be
    /// `/tmp`): without one it is an error.
    func expandTilde(_ t: String, at location: SourceLocation) throws -> String {
        guard t.hasPrefix("~"), t == "~" || t.hasPrefix("~/") else { return t }
        guard let home = UserHome.directory else {
            throw RuntimeError(location, "`~` has no value: \(UserHome.missingReason)")
        }
        return home + t.dropFirst()
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

    /// `length`, `first`, `last` of a list or range; a range's are computed from its
    /// bounds (it is never built to be measured). nil: no such field.
    func sequenceField(_ name: String, of v: Value, at loc: SourceLocation) throws -> Value? {
        switch (v, name) {
        case (.range(let a, let b), "length"):
            guard let n = Value.rangeLength(a, b) else {
                throw RuntimeError(loc, "the range \(a)..\(b) has more elements than an integer can count")
            }
            return .integer(n)
        case (.range(let a, let b), "first"): return a <= b ? .integer(a) : Value.none
        case (.range(let a, let b), "last"): return a <= b ? .integer(b) : Value.none
        case (.list(let items), "length"): return .integer(items.count)
        case (.list(let items), "first"): return items.first ?? Value.none
        case (.list(let items), "last"): return items.last ?? Value.none
        default: return nil
        }
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
                if let type = NamespaceType(name: name), name == type.rawValue {
                    // `$p.ns.net`: the process's namespace of that type.
                    guard let p = ns.ofProcess else {
                        throw RuntimeError(loc, "a namespace has no field `\(name)`: the namespaces of every type belong to a process (`$p.ns.\(name)`), not to \(ns.id)")
                    }
                    guard p.isRunning else { throw RuntimeError(loc, "process \(p.pid) has ended: its namespaces are gone") }
                    return .namespace(try Namespace.of(pid: p.pid, type: type))
                }
                switch name {
                case "type": return .string(ns.type.rawValue)
                case "owner": return try ns.owner().map { .namespace($0) } ?? .none
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
            case .range, .list:
                guard let value = try sequenceField(name, of: v, at: loc) else { throw unknown() }
                return value
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
