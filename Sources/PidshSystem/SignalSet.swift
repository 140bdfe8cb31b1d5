/// A set of signals as the kernel keeps one (and /proc/PID/status prints it in SigBlk,
/// SigIgn, SigCgt...): bit N-1 stands for signal N.
public struct SignalSet: Equatable, Sendable {
    public var bits: UInt64

    public init(_ bits: UInt64 = 0) { self.bits = bits }

    public init(_ signals: [Int32]) {
        bits = 0
        for s in signals { insert(s) }
    }

    public static func bit(_ signal: Int32) -> UInt64 { signal >= 1 && signal <= 64 ? 1 << UInt64(signal - 1) : 0 }

    public mutating func insert(_ signal: Int32) { bits |= Self.bit(signal) }
    public func contains(_ signal: Int32) -> Bool { bits & Self.bit(signal) != 0 }
    public var isEmpty: Bool { bits == 0 }

    /// The signals, lowest first.
    public var signals: [Int32] { (1...64).filter { contains(Int32($0)) }.map { Int32($0) } }

    /// `SIGUSR1 SIGTERM` (or `USR1 TERM`, as strace prints a set).
    public func names(prefixed: Bool = true) -> [String] {
        signals.map { prefixed ? Signals.name(of: $0) : String(Signals.name(of: $0).dropFirst(3)) }
    }

    /// Parses signals written as kill(1) spells them, one word or several, each word
    /// possibly a comma-separated list: `USR1`, `SIGUSR1,TERM`, `10`. The word that is
    /// no signal is returned instead.
    public static func parse(_ words: [String]) -> Result<SignalSet, SignalWordError> {
        var set = SignalSet()
        for (i, word) in words.enumerated() {
            for part in word.split(separator: ",", omittingEmptySubsequences: false) {
                guard let n = Signals.number(of: String(part)), n >= 1 else {
                    return .failure(SignalWordError(word: String(part), index: i))
                }
                set.insert(n)
            }
        }
        return .success(set)
    }
}

/// A word that names no signal, and which argument it was.
public struct SignalWordError: Error, Equatable {
    public let word: String
    public let index: Int
}
