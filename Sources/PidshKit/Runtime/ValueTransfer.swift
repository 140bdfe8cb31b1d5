import PidshSystem

/// Values written for another pidsh (`inside`): plain values as bytes, processes and
/// namespaces as the descriptors that hold them (a pidfd, a namespace fd), which travel
/// beside the bytes. Never text to be parsed: each value is a tag and fixed fields.
struct TransferWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var fds: [Int32] = []

    enum Tag: UInt8 {
        case string = 1, integer, boolean, list, range, process, namespace, status, nothing
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func bytesField(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }
    mutating func strings(_ list: [String]) {
        u32(UInt32(list.count))
        list.forEach { string($0) }
    }
    /// A descriptor that travels with the document: its index among them.
    mutating func descriptor(_ fd: Int32) {
        if fd < 0 { u32(UInt32.max); return }
        u32(UInt32(fds.count))
        fds.append(fd)
    }

    mutating func value(_ v: Value) {
        switch v {
        case .string(let s): u8(Tag.string.rawValue); string(s)
        case .integer(let n): u8(Tag.integer.rawValue); i64(Int64(n))
        case .boolean(let b): u8(Tag.boolean.rawValue); u8(b ? 1 : 0)
        case .list(let items):
            u8(Tag.list.rawValue)
            u32(UInt32(items.count))
            items.forEach { value($0) }
        case .range(let a, let b): u8(Tag.range.rawValue); i64(Int64(a)); i64(Int64(b))
        case .process(let p):
            if p.pidfd < 0, let s = p.exitStatus { value(.status(s)); return }   // reaped: only its status is left
            u8(Tag.process.rawValue)
            descriptor(p.pidfd)
            string(p.label ?? "")
        case .namespace(let ns):
            u8(Tag.namespace.rawValue)
            descriptor(ns.fd)
            string(ns.name ?? "")
        case .status(let s):
            u8(Tag.status.rawValue)
            switch s {
            case .exited(let code): u8(0); i64(Int64(code))
            case .signaled(let sig): u8(1); i64(Int64(sig))
            }
        case .none: u8(Tag.nothing.rawValue)
        }
    }
}

/// Reads what a TransferWriter wrote; the document's descriptors become handles held by
/// this pidsh (each taken once; those never taken are closed by `closeUnused`).
struct TransferReader {
    let bytes: [UInt8]
    private var fds: [Int32]
    private var pos = 0

    struct Malformed: Error, CustomStringConvertible {
        var description: String { "the other pidsh sent a malformed document" }
    }

    init(_ doc: TransferDocument) {
        bytes = doc.bytes
        fds = doc.fds
    }

    mutating func u8() throws -> UInt8 {
        guard pos < bytes.count else { throw Malformed() }
        pos += 1
        return bytes[pos - 1]
    }
    mutating func u32() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw Malformed() }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[pos + k]) << (8 * UInt32(k)) }
        pos += 4
        return v
    }
    mutating func i64() throws -> Int64 {
        guard pos + 8 <= bytes.count else { throw Malformed() }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[pos + k]) << (8 * UInt64(k)) }
        pos += 8
        return Int64(bitPattern: v)
    }
    mutating func string() throws -> String {
        let n = Int(try u32())
        guard n >= 0, pos + n <= bytes.count else { throw Malformed() }
        defer { pos += n }
        return String(decoding: bytes[pos..<pos + n], as: UTF8.self)
    }
    mutating func bytesField() throws -> [UInt8] {
        let n = Int(try u32())
        guard pos + n <= bytes.count else { throw Malformed() }
        defer { pos += n }
        return Array(bytes[pos..<pos + n])
    }
    mutating func strings() throws -> [String] {
        let n = Int(try u32())
        guard n <= bytes.count else { throw Malformed() }
        return try (0..<n).map { _ in try string() }
    }
    /// The descriptor at the next index, now owned by the caller (-1 for none).
    mutating func descriptor() throws -> Int32 {
        let i = try u32()
        if i == UInt32.max { return -1 }
        guard Int(i) < fds.count, fds[Int(i)] >= 0 else { throw Malformed() }
        defer { fds[Int(i)] = -1 }
        return fds[Int(i)]
    }

    mutating func value() throws -> Value {
        guard let tag = TransferWriter.Tag(rawValue: try u8()) else { throw Malformed() }
        switch tag {
        case .string: return .string(try string())
        case .integer: return .integer(Int(try i64()))
        case .boolean: return .boolean(try u8() != 0)
        case .list:
            let n = Int(try u32())
            guard n <= bytes.count else { throw Malformed() }
            return .list(try (0..<n).map { _ in try value() })
        case .range: return .range(Int(try i64()), Int(try i64()))
        case .process:
            let fd = try descriptor()
            let label = try string()
            let p = ProcessHandle.adopt(pid: Spawner.pidOfPidfd(fd), pidfd: fd, isChild: false, command: [])
            if !label.isEmpty { p.label = label }
            return .process(p)
        case .namespace:
            let fd = try descriptor()
            let name = try string()
            let ns = try Namespace(adopting: fd)
            if !name.isEmpty { ns.name = name }
            return .namespace(ns)
        case .status:
            let kind = try u8()
            let n = Int32(truncatingIfNeeded: try i64())
            return .status(kind == 0 ? .exited(n) : .signaled(n))
        case .nothing: return .none
        }
    }

    /// Closes the descriptors no value took.
    mutating func closeUnused() {
        for fd in fds where fd >= 0 { FileIO.close(fd) }
        fds = fds.map { _ in -1 }
    }
}
