import PidshSystem

/// `pidsh test`: placeholder replaced below.
public struct GoldenRunner {
    public var update: Bool
    public init(update: Bool) { self.update = update }
    public func run(paths: [String]) -> Int32 { 1 }
}
