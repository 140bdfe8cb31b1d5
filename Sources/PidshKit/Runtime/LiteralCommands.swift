import PidshSystem

/// A command written with literal words only (`spawn --newpid --wait /bin/true`) names
/// the same builtin with the same arguments, parsed the same way, every time it runs:
/// a loop needs to expand, look up and parse it once. Only builtins are kept (a
/// program's lookup on $PATH can change between runs, a builtin's cannot: a `def` may
/// not take a builtin's name), and only words without a variable, a substitution, a
/// `~` or a glob character. An entry is found by the command's place in its source
/// and used only if the command there is the same (a prompt's lines reuse places).
final class LiteralCommand {
    let command: Command
    let stage: Stage
    /// The builtin's options, once a call has parsed them.
    var parsed: BuiltinCall.Parsed?

    init(command: Command, stage: Stage) {
        self.command = command
        self.stage = stage
    }

    struct Key: Hashable {
        let file: Int32
        let offset: Int
        init(_ location: SourceLocation) {
            file = location.fileID
            offset = location.offset
        }
    }

    /// Whether every word is literal text that expands to itself.
    static func isLiteral(_ command: Command) -> Bool {
        command.words.allSatisfy { word in
            word.parts.allSatisfy { part in
                guard case .literal(let text, let quoted) = part else { return false }
                return quoted || (!text.hasPrefix("~") && !Interpreter.hasGlob(text))
            }
        }
    }
}

extension Interpreter {
    /// The entry of `command` when it is literal and was resolved before.
    func literalCommand(_ command: Command) -> LiteralCommand? {
        guard let entry = literalCommands[LiteralCommand.Key(command.location)], entry.command == command else { return nil }
        return entry
    }

    /// Keeps a literal command's resolution (a builtin's).
    func remember(_ command: Command, as stage: Stage) {
        guard case .builtin = stage, LiteralCommand.isLiteral(command) else { return }
        literalCommands[LiteralCommand.Key(command.location)] = LiteralCommand(command: command, stage: stage)
    }
}
