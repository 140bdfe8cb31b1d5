/// How a process ended: the shell's `$?` is the code, or 128+N for signal N.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let sig): return 128 + sig
        }
    }

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited \(code)"
        case .signaled(let sig): return "killed by \(Signals.name(of: sig))"
        }
    }
}
