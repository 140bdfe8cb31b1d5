import PidshSystem

/// Running statements: control flow, `let`, `try`, `expect`, user commands.
extension Interpreter {
    func runBlock(_ statements: [Statement]) throws {
        for s in statements { try runStatement(s) }
    }

    func runStatement(_ statement: Statement) throws {
        try checkInterrupt()
        try runArrivedTraps()
        try checkStack(at: statement.location)
        if !session.children.isEmpty { session.reapFinished() }
        if let stepper, !isNarration(statement) { try stepper(statement, sources[statement.location.file]) }
        switch statement {
        case .narration(let text, let loc):
            if options.narrate || options.step { try emit(text + "\n", at: loc) }

        case .pipeline(let p):
            try runPipelineStatement(p)

        case .assignment(let name, let rhs, _):
            scope.assign(name, try evaluate(rhs))

        case .ifElse(let branches, let otherwise, _):
            if let taken = try branches.first(where: { try evaluate($0.condition) }) {
                try runBlock(taken.body)
            } else if let otherwise {
                try runBlock(otherwise)
            }

        case .whileLoop(let condition, let body, _):
            while try evaluate(condition) {
                // Polled per iteration too: an empty body (`while true {}`) runs no
                // statement that would notice a SIGINT/SIGTERM.
                try checkInterrupt()
                try runBlock(body)
            }

        case .forLoop(let name, let source, let body, _):
            for item in try forItems(source) {
                try checkInterrupt()
                scope.assign(name, item)
                try runBlock(body)
            }

        case .repeatLoop(let countExpr, let body, _):
            let count = try repeatCount(countExpr)
            for _ in 0..<count { try checkInterrupt(); try runBlock(body) }

        case .function(let name, let parameters, let body, let loc):
            try define(name, parameters: parameters, body: body, at: loc)

        case .tryStatement(let inner, _):
            try runTry(inner)

        case .inside(let target, let body, let text, let loc):
            try runInside(target: target, body: body, text: text, location: loc)

        case .trap(let signals, let action, let loc):
            try runTrap(signals: signals, action: action, location: loc)

        case .expect(let expr, let messageExpr, let loc):
            try runExpect(expr, message: messageExpr, at: loc)
        }
    }

    /// A pipeline as a statement: its failure stops the script (`check`). At the prompt
    /// a builtin's value is shown, and `$ns` alone shows the value rather than running it.
    private func runPipelineStatement(_ p: Pipeline) throws {
        if options.interactive, let lone = loneSubstitution(p) {
            try emit(Printer.show(try value(of: lone, literalFieldFallback: true)) + "\n", at: p.location)
            return
        }
        let result = try runPipeline(p, capture: false)
        try check(result, p)
        if options.interactive, let v = result.value, !result.valuePrinted { try emit(Printer.show(v) + "\n", at: p.location) }
    }

    /// `def NAME`: a builtin's name is refused.
    private func define(_ name: String, parameters: [String], body: [Statement], at loc: SourceLocation) throws {
        if builtins.spec(named: name) != nil {
            throw RuntimeError(loc, "`\(name)` is a builtin; a def cannot replace it (pick another name)")
        }
        functions[name] = UserCommand(name: name, parameters: parameters, body: body, location: loc)
    }

    /// `try STATEMENT`: its error is reported and its status kept in `$?`; the script goes on.
    private func runTry(_ inner: Statement) throws {
        do {
            try runStatement(inner)
        } catch let e as RuntimeError {
            if !e.shownOnRedirectedError { report([e.diagnostic]) }
            lastStatus = e.status
        } catch let e as CommandFailed {
            report([e.diagnostic]); lastStatus = e.status == 0 ? 1 : e.status
        }
    }

    /// `expect EXPR [, MESSAGE]`: fails with the expression's text and, for a
    /// comparison, both sides' values.
    private func runExpect(_ expr: Expr, message messageExpr: Expr?, at loc: SourceLocation) throws {
        let (value, sides) = try evaluateKeepingSides(expr)
        if !value.isTrue {
            var message = "expectation failed: " + expectationText(loc, before: messageExpr?.location)
            if let (left, right) = sides { message += " (left: \(Printer.describe(left)), right: \(Printer.describe(right)))" }
            if let messageExpr { message += " — " + Printer.string(try evaluate(messageExpr)) }
            throw ExpectationFailed(location: loc, message: message)
        }
        lastStatus = 0
    }

    /// Writes what pidsh itself prints for a statement (a narration line, a value at the
    /// prompt); a failed write fails the statement.
    func emit(_ text: String, at location: SourceLocation) throws {
        out.write(text)
        try checkWrites([out], by: "", at: location)
    }

    /// A pipeline that is just `$x` (or `${...}`), with nothing else.
    func loneSubstitution(_ p: Pipeline) -> WordPart? {
        guard !p.negated, p.commands.count == 1, p.commands[0].redirections.isEmpty,
              p.commands[0].words.count == 1, p.commands[0].words[0].parts.count == 1 else { return nil }
        switch p.commands[0].words[0].parts[0] {
        case .variable, .expression, .special: return p.commands[0].words[0].parts[0]
        default: return nil
        }
    }

    func isNarration(_ s: Statement) -> Bool {
        if case .narration = s { return true }
        return false
    }

    /// Throws when a command failed and nothing (try/if/while/!) takes its status.
    func check(_ result: CommandResult, _ p: Pipeline) throws {
        if result.status != 0 {
            throw CommandFailed(location: result.failureLocation ?? p.location,
                                message: result.failureMessage ?? "command failed with status \(result.status)",
                                status: result.status, plainFailure: result.plainFailure)
        }
    }

    // MARK: conditions and right sides

    func evaluate(_ c: Condition) throws -> Bool {
        switch c {
        case .expression(let e):
            return try evaluate(e).isTrue
        case .command(let p):
            let r = try runPipeline(p, capture: false, reportErrors: true)
            return r.status == 0
        }
    }

    func evaluate(_ rhs: RightSide) throws -> Value {
        switch rhs {
        case .expression(let e):
            let v = try evaluate(e)
            lastStatus = 0
            return v
        case .command(let p):
            let r = try runPipeline(p, capture: true)
            if let v = r.value, !r.capturedText.isEmpty,
               Printer.chompTrailingNewline(r.capturedText) != Printer.string(v) {
                // A builtin with a value keeps what it prints besides that value for the
                // reader (nest --verbose, the output of `spawn --wait`); only text that
                // merely renders the value (`pids`, `ns id`) stays silent.
                try emit(r.capturedText, at: p.location)
            }
            try check(r, p)
            return r.value ?? .string(Printer.chompTrailingNewline(r.capturedText))
        }
    }

    /// `repeat`'s count: an integer, or numeric text, of 0 or more. Anything else is a
    /// type error — a process is not its PID here, a status not its code.
    func repeatCount(_ e: Expr) throws -> Int {
        let v = try evaluate(e)
        let count: Int?
        switch v {
        case .integer(let n): count = n
        case .string(let s): count = Int(s.trimmingSpaces())
        default: count = nil
        }
        guard let count, count >= 0 else {
            throw RuntimeError(e.location, "`repeat` needs a count of 0 or more (an integer), got \(Printer.describe(v))",
                               notes: Self.handleNote(v).map { [$0] } ?? [])
        }
        return count
    }

    /// For a type error on a handle: what the user probably meant.
    static func handleNote(_ v: Value) -> String? {
        switch v {
        case .process: return "a process is one object, not a number or a list: use its fields ($p.pid, $p.pids), or put it in a list ([$p])"
        case .namespace: return "a namespace is one object, not a number or a list: use its fields ($ns.level, $ns.init), or put it in a list ([$ns])"
        default: return nil
        }
    }

    func forItems(_ source: ForSource) throws -> AnySequence<Value> {
        switch source {
        case .expression(let e):
            let v = try evaluate(e)
            if case .process = v { throw forHandleError(v, e.location) }
            if case .namespace = v { throw forHandleError(v, e.location) }
            if case .string(let s) = v {
                // Text (command output) iterates by line; it is never word-split.
                return AnySequence(s.split(separator: "\n").map { .string(String($0)) })
            }
            // A range is counted, not materialised: `for i in 0..1000000000` loops
            // until `exit` without building a billion-element list first.
            if case .range(let a, let b) = v {
                return a <= b ? AnySequence((a...b).lazy.map { .integer($0) }) : AnySequence([])
            }
            return AnySequence(v.elements)
        case .words(let words):
            var items: [Value] = []
            for w in words { items.append(contentsOf: try expand(w)) }
            return AnySequence(items)
        }
    }

    /// `for` over a process or a namespace: a handle is one object, nothing to go through.
    func forHandleError(_ v: Value, _ at: SourceLocation) -> RuntimeError {
        RuntimeError(at, "`for` needs a list, a range or text to go through, got \(Printer.describe(v))",
                     notes: Self.handleNote(v).map { [$0] } ?? [])
    }

    /// The source text of an `expect` (from its line), up to its message if it has one.
    func expectationText(_ loc: SourceLocation, before message: SourceLocation? = nil) -> String {
        guard let src = sources[loc.file] else { return "" }
        var text = src.lineText(loc.line)
        if let message, message.line == loc.line, message.column > loc.column {
            text = String(text.prefix(message.column - 1))
        }
        let skip = text.index(text.startIndex, offsetBy: min(text.count, loc.column - 1 + "expect".count))
        text = String(text[skip...])
        return text.trimmingSpaces()
    }

    /// An expression's value and, for a comparison, the values of its two sides as they
    /// were compared. `expect` shows those: evaluating the sides again would run a
    /// `$(...)` twice and could show a value that was not the one compared.
    func evaluateKeepingSides(_ e: Expr) throws -> (Value, (Value, Value)?) {
        guard case .binary(let op, let l, let r, let loc) = e, ["==", "!=", "<", "<=", ">", ">="].contains(op) else {
            return (try evaluate(e), nil)
        }
        let left = try evaluate(l), right = try evaluate(r)
        return (try binary(op, left, right, loc), (left, right))
    }

    // MARK: user commands

    func call(_ f: UserCommand, arguments: [Value], io: CommandIO) throws -> Int32 {
        guard callDepth < 200 else {
            throw RuntimeError(f.location, "`\(f.name)` called itself 200 levels deep: stopping (endless recursion?)")
        }
        let frame = Scope(parent: globals)
        for (i, p) in f.parameters.enumerated() {
            frame.define(p, i < arguments.count ? arguments[i] : .string(""))
        }
        frame.define("args", .list(arguments))
        let saved = (scope, out, err, stdinFD, positional)
        scope = frame
        out = io.out
        err = io.err
        stdinFD = io.stdin
        positional = arguments.map(Printer.string)
        callDepth += 1
        defer {
            callDepth -= 1
            (scope, out, err, stdinFD, positional) = saved
        }
        lastStatus = 0
        try runBlock(f.body)
        // A body that ran to its end succeeded: every failure that counts has thrown
        // (set -e). A non-zero $? left by an `if`/`while` condition or a `try` was
        // taken by that statement and must not make the def fail.
        return 0
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
