@testable import PidshKit
import XCTest

/// Which scripts start pidsh's session: every one that can run a program, make or join
/// a namespace, mount, signal or start an `inside` pidsh; not those that only compute
/// and print.
final class SessionUseTests: XCTestCase {
    func needs(_ code: String, root: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        SessionUse.needed(parsedCleanly(code, file: file, line: line).statements, root: root)
    }

    func testScriptsThatOnlyComputeAndPrintHaveNone() {
        XCTAssertFalse(needs("true"))
        XCTAssertFalse(needs("echo hi; let x = 1 + 2; expect $x == 3"))
        XCTAssertFalse(needs("def greet N { echo hello $N }\ngreet you\nfor i in 1..3 { greet $i }"))
        XCTAssertFalse(needs("if $? == 0 { show [1, 2] } else { false }\ncd /tmp; help spawn; exit 0"))
        XCTAssertFalse(needs("echo a | echo b > /dev/null"))
        XCTAssertFalse(needs("ps; ns list; ns tree; ns id $$; pids $$", root: true))
    }

    func testAnythingThatCanMakeOrRunNeedsIt() {
        XCTAssertTrue(needs("ls"))                                   // a program
        XCTAssertTrue(needs("echo $(date)"))                         // in a substitution
        XCTAssertTrue(needs("def f { sleep 1 }"))                    // in a def's body
        XCTAssertTrue(needs("let c = echo; $c hi"))                  // a name not literal
        XCTAssertTrue(needs("if true { let ns = ns new }"))
        XCTAssertTrue(needs("spawn --newpid true"))
        XCTAssertTrue(needs("mount proc /tmp/p"))
        XCTAssertTrue(needs("kill -USR1 $$"))
        XCTAssertTrue(needs("source lib.pidsh"))
        XCTAssertTrue(needs("trap USR1 { /bin/true }"))
        XCTAssertTrue(needs("expect $(wc -l < /dev/null) == 0"))
        XCTAssertTrue(needs("ns $x"))                                // a subcommand not literal
        XCTAssertTrue(needs("ps", root: false))                      // a user namespace changes what it shows
    }

    func testAnInsideBlockNeedsIt() throws {
        XCTAssertTrue(needs("let ns = ns new\ninside $ns { echo hi }"))
    }
}
