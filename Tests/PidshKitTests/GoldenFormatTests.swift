import XCTest
@testable import PidshKit
import PidshSystem

/// The transcript format of `pidsh test`: each matching form, the exit status line,
/// output split by statement marks, `#>` blocks and how `--update` rewrites them, and
/// the diff's order and line numbers.
final class GoldenFormatTests: XCTestCase {
    func line(_ text: String, last: Bool = false) -> ExpectedLine { ExpectedLine(text, line: 1, last: last) }
    func text(_ s: String) -> ActualLine { .text(s, noEOL: false) }

    // MARK: matching forms

    func testLiteralLinesMatchExactly() {
        XCTAssertTrue(line("PID 1").matches(text("PID 1")))
        XCTAssertFalse(line("PID 1").matches(text("PID 12")))
        XCTAssertFalse(line("PID 1").matches(text("PID 1 ")))
        // Pattern characters in a plain line are themselves.
        XCTAssertTrue(line("a.* [x]").matches(text("a.* [x]")))
        XCTAssertFalse(line("a.*").matches(text("abc")))
    }

    func testRegexLinesMatchTheWholeLineAsGrepE() {
        let re = line("PID [0-9]+ (sleep|sh) (re)")
        XCTAssertTrue(re.matches(text("PID 42 sleep")))
        XCTAssertTrue(re.matches(text("PID 7 sh")))
        XCTAssertFalse(re.matches(text("PID x sleep")))
        // Anchored at both ends: a match inside the line is not enough.
        XCTAssertFalse(re.matches(text("xPID 42 sleep")))
        XCTAssertFalse(re.matches(text("PID 42 sleepy")))
        // An alternation at the top is anchored as a whole.
        XCTAssertFalse(line("a|b (re)").matches(text("ab")))
        XCTAssertTrue(line("a|b (re)").matches(text("b")))
        // A line that really ends in ` (re)` is written as a regex.
        XCTAssertTrue(line(#"x \(re\) (re)"#).matches(text("x (re)")))
    }

    func testAnInvalidRegexNeverMatchesAndIsReported() {
        let bad = line("a( (re)")
        XCTAssertFalse(bad.matches(text("a(")))
        XCTAssertNotNil(bad.problem)
        // A stray `)` must not be balanced by the anchoring group.
        XCTAssertNotNil(line("a)(b (re)").problem)
    }

    func testGlobLines() {
        XCTAssertTrue(line("pid:[*] (glob)").matches(text("pid:[4026531836]")))
        XCTAssertTrue(line("a?c (glob)").matches(text("abc")))
        XCTAssertFalse(line("a?c (glob)").matches(text("ac")))
        XCTAssertTrue(line("*.pidsh:*: error: * (glob)").matches(text("x.pidsh:3:1: error: no")))
        XCTAssertTrue(line(#"literal \* star (glob)"#).matches(text("literal * star")))
        XCTAssertFalse(line(#"literal \* star (glob)"#).matches(text("literal x star")))
        // Brackets are not special in a glob line.
        XCTAssertTrue(line("[1] (glob)").matches(text("[1]")))
        XCTAssertFalse(line("[12] (glob)").matches(text("1")))
        XCTAssertTrue(line("** (glob)").matches(text("")))
    }

    func testStatusLineOnlyWhenLast() {
        XCTAssertTrue(line("[3]", last: true).matches(.status(3)))
        XCTAssertFalse(line("[3]", last: true).matches(.status(1)))
        XCTAssertFalse(line("[3]", last: true).matches(text("[3]")))
        // Elsewhere `[3]` is a literal line.
        XCTAssertTrue(line("[3]").matches(text("[3]")))
        XCTAssertFalse(line("[3]").matches(.status(3)))
        // The form of older goldens still reads.
        XCTAssertTrue(line("[exit 3]", last: true).matches(.status(3)))
    }

    func testNoEOL() {
        XCTAssertTrue(line("partial (no-eol)").matches(.text("partial", noEOL: true)))
        XCTAssertFalse(line("partial").matches(.text("partial", noEOL: true)))
        XCTAssertFalse(line("partial (no-eol)").matches(text("partial")))
        XCTAssertEqual(ActualLine.lines(of: "a\nb"), [text("a"), .text("b", noEOL: true)])
        XCTAssertEqual(ActualLine.lines(of: "a\n\n"), [text("a"), text("")])
    }

    func testRecordingEscapesLinesThatWouldReadAsPatterns() {
        for s in ["x (re)", "y (glob)", "z (no-eol)", "[3]", "plain", "a.b*"] {
            let recorded = ActualLine.text(s, noEOL: false).recorded
            XCTAssertTrue(ExpectedLine(recorded, line: 1, last: true).matches(text(s)), "\(s) recorded as \(recorded)")
        }
        XCTAssertEqual(text("a.b*").recorded, "a.b*")
        XCTAssertEqual(ActualLine.status(2).recorded, "[2]")
    }

    // MARK: statement marks

    func testRunOutputSplitsAtMarks() {
        let bytes = Array(("before" + RunOutput.mark(0) + "one\n" + RunOutput.mark(2) + "two\nthr" + RunOutput.mark(3) + "ee\n").utf8)
        let run = RunOutput(bytes: bytes, status: .exited(0))
        XCTAssertEqual(run.beforeStatements, "before")
        XCTAssertEqual(run.byStatement.map { $0.index }, [0, 2, 3])
        XCTAssertEqual(run.byStatement.map { $0.text }, ["one\n", "two\nthr", "ee\n"])
        XCTAssertEqual(run.text, "beforeone\ntwo\nthree\n")
        // A NUL that starts no mark is output.
        XCTAssertEqual(RunOutput(bytes: [0, 65, 10], status: .exited(1)).lines, [.text("\u{0}A", noEOL: false), .status(1)])
    }

    // MARK: #> blocks

    let script = """
    #test: exclusive
    echo a
    #> a
    #: narration
    for i in [1, 2] {
        echo $i
    }
    #> 1
    #> [0-9] (re)
    echo 'ends
    #> not an expectation: inside a string'
    echo b; echo c

    """

    func testOutlineGroupsStatementsAndTheirBlocks() {
        let o = ScriptOutline(source: SourceFile(name: "t.pidsh", text: script))
        XCTAssertEqual(o.groups.map { $0.startLine }, [2, 5, 10, 12])
        XCTAssertEqual(o.groups.map { $0.endLine }, [2, 7, 11, 12])
        XCTAssertEqual(o.expectations, [[3], [8, 9], [], []])
        // The narration belongs to the group before it.
        XCTAssertEqual(o.groupOfStatement, [0, 0, 1, 2, 3, 3])
        XCTAssertTrue(o.directives.exclusive)
        XCTAssertEqual(o.expectedText(9), "[0-9] (re)")
    }

    func testInlineCheckAttributesOutputToStatements() {
        let o = ScriptOutline(source: SourceFile(name: "t.pidsh", text: script))
        let run = RunOutput(bytes: Array((RunOutput.mark(0) + "a\n" + RunOutput.mark(1) + RunOutput.mark(2) + "1\n2\n"
                                          + RunOutput.mark(3) + "ends\n#> not an expectation: inside a string\n"
                                          + RunOutput.mark(4) + "b\n" + RunOutput.mark(5) + "c\n").utf8), status: .exited(0))
        let check = TranscriptCheck(inline: o, run: run)
        XCTAssertEqual(check.blocks.map { $0.passes }, [true, true, true, false, false])
        // --update keeps the pattern line that still matches and adds what is missing.
        let rewritten = InlineRewrite.rewrite(o, blocks: check.blocks)
        XCTAssertEqual(rewritten, """
        #test: exclusive
        echo a
        #> a
        #: narration
        for i in [1, 2] {
            echo $i
        }
        #> 1
        #> [0-9] (re)
        echo 'ends
        #> not an expectation: inside a string'
        #> ends
        #> #> not an expectation: inside a string
        echo b; echo c
        #> b
        #> c

        """)
        let again = TranscriptCheck(inline: ScriptOutline(source: SourceFile(name: "t.pidsh", text: rewritten)), run: run)
        XCTAssertTrue(again.passes)
    }

    func testStatusGoesWithTheStatementThatFailed() {
        let o = ScriptOutline(source: SourceFile(name: "t.pidsh", text: "echo a\nfalse\necho never\n"))
        let run = RunOutput(bytes: Array((RunOutput.mark(0) + "a\n" + RunOutput.mark(1) + "t.pidsh:2:1: error: `false` failed\n").utf8),
                            status: .exited(1))
        let rewritten = InlineRewrite.rewrite(o, blocks: TranscriptCheck(inline: o, run: run).blocks)
        XCTAssertEqual(rewritten, "echo a\n#> a\nfalse\n#> t.pidsh:2:1: error: `false` failed\n#> [1]\necho never\n")
        let check = TranscriptCheck(inline: ScriptOutline(source: SourceFile(name: "t.pidsh", text: rewritten)), run: run)
        XCTAssertTrue(check.passes)
        XCTAssertEqual(check.expectedStatus, 1)
    }

    func testExpectationsInsideABlockAreMisplaced() {
        let o = ScriptOutline(source: SourceFile(name: "t.pidsh", text: "for i in [1] {\n    echo $i\n    #> 1\n}\n"))
        XCTAssertEqual(o.misplaced, [3])
    }

    func testUnknownDirectiveIsAProblem() {
        let o = ScriptOutline(source: SourceFile(name: "t.pidsh", text: "#test: skip-unless moon\n#test: skip-unless command runc\n"))
        XCTAssertEqual(o.directives.problems.map { $0.line }, [1])
        XCTAssertEqual(o.directives.requiredCommands, ["runc"])
        XCTAssertNotNil(o.directives.skipReason(isRoot: true, findCommand: { _ in false }))
        XCTAssertNil(o.directives.skipReason(isRoot: true, findCommand: { _ in true }))
    }

    // MARK: the diff

    func testDiffOrderAndBothLineNumbers() {
        let check = TranscriptCheck(outFile: "x.out", text: "one\nTWO\nthree\n",
                                    run: RunOutput(bytes: Array("one\ntwo\nthree\nfour\n".utf8), status: .exited(0)))
        let (plain, _, first) = check.report(oldName: "x.out", newName: "x.pidsh (this run)", palette: Palette(on: false), inline: false)
        XCTAssertEqual(plain, """
        --- x.out
        +++ x.pidsh (this run)
        @@ -1,3 +1,4 @@
            1    1 | one
        -   2      | TWO
        +        2 | two
            3    3 | three
        +        4 | four

        """)
        XCTAssertEqual(first, 2)
    }

    func testColouredDiff() {
        let check = TranscriptCheck(outFile: "x.out", text: "a\n", run: RunOutput(bytes: Array("b\n".utf8), status: .exited(0)))
        let (_, colored, _) = check.report(oldName: "x.out", newName: "new", palette: Palette(on: true), inline: false)
        XCTAssertTrue(colored.contains("\u{1B}[31m-   1      | a\u{1B}[0m"), colored)
        XCTAssertTrue(colored.contains("\u{1B}[32m+        1 | b\u{1B}[0m"), colored)
    }

    func testUpdateKeepsMatchingPatternLines() {
        let check = TranscriptCheck(outFile: "x.out", text: "pid [0-9]+ (re)\nold\n[2]\n",
                                    run: RunOutput(bytes: Array("pid 77\nnew\n".utf8), status: .exited(2)))
        XCTAssertEqual(check.blocks[0].updated, ["pid [0-9]+ (re)", "new", "[2]"])
        XCTAssertEqual(check.expectedStatus, 2)
    }
}
