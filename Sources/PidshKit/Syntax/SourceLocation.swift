/// A place in a source text: every token and AST node carries one, so every error
/// can be shown as FILE:LINE:COL with a caret.
///
/// The file is held by a number (`SourceNames`), not a String: a script's AST holds a
/// location per token, node and word part, and copying a String longer than 15 bytes
/// (any real path) costs an atomic retain and release each time — a third of parsing
/// a 10,000-line script went to that.
public struct SourceLocation: Equatable, Sendable, CustomStringConvertible {
    public var fileID: Int32
    public var line: Int      // 1-based
    public var column: Int    // 1-based, in characters
    public var length: Int    // characters covered (>= 1 for a caret)
    public var offset: Int    // byte offset into the source

    public init(file: String, line: Int, column: Int, length: Int = 1, offset: Int = 0) {
        self.init(fileID: SourceNames.id(of: file), line: line, column: column, length: length, offset: offset)
    }

    public init(fileID: Int32, line: Int, column: Int, length: Int = 1, offset: Int = 0) {
        self.fileID = fileID
        self.line = line
        self.column = column
        self.length = length
        self.offset = offset
    }

    public var file: String {
        get { SourceNames.name(of: fileID) }
        set { fileID = SourceNames.id(of: newValue) }
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A script's text and name, shared by every location in it (for caret excerpts).
public final class SourceFile: @unchecked Sendable {
    public let name: String
    /// Whether every byte is ASCII (then a column is a byte count).
    public private(set) lazy var isASCII: Bool = bytes.withUnsafeBufferPointer { b in
        var any: UInt8 = 0
        for x in b { any |= x }
        return any < 0x80
    }
    /// `name` as SourceNames numbers it (what its locations hold).
    public private(set) lazy var nameID: Int32 = SourceNames.id(of: name)
    public let bytes: [UInt8]
    /// Byte offset of each line's start.
    public private(set) lazy var lineStarts: [Int] = {
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == 10 { starts.append(i + 1) }
        return starts
    }()

    public init(name: String, text: String) {
        self.name = name
        self.bytes = Array(text.utf8)
    }

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    /// The text of a 1-based line, without its newline.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, end <= bytes.count, end - 1 >= start, end - 1 < bytes.count, bytes[end - 1] == 13 { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }
}
