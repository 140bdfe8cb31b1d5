import XCTest
@testable import PidshKit

/// The syntax of `inside NS { ... }` and `trap SIG { ... }`, what an inside block takes
/// along (VariableUse), and the text another pidsh parses for it (BlockText).
final class InsideTrapSyntaxTests: XCTestCase {
    func testInsideAndTrapParse() {
        let (s, d) = parse("inside $ns { kill -KILL 1; ps }\ntrap USR1 TERM { echo got }\ntrap USR1 -\ntrap\ntry inside $p { exit 3 }")
        XCTAssertEqual(d.count, 0, "\(d)")
        XCTAssertEqual(Dump.script(s), "inside $ns {kill -KILL 1; ps}; trap USR1 TERM {echo got}; trap USR1 -; trap; try inside $p {exit 3}")
    }

    func testSyntaxErrorsAreLocated() {
        let cases: [(String, String)] = [
            ("inside { ps }", "1:8: `inside` needs a namespace or a process before `{`"),
            ("inside $ns ps", "1:12: expected `{` to open the inside block"),
            ("trap USR1", "1:10: `trap SIG` needs a block to run, or `-` to reset"),
            ("trap { echo }", "1:6: `trap` needs a signal before the block"),
            ("let inside = 1", "1:5: `inside` is a keyword and cannot be a variable name"),
        ]
        for (code, expected) in cases {
            let d = parse(code).diagnostics.first
            XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column): \($0.message)" }.map { String($0.prefix(expected.count)) }, expected, code)
        }
    }

    /// The block's text, as the other pidsh parses it: located as in the script.
    func testBlockTextParsesToTheSameStatementsAtTheSameLines() throws {
        let text = "let x = 1\ninside $ns {\n    echo $x\n    let y = 2\n}\n"
        let source = SourceFile(name: "t.pidsh", text: text)
        let (s, _) = Parser.parse(source)
        guard case .inside(_, let body, let block, _) = s[1] else { return XCTFail("\(s)") }
        var p = Parser(lexer: Lexer(source: source, start: block.start, end: block.end, line: block.line, lineStart: block.lineStart))
        let again = p.parseScript()
        XCTAssertEqual(Dump.script(again), Dump.script(body))
        XCTAssertEqual(again.first?.location.line, 3)
        XCTAssertEqual(again.first?.location.column, 5)
    }

    func testWhatABlockReadsAndSets() throws {
        let (s, _) = parse("""
        echo $a ${b + 1} "$c.pid" $(echo $d)
        let e = $f
        for g in $h { if $i { let j = 1 } }
        def k { let notset = $l }
        trap USR1 { echo $m }
        """)
        let use = VariableUse(s)
        XCTAssertEqual(use.reads, ["a", "b", "c", "d", "f", "h", "i", "l", "m"])
        XCTAssertEqual(use.sets, ["e", "g", "j"])
    }

    /// The block of `inside` runs in another pidsh: a `setns` there moves that one's
    /// children, so it does not make a rootless pidsh take a namespace of its own.
    func testSetnsInsideAnInsideBlockDoesNotMoveThisPidsh() {
        let (s, _) = parse("inside $ns { setns --self }\ntrap USR1 { unshare --pid }")
        XCTAssertFalse(ChildrenNamespaceUse.mayMoveChildren(Array(s.prefix(1))))
        XCTAssertTrue(ChildrenNamespaceUse.mayMoveChildren(Array(s.suffix(1))))
    }
}
