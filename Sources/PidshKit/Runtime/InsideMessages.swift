import PidshSystem

/// What `inside` hands the pidsh it starts in a namespace: the script's text and where
/// the block stands in it (so errors are located as in the script), the values the block
/// reads, the names of those it sets, and descriptors (its janitor, where programs left
/// running write).
struct InsideRequest {
    static let magic = "pidsh-inside-1"

    var fileName: String
    var source: [UInt8]
    var text: BlockText
    var scriptName: String
    var positional: [String]
    var trace: Bool
    /// `--narrate`: the block's `#:` lines print there too.
    var narrate = false
    var variables: [(String, Value)]
    var wanted: [String]
    var janitor: Int32 = -1
    var backgroundOut: Int32 = -1
    var backgroundErr: Int32 = -1

    func document() -> TransferDocument {
        var w = TransferWriter()
        w.string(Self.magic)
        w.string(fileName)
        w.bytesField(source)
        for n in [text.start, text.end, text.line, text.lineStart] { w.u32(UInt32(n)) }
        w.string(scriptName)
        w.strings(positional)
        w.u8(trace ? 1 : 0)
        w.u8(narrate ? 1 : 0)
        w.u32(UInt32(variables.count))
        for (name, value) in variables { w.string(name); w.value(value) }
        w.strings(wanted)
        w.descriptor(janitor)
        w.descriptor(backgroundOut)
        w.descriptor(backgroundErr)
        return TransferDocument(bytes: w.bytes, fds: w.fds)
    }

    static func read(_ doc: TransferDocument) throws -> InsideRequest {
        var r = TransferReader(doc)
        defer { r.closeUnused() }
        guard try r.string() == magic else { throw TransferReader.Malformed() }
        let fileName = try r.string()
        let source = try r.bytesField()
        let n = try (0..<4).map { _ in Int(try r.u32()) }
        var req = InsideRequest(fileName: fileName, source: source,
                                text: BlockText(start: n[0], end: n[1], line: n[2], lineStart: n[3]),
                                scriptName: try r.string(), positional: try r.strings(), trace: try r.u8() != 0,
                                variables: [], wanted: [])
        req.narrate = try r.u8() != 0
        let vars = Int(try r.u32())
        for _ in 0..<vars { req.variables.append((try r.string(), try r.value())) }
        req.wanted = try r.strings()
        req.janitor = try r.descriptor()
        req.backgroundOut = try r.descriptor()
        req.backgroundErr = try r.descriptor()
        return req
    }
}

/// What comes back: the block's status, the values of the variables it set (processes
/// as pidfds), and whether that pidsh stays to keep processes it started alive.
struct InsideResult {
    var status: Int32
    var lingers: Bool
    var variables: [(String, Value)]

    func document() -> TransferDocument {
        var w = TransferWriter()
        w.u32(UInt32(bitPattern: status))
        w.u8(lingers ? 1 : 0)
        w.u32(UInt32(variables.count))
        for (name, value) in variables { w.string(name); w.value(value) }
        return TransferDocument(bytes: w.bytes, fds: w.fds)
    }

    static func read(_ doc: TransferDocument) throws -> InsideResult {
        var r = TransferReader(doc)
        defer { r.closeUnused() }
        var result = InsideResult(status: Int32(bitPattern: try r.u32()), lingers: try r.u8() != 0, variables: [])
        let n = Int(try r.u32())
        for _ in 0..<n { result.variables.append((try r.string(), try r.value())) }
        return result
    }
}
