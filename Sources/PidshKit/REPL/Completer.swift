import PidshSystem

/// Tab completion: builtins and their options, defs, variables and environment
/// variables, fields after `$name.`,
/// programs on $PATH, and file paths.
final class Completer {
    unowned let interpreter: Interpreter
    private lazy var pathPrograms: [String] = FileIO.executables(inPath: FileIO.environment("PATH") ?? "/usr/bin:/bin")

    init(interpreter: Interpreter) { self.interpreter = interpreter }

    func complete(line: String, wordStart: Int, word: String) -> [String] {
        if word.hasPrefix("$") { return variables(word) }
        var words = Completer.commandWords(before: String(line.prefix(wordStart)))
        let table = interpreter.builtins
        if words.first == "help" {
            // `help CMD`: the builtins (and their subcommands).
            words.removeFirst()
            if words.isEmpty { return table.names.filter { $0.hasPrefix(word) } }
        }
        if words.isEmpty {
            let names = table.names + interpreter.functions.keys.sorted() + Array(Parser.keywords).sorted() + pathPrograms
            return unique(names.filter { $0.hasPrefix(word) })
        }
        if words.count == 1, !table.subcommands(of: words[0]).isEmpty, !word.hasPrefix("-") {
            return table.subcommands(of: words[0]).map { String($0.name.dropFirst(words[0].count + 1)) }.filter { $0.hasPrefix(word) }
        }
        if word.hasPrefix("-") {
            let name = words.count >= 2 && table.spec(named: words[0] + " " + words[1]) != nil ? words[0] + " " + words[1] : words[0]
            if let spec = table.spec(named: name) {
                var opts = spec.options.flatMap { [$0.name] + $0.aliases }
                if name == "kill" { opts = Signals.allNames.map { "-" + $0 } }
                return opts.filter { $0.hasPrefix(word) && $0 != "-SIGNAL" }
            }
        }
        return files(word)
    }

    /// The words of the command the cursor is in, up to the word being completed: after
    /// the last `|`, `;`, `{` or `}`, without leading keywords (`try`, `!`, `if`, `while`,
    /// `else`) and without `let NAME =`. Empty: the cursor is where a command name goes.
    static func commandWords(before: String) -> [String] {
        let spaced = before.split(separator: ";", omittingEmptySubsequences: false).joined(separator: " ; ")  // `a;` ends a command too
        let all = spaced.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let separators: Set<String> = ["|", "||", "&&", ";", "{", "}"]
        var words = Array(all.split(omittingEmptySubsequences: false, whereSeparator: { separators.contains($0) }).last ?? [])
        while let first = words.first {
            if ["try", "!", "if", "while", "else"].contains(first) {
                words.removeFirst()
            } else if first == "let" {
                words.removeFirst()
                // `let NAME = CMD`, `let NAME= CMD` or `let NAME=CMD`; anything else is not
                // (yet) a command.
                if words.count >= 2 && words[1] == "=" {
                    words.removeFirst(2)
                } else if let name = words.first, let eq = name.firstIndex(of: "="), eq != name.startIndex {
                    let rest = String(name[name.index(after: eq)...])
                    if rest.isEmpty { words.removeFirst() } else { words[0] = rest }
                } else {
                    return words.isEmpty ? ["let"] : ["let"] + words
                }
            } else {
                break
            }
        }
        return words
    }

    func variables(_ word: String) -> [String] {
        let body = word.dropFirst()
        if let dot = body.lastIndex(of: ".") {
            let path = body[..<dot].split(separator: ".").map(String.init)
            guard let name = path.first, var v = interpreter.variable(name) else { return [] }
            for f in path.dropFirst() {
                guard let next = try? interpreter.field(f, of: v, at: SourceLocation(file: "<repl>", line: 0, column: 0)) else { return [] }
                v = next
            }
            let prefix = String(body[body.index(after: dot)...])
            return Fields.names(for: v).filter { $0.hasPrefix(prefix) }.map { "$" + body[...dot] + $0 }
        }
        // A name that is no variable of the script reads the environment ($HOME), so
        // the environment's names complete too.
        let environment = currentEnvironment().compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
        return unique((interpreter.variableNames + ["args", "?", "$"] + environment.sorted()).filter { $0.hasPrefix(body) }).map { "$" + $0 }
    }

    func files(_ word: String) -> [String] {
        let pattern = Interpreter.escapeGlob(word) + "*"
        guard let matches = FileIO.glob(pattern) else { return [] }
        return matches.map { FileIO.isDirectory($0) ? $0 + "/" : $0 }
    }

    func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
