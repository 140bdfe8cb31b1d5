import PidshSystem

/// The shell's own builtins: echo, cd, exit, source, help, show, true, false.
enum CoreBuiltins {
    static let all: [BuiltinSpec] = [echo, cd, exit, source, help, show, trueSpec, falseSpec]

    static let echo = BuiltinSpec(
        name: "echo", synopsis: "echo [-n] WORDS...",
        summary: "Print the words separated by spaces, then a newline.",
        options: [OptionSpec("-n", "no newline at the end")],
        returns: "nothing (under `let`, the text)",
        examples: ["echo \"PID returned by clone(): $child.pid\""]
    ) { call in
        var words = call.arguments
        var newline = true
        if let first = words.first, case .string("-n") = first { newline = false; words.removeFirst() }
        call.write(words.map(Printer.string).joined(separator: " ") + (newline ? "\n" : ""))
        return nil
    }

    static let cd = BuiltinSpec(
        name: "cd", synopsis: "cd [DIR]", summary: "Change pidsh's working directory (default $HOME).",
        returns: "nothing", examples: ["cd /tmp", "cd"],
        errors: ["ENOENT: no such directory", "ENOTDIR: not a directory",
                 "no DIR, HOME unset and no home in the password database: `no directory to go to`"]
    ) { call in
        guard let dir = call.arguments.first.map(Printer.string) ?? UserHome.directory else {
            throw BuiltinError("no directory to go to: \(UserHome.missingReason)")
        }
        do { try FileIO.changeDirectory(dir) } catch { throw BuiltinError("\(error)", argument: 0) }
        FileIO.setEnvironment("PWD", FileIO.currentDirectory())
        return nil
    }

    static let exit = BuiltinSpec(
        name: "exit", synopsis: "exit [N]", summary: "End the script (or the REPL) with status N (default: the last status). Every namespace, process and mount of the session is torn down.",
        examples: ["exit 0", "exit", "exit $?"],
        errors: ["N is not a number: `exit status must be a number`"]
    ) { call in
        let code = try call.arguments.first.map { try call.integer($0, argument: 0, what: "exit status") } ?? Int(call.interpreter.lastStatus)
        throw ExitRequest(code: Int32(truncatingIfNeeded: code))
    }

    static let source = BuiltinSpec(
        name: "source", synopsis: "source FILE", summary: "Run FILE in the current scope (its defs and variables stay).",
        examples: ["source lib.pidsh"],
        errors: ["ENOENT (or another errno): FILE cannot be read",
                 "FILE is not a regular file (a device such as /dev/zero, a FIFO) or is larger than 16 MiB",
                 "a syntax error in FILE: its errors are shown and none of it runs",
                 "`source` nested 32 deep (a file sourcing itself)"]
    ) { call in
        guard let v = call.arguments.first else { throw BuiltinError("source needs a file") }
        let path = Printer.string(v)
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(path, limit: Limits.scriptBytes, regularOnly: true) } catch {
            throw BuiltinError("\(error)", argument: 0)
        }
        let interp = call.interpreter
        guard interp.sourceDepth < 32 else { throw BuiltinError("`source` nested 32 deep (a file sourcing itself?)", argument: 0) }
        let file = SourceFile(name: path, bytes: bytes)
        interp.sources[path] = file
        let (statements, diagnostics) = Parser.parse(file)
        if !diagnostics.isEmpty {
            interp.report(diagnostics.sorted { $0.location.offset < $1.location.offset })
            throw BuiltinError("\(path) has \(diagnostics.count) syntax error(s); nothing of it ran", argument: 0)
        }
        interp.sourceDepth += 1
        defer { interp.sourceDepth -= 1 }
        try interp.runBlock(statements)
        return nil
    }

    static let help = BuiltinSpec(
        name: "help", synopsis: "help [COMMAND]", summary: "List the commands, or show one command's usage.",
        examples: ["help", "help spawn", "help ns new", "help ns"],
        errors: ["no builtin `NAME` (with a \"did you mean\" note when one is close)"]
    ) { call in
        let table = call.interpreter.builtins
        if call.arguments.isEmpty {
            call.print("pidsh commands (help COMMAND for details):")
            let width = table.specs.map { $0.name.count }.max() ?? 0
            for s in table.specs { call.print("  " + s.name.padding(to: width) + "  " + headline(s.summary, limit: 66)) }
            call.print("statements: let if/else while for repeat def try expect; `command NAME` skips builtins")
            return nil
        }
        let name = call.arguments.map(Printer.string).joined(separator: " ")
        if let spec = table.spec(named: name) {
            call.write(spec.usage)
            return nil
        }
        let subs = table.subcommands(of: name)
        if !subs.isEmpty { for s in subs { call.write(s.usage) }; return nil }
        if let f = call.interpreter.functions[name] {
            call.print("usage: \(name) \(f.parameters.joined(separator: " "))  (def at \(f.location))")
            return nil
        }
        var notes: [String] = []
        if let s = Suggest.closest(to: name, among: table.specs.map { $0.name }) { notes.append("did you mean `help \(s)`?") }
        throw BuiltinError("no builtin `\(name)`", notes: notes, argument: 0)
    }

    /// The first sentence of a summary, cut at a word boundary to fit one line.
    static func headline(_ summary: String, limit: Int) -> String {
        var text = summary
        if let r = text.firstRange(of: ". ") { text = String(text[..<r.lowerBound]) }
        if text.hasSuffix(".") { text.removeLast() }
        guard text.count > limit else { return text }
        var cut = String(text.prefix(limit - 3))
        if let space = cut.lastIndex(of: " ") { cut = String(cut[..<space]) }
        return cut + "..."
    }

    static let show = BuiltinSpec(
        name: "show", synopsis: "show VALUE...", summary: "Print values in their readable form (a process or namespace with all its fields).",
        returns: "nothing (under `let`, the text)",
        examples: ["show $child", "show $ns", "show $child.status"]
    ) { call in
        for v in call.arguments { call.print(Printer.show(v)) }
        return nil
    }

    static let trueSpec = BuiltinSpec(name: "true", synopsis: "true", summary: "Succeed (status 0).",
                                      examples: ["true", "def noop { true }"]) { _ in nil }

    static let falseSpec = BuiltinSpec(name: "false", synopsis: "false", summary: "Fail (status 1).",
                                       examples: ["try false", "if ! false { echo negated }"],
                                       errors: ["always: status 1, which stops a script unless `try`, `if`, `while` or `!` takes it"]) { call in
        call.status = 1
        call.failureMessage = "`false` failed"
        return nil
    }
}
