import Foundation
import XCTest
@testable import PidshKit

/// `$NAME` falls back to the environment when the script has no such variable.
final class EnvironmentTests: XCTestCase {
    func testEnvironmentVariablesAreReadable() {
        setenv("PIDSH_TEST_GREETING", "hello from the environment", 1)
        defer { unsetenv("PIDSH_TEST_GREETING") }
        let r = runScript("echo $PIDSH_TEST_GREETING\necho \"[$PIDSH_TEST_GREETING]\"")
        XCTAssertEqual(r.outcome, .success, r.err)
        XCTAssertEqual(r.out, "hello from the environment\n[hello from the environment]\n")
    }

    func testScriptVariablesShadowTheEnvironmentWithoutChangingIt() {
        setenv("PIDSH_TEST_SHADOW", "outer", 1)
        defer { unsetenv("PIDSH_TEST_SHADOW") }
        let r = runScript("let PIDSH_TEST_SHADOW = \"inner\"\necho $PIDSH_TEST_SHADOW\nsh -c 'echo $PIDSH_TEST_SHADOW'")
        XCTAssertEqual(r.outcome, .success, r.err)
        XCTAssertEqual(r.out, "inner\nouter\n", "let is pidsh's own; programs see the environment")
    }

    func testUnknownNameIsStillALocatedError() {
        unsetenv("PIDSH_TEST_NOWHERE")
        let r = runScript("echo $PIDSH_TEST_NOWHERE")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertTrue(r.err.contains("t.pidsh:1:6: error: no variable `PIDSH_TEST_NOWHERE`"), r.err)
    }
}
