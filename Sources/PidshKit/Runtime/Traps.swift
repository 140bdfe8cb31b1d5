import PidshSystem

/// `trap SIG { ... }`: pidsh's own signals, handled by the script. The handler only
/// notes the signal (SignalTraps); the block runs here, between statements, so it
/// never interrupts a statement half-way.
extension Interpreter {
    func runTrap(signals words: [Word], action: TrapAction, location: SourceLocation) throws {
        if case .list = action {
            for (sig, trap) in traps.sorted(by: { $0.key < $1.key }) {
                out.write("trap \(Signals.name(of: sig)) { ... }   # \(trap.location)\n")
            }
            return
        }
        for (word, sig) in try trapSignals(words) {
            if let why = SignalTraps.why(sig) { throw RuntimeError(word.location, "trap: \(why)") }
            switch action {
            case .run(let body):
                do { try SignalTraps.install(sig) } catch { throw RuntimeError(word.location, "trap: \(error)") }
                traps[sig] = (body, location)
            case .reset:
                do { try SignalTraps.remove(sig) } catch { throw RuntimeError(word.location, "trap: \(error)") }
                traps[sig] = nil
            case .list:
                break
            }
        }
        lastStatus = 0
    }

    /// The signals the words name (each word may be `USR1`, `SIGUSR1`, `10`, a list).
    private func trapSignals(_ words: [Word]) throws -> [(Word, Int32)] {
        var out: [(Word, Int32)] = []
        for w in words {
            for v in try expand(w) {
                for item in v.elements {
                    switch SignalSet.parse([Printer.string(item)]) {
                    case .success(let set): out += set.signals.map { (w, $0) }
                    case .failure(let bad):
                        throw RuntimeError(w.location, "trap: unknown signal `\(bad.word)`", notes: [SignalSuggestions.note(for: bad.word)])
                    }
                }
            }
        }
        return out
    }

    /// Runs the block of every trapped signal that arrived, in signal order; `$?` is
    /// what it was before (as in sh). A signal that arrives while a trap runs is taken
    /// after it.
    func runArrivedTraps() throws {
        guard !traps.isEmpty, !runningTrap, SignalTraps.hasArrived else { return }
        runningTrap = true
        defer { runningTrap = false }
        while let sig = SignalTraps.takeArrived() {
            guard let trap = traps[sig] else { continue }
            let saved = lastStatus
            try runBlock(trap.body)
            lastStatus = saved
        }
    }

    /// At the end of a session: every trapped signal gets back what pidsh did before.
    func removeTraps() {
        for sig in traps.keys { try? SignalTraps.remove(sig) }
        traps.removeAll()
    }
}
