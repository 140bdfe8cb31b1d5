import XCTest
@testable import PidshKit
import Glibc

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

    /// `$H<Tab>`: a name that is no variable reads the environment, so it completes.
    func testDollarCompletesEnvironmentVariables() {
        setenv("PIDSH_COMPLETER_TEST_VAR", "x", 1)
        defer { unsetenv("PIDSH_COMPLETER_TEST_VAR") }
        let interpreter = Interpreter.capturing()
        interpreter.setVariable("pidsh_completer_local", .integer(1))
        let c = Completer(interpreter: interpreter)
        XCTAssertEqual(c.complete(line: "echo $PIDSH_COMPLETER_T", wordStart: 5, word: "$PIDSH_COMPLETER_T"), ["$PIDSH_COMPLETER_TEST_VAR"])
        XCTAssertTrue(c.complete(line: "echo $H", wordStart: 5, word: "$H").contains("$HOME"))
        XCTAssertEqual(c.complete(line: "echo $pidsh_completer_l", wordStart: 5, word: "$pidsh_completer_l"), ["$pidsh_completer_local"])
    }

    func testAnUnfinishedLetIsNotACommandPosition() {
        XCTAssertEqual(words("let "), ["let"])
        XCTAssertEqual(words("let x "), ["let", "x"])
        XCTAssertEqual(words("letter "), ["letter"])
    }
}
