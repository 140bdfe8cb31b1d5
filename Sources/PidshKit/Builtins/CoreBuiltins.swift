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
        name: "help", synopsis: "help [COMMAND | KEYWORD]",
        summary: "List the builtins and the language's keywords and forms (let, if, while, for, repeat, def, try, expect, pipes, redirections...), or show one in full, wrapped to the terminal's width.",
        examples: ["help", "help spawn", "help ns new", "help ns", "help let", "help redirections"],
        errors: ["no builtin `NAME`, and no keyword or form of the language by that name (with a \"did you mean\" note when one is close)"]
    ) { call in
        let table = call.interpreter.builtins
        let width = Terminal.wrapWidth(of: call.io.out.descriptor ?? 1)
        if call.arguments.isEmpty {
            call.write(overview(table, width: width))
            return nil
        }
        let name = call.arguments.map(Printer.string).joined(separator: " ")
        // A group (`ns`, `mount`): each subcommand in full.
        let subs = table.subcommands(of: name)
        if !subs.isEmpty {
            // `signals` is a builtin and a group (`signals received`): both.
            let own = table.specs.filter { $0.name == name }
            call.write((own + subs).map { $0.usage(width: width) }.joined(separator: "\n"))
            return nil
        }
        if let spec = table.spec(named: name) {
            call.write(spec.usage(width: width))
            return nil
        }
        if let topic = LanguageTopic.find(name) {
            call.write(topic.usage(width: width))
            return nil
        }
        if let f = call.interpreter.functions[name] {
            call.print("usage: \(name) \(f.parameters.joined(separator: " "))  (def at \(f.location))")
            return nil
        }
        var notes: [String] = []
        let known = table.specs.map { $0.name } + LanguageTopic.all.flatMap { [$0.name] + $0.aliases }
        if let s = Suggest.closest(to: name, among: known) { notes.append("did you mean `help \(s)`?") }
        throw BuiltinError("no builtin `\(name)`, and no keyword or form of the language by that name", notes: notes, argument: 0)
    }

    /// `help`: every builtin and every language topic with the first sentence of its
    /// summary, wrapped under its column.
    static func overview(_ table: BuiltinTable, width: Int) -> String {
        let topics = LanguageTopic.all.map { ([$0.name] + $0.aliases.prefix(1)).joined(separator: ", ") }
        let column = max(table.specs.map { $0.name.count }.max() ?? 0, topics.map { $0.count }.max() ?? 0)
        func entry(_ name: String, _ summary: String) -> String {
            HelpText.wrap(headline(summary), width: width, indent: String(repeating: " ", count: column + 4),
                          firstIndent: "  " + name.padding(to: column) + "  ") + "\n"
        }
        var s = HelpText.wrap("pidsh commands (help COMMAND for details):", width: width, indent: "") + "\n"
        for spec in table.specs { s += entry(spec.name, spec.summary) }
        s += HelpText.wrap("the language (help KEYWORD for details; docs/language.md has it all):", width: width, indent: "") + "\n"
        for (topic, name) in zip(LanguageTopic.all, topics) { s += entry(name, topic.summary) }
        return s
    }

    /// The first sentence of a summary: up to a `. ` before a capital letter or a
    /// backquote (not the `..` of `N-1 outermost .. 0 innermost`).
    static func headline(_ summary: String) -> String {
        let chars = Array(summary)
        var end = chars.count
        for i in 0..<max(0, chars.count - 2) where chars[i] == "." && chars[i + 1] == " " && (i == 0 || chars[i - 1] != ".") {
            if chars[i + 2].isUppercase || chars[i + 2] == "`" { end = i; break }
        }
        var text = String(chars[..<end])
        if text.hasSuffix(".") { text.removeLast() }
        return text
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
        call.plainFailure = true
        return nil
    }
}
