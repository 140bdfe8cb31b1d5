import XCTest
@testable import PidshKit

/// Which command the cursor is in, for tab completion (the REPL's pty tests cover the rest).
final class CompleterTests: XCTestCase {
    func words(_ before: String) -> [String] { Completer.commandWords(before: before) }

    func testCommandPositionAfterSeparatorsKeywordsAndLet() {
        XCTAssertEqual(words(""), [])
        XCTAssertEqual(words("echo a | "), [])
        XCTAssertEqual(words("echo a; "), [])
        XCTAssertEqual(words("if true { "), [])
        XCTAssertEqual(words("try "), [])
        XCTAssertEqual(words("let x = "), [])
        XCTAssertEqual(words("let x= "), [])
        XCTAssertEqual(words("if true { let x = try "), [])
    }

    func testTheCommandAfterLetIsTheCommandBeingTyped() {
        XCTAssertEqual(words("let x = ns "), ["ns"])
        XCTAssertEqual(words("let x = spawn --wait "), ["spawn", "--wait"])
        XCTAssertEqual(words("let x=ns "), ["ns"])
        XCTAssertEqual(words("ns new | ps "), ["ps"])
    }

    func testAnUnfinishedLetIsNotACommandPosition() {
        XCTAssertEqual(words("let "), ["let"])
        XCTAssertEqual(words("let x "), ["let", "x"])
        XCTAssertEqual(words("letter "), ["letter"])
    }
}
