import XCTest
@testable import PidshKit

/// The lexer tells reserved words from bytes (`Reserved`); the parser's keyword list
/// (`Parser.keywords`, which completion offers) must name the same statement keywords.
final class ReservedWordTests: XCTestCase {
    func testStatementKeywordsAreTheParsersKeywords() {
        let statementKeywords = Set(Reserved.allCases.filter(\.isStatementKeyword).map(\.rawValue))
        XCTAssertEqual(statementKeywords, Parser.keywords)
    }

    func testEveryReservedWordIsRecognisedFromItsBytesAndOnlyThen() {
        func spelled(_ s: String) -> Reserved? {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { Reserved.spelled(by: $0, 0..<bytes.count) }
        }
        for word in Reserved.allCases { XCTAssertEqual(spelled(word.rawValue), word) }
        for other in ["", "l", "le", "lets", "If", "IN", "insides", "echo", "nota", "tru", "x"] {
            XCTAssertNil(spelled(other), other)
        }
    }

    func testAQuotedOrSplitKeywordIsAWordButAContinuedOneIsTheKeyword() {
        XCTAssertEqual(lexAll("'let' x").tokens.map { kindText($0.kind) }.first, "w:'let'")
        // `le\<newline>t` is one bare word "let" (the continuation joins it), as before.
        let (statements, diagnostics) = parse("le\\\nt x = 1")
        XCTAssertEqual(diagnostics.count, 0)
        guard case .assignment(let name, _, _)? = statements.first else { return XCTFail("\(statements)") }
        XCTAssertEqual(name, "x")
    }
}
