import ArgumentParser

/// `pidsh --help`: the root command's help, with the options of `run` (the default
/// subcommand, what `pidsh SCRIPT` and `pidsh -c` are) listed in it rather than behind
/// `pidsh run --help`: --trace, --narrate, --step, --stable-ids... are what people
/// look for there.
enum HelpScreen {
    static func text() -> String {
        let root = sections(PidshCommand.helpMessage())
        let run = sections(PidshCommand.helpMessage(for: PidshCommand.Run.self))
        var out: [String] = []
        for (title, body) in root {
            if title == "OPTIONS:" {
                // Run's arguments and options, then the root's own (--version, --help).
                if let args = run.first(where: { $0.0 == "ARGUMENTS:" }) { out.append(args.0 + "\n" + args.1) }
                let runOptions = run.first { $0.0 == "OPTIONS:" }?.1 ?? ""
                let own = runOptions.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.contains("--version") && !$0.contains("-h, --help") && !$0.isEmpty }.joined(separator: "\n")
                out.append(title + "\n" + own + "\n" + body)
            } else {
                out.append(title.isEmpty ? body : title + (title.hasPrefix("USAGE:") || title.hasPrefix("OVERVIEW:") ? body : "\n" + body))
            }
        }
        return out.joined(separator: "\n\n") + "\n"
    }

    /// The blank-line-separated sections of argument-parser's help, each split into
    /// its heading (`OPTIONS:`; `USAGE:` and `OVERVIEW:` keep their first line) and body.
    static func sections(_ text: String) -> [(String, String)] {
        var result: [(String, String)] = []
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            let first = String(lines[0])
            if first.hasSuffix(":") && first.uppercased() == first {
                result.append((first, lines.dropFirst().joined(separator: "\n")))
            } else if first.hasPrefix("USAGE:") || first.hasPrefix("OVERVIEW:") {
                let head = first.hasPrefix("USAGE:") ? "USAGE:" : "OVERVIEW:"
                result.append((head, String(block.dropFirst(head.count))))
            } else {
                result.append(("", block))
            }
        }
        return result
    }
}
