import Glibc
import PidshSystem

/// Where a command's output goes: a file descriptor, or memory (`$(...)`, `let`, and
/// embedders that capture). Text passes through the stable-id rewriter on its way out.
///
/// A write that fails is remembered (the first since it was taken), so the command
/// that wrote fails with the errno and the target (`Interpreter.checkWrites`) instead
/// of losing its output silently. Memory holds at most `Limits.captureBytes`.
public final class OutputSink {
    public enum Target {
        case descriptor(Int32)
        case buffer
    }

    /// Why writing to a sink failed.
    public enum WriteFailure: Equatable {
        /// write(2) failed with this errno (EPIPE: the reader is gone).
        case system(Int32)
        /// A buffer reached `Limits.captureBytes`.
        case tooLarge
    }

    public let target: Target
    /// What an error calls it: "standard output", a redirection's file.
    public let name: String
    public private(set) var buffer: [UInt8] = []
    public private(set) var failure: WriteFailure?
    let ids: StableIds?
    /// Where a redirection's file is named (`> PATH`): a failed write to it is located
    /// there (nil: the command's own stdout or stderr).
    var redirection: SourceLocation?

    public init(_ target: Target, ids: StableIds? = nil, name: String? = nil) {
        self.target = target
        self.ids = ids
        self.name = name ?? Self.defaultName(target)
    }

    static func defaultName(_ target: Target) -> String {
        switch target {
        case .descriptor(1): return "standard output"
        case .descriptor(2): return "standard error"
        case .descriptor(let fd): return "descriptor \(fd)"
        case .buffer: return "the captured output"
        }
    }

    /// Writes `text`; false when it failed (see `failure`).
    @discardableResult
    public func write(_ text: String) -> Bool {
        let shown = ids?.rewrite(text) ?? text
        switch target {
        case .descriptor(let fd): return noteResult(FileIO.writeAll(fd, shown))
        case .buffer: return append(shown.utf8)
        }
    }

    @discardableResult
    public func writeBytes(_ bytes: [UInt8]) -> Bool {
        if let ids, ids.enabled {
            return write(String(decoding: bytes, as: UTF8.self))
        }
        switch target {
        case .descriptor(let fd): return noteResult(FileIO.writeAll(fd, bytes))
        case .buffer: return append(bytes)
        }
    }

    private func append<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard failure == nil else { return false }
        guard buffer.count + bytes.count <= Limits.captureBytes else {
            failure = .tooLarge
            return false
        }
        buffer.append(contentsOf: bytes)
        return true
    }

    /// EINTR is no fault of the target: a signal came for pidsh while the reader was
    /// stuck, and the script is about to stop.
    private func noteResult(_ errno: Int32) -> Bool {
        if errno == 0 || errno == EINTR { return true }
        if failure == nil { failure = .system(errno) }
        return false
    }

    /// The failure since the last call, cleared.
    public func takeFailure() -> WriteFailure? {
        defer { failure = nil }
        return failure
    }

    public var text: String { String(decoding: buffer, as: UTF8.self) }

    /// The fd a child can write to directly (no rewriting needed), if any.
    public var directDescriptor: Int32? {
        if case .descriptor(let fd) = target, !(ids?.enabled ?? false) { return fd }
        return nil
    }

    public var descriptor: Int32? {
        if case .descriptor(let fd) = target { return fd }
        return nil
    }
}
