import PidshSystem

/// One option of a builtin, as `help`, the docs, completion and parsing see it.
public struct OptionSpec: Sendable {
    public var name: String           // "--ns"
    public var aliases: [String]      // ["-n"]
    public var value: String?         // "NS" when it takes a value
    public var valueOptional: Bool    // `--mount-proc [PATH]`
    public var help: String

    /// A flag.
    public init(_ name: String, aliases: [String] = [], _ help: String) {
        self.name = name
        self.aliases = aliases
        self.value = nil
        self.valueOptional = false
        self.help = help
    }

    /// An option with a value (`--ns NS`), or an optional one (`--mount-proc [PATH]`).
    public init(_ name: String, _ value: String, optional: Bool = false, aliases: [String] = [], _ help: String) {
        self.name = name
        self.aliases = aliases
        self.value = value
        self.valueOptional = optional
        self.help = help
    }

    public var usage: String {
        guard let value else { return name }
        return valueOptional ? "\(name) [\(value)]" : "\(name) \(value)"
    }
}

/// A builtin command: the one table that `help`, the docs test, completion and the
/// interpreter all read. A class: every command resolved and every call holds its
/// spec, which is then one reference, not a copy of all its strings and closures.
public final class BuiltinSpec {
    public let name: String           // "spawn", "ns new", "mount proc"
    public let synopsis: String       // "spawn [--newpid | --ns NS] ... CMD ARG..."
    public let summary: String
    public let options: [OptionSpec]
    public let returns: String
    public let examples: [String]
    public let errors: [String]
    /// Leading positional words before a trailing command (spawn: 0, nest: 1); nil
    /// when the builtin takes no trailing command.
    public let commandAfterPositionals: Int?
    /// Decides whether this builtin handles these arguments; otherwise the name falls
    /// through to $PATH (`unshare --pid` is ours, `unshare -p -f sh` is util-linux's).
    public let accepts: ([String]) -> Bool
    public let run: (inout BuiltinCall) throws -> Value?

    public init(name: String, synopsis: String, summary: String, options: [OptionSpec] = [],
                returns: String = "nothing", examples: [String] = [], errors: [String] = [],
                commandAfterPositionals: Int? = nil,
                accepts: @escaping ([String]) -> Bool = { _ in true },
                run: @escaping (inout BuiltinCall) throws -> Value?) {
        self.name = name
        self.synopsis = synopsis
        self.summary = summary
        self.options = options
        self.returns = returns
        self.examples = examples
        self.errors = errors
        self.commandAfterPositionals = commandAfterPositionals
        self.accepts = accepts
        self.run = run
    }

    public func option(_ word: String) -> OptionSpec? {
        options.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// `help CMD`: what docs/commands.md says of it (synopsis, summary, options, value,
    /// examples, errors), from this table only, wrapped to `width`.
    public func usage(width: Int = 80) -> String {
        var s = synopsis.split(separator: "\n").enumerated().map { i, line in
            HelpText.wrap(String(line), width: width, indent: "         ", firstIndent: i == 0 ? "usage: " : "       ")
        }.joined(separator: "\n") + "\n"
        s += HelpText.wrap(summary, width: width, indent: "  ") + "\n"
        if !options.isEmpty {
            s += "options:\n"
            let names = options.map { ([$0.usage] + $0.aliases).joined(separator: ", ") }
            let column = min(names.map { $0.count }.max() ?? 0, 24)
            for (o, n) in zip(options, names) {
                let hang = String(repeating: " ", count: column + 4)
                if n.count > column {
                    s += "  " + n + "\n" + HelpText.wrap(o.help, width: width, indent: hang) + "\n"
                } else {
                    s += HelpText.wrap(o.help, width: width, indent: hang, firstIndent: "  " + n.padding(to: column) + "  ") + "\n"
                }
            }
        }
        s += HelpText.wrap("returns: \(returns)", width: width, indent: "  ", firstIndent: "") + "\n"
        if !examples.isEmpty { s += "examples:\n" + examples.map { "  " + $0 }.joined(separator: "\n") + "\n" }
        s += "errors:\n"
        if errors.isEmpty { s += "  none of its own\n" }
        for e in errors { s += HelpText.wrap(e, width: width, indent: "    ", firstIndent: "  - ") + "\n" }
        return s
    }
}

/// All builtins, looked up by name (and subcommand: `ns new`, `mount proc`).
public struct BuiltinTable {
    public private(set) var specs: [BuiltinSpec]
    private var byName: [String: Int] = [:]

    public init(_ specs: [BuiltinSpec]) {
        self.specs = specs
        for (i, s) in specs.enumerated() { byName[s.name] = i }
    }

    public static let standard = BuiltinTable(CoreBuiltins.all + NamespaceBuiltins.all + SignalBuiltins.all + InspectionBuiltins.all)

    /// Command names (first words), for completion and "did you mean".
    public var names: [String] {
        var seen = Set<String>()
        return specs.compactMap { s in
            let first = String(s.name.split(separator: " ").first ?? "")
            return seen.insert(first).inserted ? first : nil
        }
    }

    public func spec(named name: String) -> BuiltinSpec? {
        byName[name].map { specs[$0] } ?? (names.contains(name) ? groupSpec(name) : nil)
    }

    public func subcommands(of group: String) -> [BuiltinSpec] {
        specs.filter { $0.name.hasPrefix(group + " ") }
    }

    /// The builtin for a command line, with the arguments it gets; nil: not a builtin
    /// (or one that lets these arguments fall through to $PATH).
    public func match(_ name: String, _ args: [String]) -> (BuiltinSpec, Int)? {
        if let first = args.first, let i = byName[name + " " + first] {
            let s = specs[i]
            return s.accepts(Array(args.dropFirst())) ? (s, 1) : nil
        }
        if let i = byName[name] {
            return specs[i].accepts(args) ? (specs[i], 0) : nil
        }
        if let g = groupSpec(name), g.accepts(args) { return (g, 0) }
        return nil
    }

    /// `ns` alone, or with an unknown subcommand: a builtin that explains.
    private func groupSpec(_ group: String) -> BuiltinSpec? {
        let subs = subcommands(of: group)
        guard !subs.isEmpty else { return nil }
        let names = subs.map { String($0.name.dropFirst(group.count + 1)) }
        let fallsThrough = group == "mount"
        return BuiltinSpec(name: group, synopsis: subs.map { $0.synopsis }.joined(separator: "\n       "),
                           summary: "subcommands: " + names.joined(separator: ", "),
                           accepts: { _ in !fallsThrough }) { call in
            let given = call.arguments.first.map(Printer.string)
            var notes: [String] = []
            if let given, let s = Suggest.closest(to: given, among: names) { notes.append("did you mean `\(group) \(s)`?") }
            throw BuiltinError(given == nil ? "`\(group)` needs a subcommand: \(names.joined(separator: ", "))"
                                            : "unknown subcommand `\(given!)`; `\(group)` has: \(names.joined(separator: ", "))",
                               notes: notes, argument: given == nil ? nil : 0)
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
