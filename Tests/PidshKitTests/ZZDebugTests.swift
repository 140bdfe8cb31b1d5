import XCTest
import Foundation
@testable import PidshKit
final class ZZDebugTests: XCTestCase {
    func testDebug() {
        let bytes = Array(FileManager.default.contents(atPath: "/tmp/fuzzcur")!)
        FileHandle.standardError.write(Data("parse...\n".utf8))
        _ = Parser.parse(SourceFile(name: "x", bytes: bytes))
        FileHandle.standardError.write(Data("lex...\n".utf8))
        var lexer = Lexer(source: SourceFile(name: "x", bytes: bytes))
        for _ in 0..<50 { let t = lexer.next(bytes.count % 2 == 0 ? .command : .expression); FileHandle.standardError.write(Data("\(kindText(t.kind)) \(t.location)\n".utf8)); if t.kind == .eof { break } }
    }
}
