import PidshSystem

/// Where a command's output goes: a file descriptor, or memory (`$(...)`, `let`, and
/// embedders that capture). Text passes through the stable-id rewriter on its way out.
public final class OutputSink {
    public enum Target {
        case descriptor(Int32)
        case buffer
    }

    public let target: Target
    public private(set) var buffer: [UInt8] = []
    let ids: StableIds?
    /// A redirection's file (`> PATH`), and the errno of the first write to it that
    /// failed (a /proc file the kernel refuses): the command then fails with it.
    var path: String?
    private(set) var writeError: Int32 = 0

    public init(_ target: Target, ids: StableIds? = nil) {
        self.target = target
        self.ids = ids
    }

    public func write(_ text: String) {
        let shown = ids?.rewrite(text) ?? text
        switch target {
        case .descriptor(let fd): noteFailure(FileIO.writeAll(fd, shown))
        case .buffer: buffer.append(contentsOf: shown.utf8)
        }
    }

    public func writeBytes(_ bytes: [UInt8]) {
        if let ids, ids.enabled {
            write(String(decoding: bytes, as: UTF8.self))
            return
        }
        switch target {
        case .descriptor(let fd): noteFailure(FileIO.writeAll(fd, bytes))
        case .buffer: buffer.append(contentsOf: bytes)
        }
    }

    private func noteFailure(_ e: Int32) { if writeError == 0 { writeError = e } }

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
