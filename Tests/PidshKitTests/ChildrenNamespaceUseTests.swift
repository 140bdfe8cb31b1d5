@testable import PidshKit
import XCTest

/// Which scripts make a rootless pidsh take a PID namespace of its own: those that name
/// setns, unshare or source as a command, wherever the command is.
final class ChildrenNamespaceUseTests: XCTestCase {
    func mayMove(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let (statements, diagnostics) = Parser.parse(SourceFile(name: "t", text: code))
        XCTAssertEqual(diagnostics.count, 0, "\(diagnostics)", file: file, line: line)
        return ChildrenNamespaceUse.mayMoveChildren(statements)
    }

    func testCommandsThatMoveChildrenAreFoundAnywhere() {
        XCTAssertTrue(mayMove("setns --self"))
        XCTAssertTrue(mayMove("unshare --pid"))
        XCTAssertTrue(mayMove("source lib.pidsh"))
        XCTAssertTrue(mayMove("let ns = ns new\nsetns $ns"))
        XCTAssertTrue(mayMove("def f X { if true { while false { unshare --pid } } }"))
        XCTAssertTrue(mayMove("for x in [1, 2] { try setns --self }"))
        XCTAssertTrue(mayMove("repeat 2 { echo $(setns --self) }"))
        XCTAssertTrue(mayMove("echo \"${$(unshare --pid)}\""))
        XCTAssertTrue(mayMove("let x = $(source f)"))
        XCTAssertTrue(mayMove("if $(setns --self) == \"\" { echo }"))
        XCTAssertTrue(mayMove("expect $(unshare --pid) == \"\""))
        XCTAssertTrue(mayMove("ps | setns --self"))
        XCTAssertTrue(mayMove("echo hi > $(setns --self)"))
    }

    func testEverythingElseKeepsTheHostsNamespace() {
        XCTAssertFalse(mayMove("nest 32 --no-mount"))
        XCTAssertFalse(mayMove("let c = spawn --newpid sleep 1\nspawn --ns $c true\nmount proc /tmp/p --ns $c"))
        XCTAssertFalse(mayMove("echo setns unshare source"), "arguments are not commands")
        XCTAssertFalse(mayMove("command setns"), "`command` runs a program, not the builtin")
        XCTAssertFalse(mayMove("sh -c 'unshare --pid --fork true'"), "another program's unshare")
        XCTAssertFalse(mayMove("unshare --pid --fork --mount-proc sh -c true"), "util-linux unshare: other arguments")
        XCTAssertTrue(mayMove("unshare -p"))
        XCTAssertTrue(mayMove("let flag = \"--pid\"\nunshare $flag"), "arguments from a variable: taken to run the builtin")
        XCTAssertFalse(mayMove("let verb = \"setns\"\n$verb --self"), "a name from a variable is checked when it runs")
        XCTAssertFalse(mayMove("#: setns in narration\necho"))
    }
}
