import PidshSystem

/// "did you mean" for `kill -NAME`. Signal names are short, so the general
/// `Suggest.closest` (two edits for a three-letter name) guesses wildly: -FPE for
/// -FOO. Here a guess must be one edit away (a swap of two neighbours counts as one)
/// for names up to four letters, two for longer ones — or begin with what was typed
/// (those first).
enum SignalSuggestions {
    static func suggestions(for typed: String) -> [String] {
        var name = typed.uppercased()
        if name.hasPrefix("SIG") && name.count > 3 { name.removeFirst(3) }
        guard !name.isEmpty, Int(name) == nil else { return [] }
        var scored: [(String, Int)] = []
        for candidate in Signals.allNames {
            // What was typed may be the start of a name (-US): that comes first.
            if name.count >= 2, candidate.hasPrefix(name) { scored.append((candidate, 0)); continue }
            let d = distance(name, candidate)
            let limit = max(name.count, candidate.count) <= 4 ? 1 : 2
            if d <= limit { scored.append((candidate, d)) }
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(3).map { $0.0 }
    }

    /// The note for an unknown signal: the guesses, or the common names to choose from.
    static func note(for typed: String) -> String {
        let guesses = suggestions(for: typed)
        if guesses.isEmpty {
            return "signals are named as kill(1) names them (-HUP -INT -QUIT -KILL -USR1 -USR2 -TERM -CONT -STOP ..., with or without SIG) or numbered (-9)"
        }
        return "did you mean " + guesses.map { "-" + $0 }.joined(separator: " or ") + "?"
    }

    /// Edits between two names, an adjacent swap counting as one (optimal string alignment).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
