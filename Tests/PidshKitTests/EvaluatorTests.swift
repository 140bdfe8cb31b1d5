import Foundation
import XCTest
@testable import PidshKit

/// Running the language: every statement, every operator, scopes, `$?`, arguments,
/// "did you mean", set -e behaviour and the outcomes (exit codes).
final class EvaluatorTests: XCTestCase {
    private var scratch = ""

    override func setUp() {
        super.setUp()
        scratch = makeScratchDirectory("pidsh-eval")
    }

    override func tearDown() {
        _ = try? FileManager.default.removeItem(atPath: scratch)
        XCTAssertEqual(liveChildren(), [], "processes left behind")
        super.tearDown()
    }

    /// Runs and expects success with exactly this output.
    private func assertOutput(_ script: String, _ expected: String, arguments: [String] = [],
                              file: StaticString = #filePath, line: UInt = #line) {
        let r = runScript(script, arguments: arguments, file: file, line: line)
        XCTAssertEqual(r.outcome, .success, "stderr: \(r.err)", file: file, line: line)
        XCTAssertEqual(r.out, expected, file: file, line: line)
    }

    /// Runs and expects a runtime error whose first line is `t.pidsh:SPOT: error: ...MESSAGE...`.
    private func assertRuntimeError(_ script: String, at spot: String, _ message: String, arguments: [String] = [],
                                    file: StaticString = #filePath, line: UInt = #line) -> ScriptRun {
        let r = runScript(script, arguments: arguments, file: file, line: line)
        XCTAssertEqual(r.outcome, .runtimeError, "out: \(r.out) err: \(r.err)", file: file, line: line)
        let first = r.err.split(separator: "\n").first { $0.hasPrefix("t.pidsh:") }.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("t.pidsh:\(spot): error: "), "got: \(r.err)", file: file, line: line)
        XCTAssertTrue(first.contains(message), "got: \(r.err)", file: file, line: line)
        return r
    }

    // MARK: let and values

    func testLetExpressionsAndCommands() {
        assertOutput("let x = 1 + 2\necho $x", "3\n")
        assertOutput("let s = \"hello\"\necho \"$s world\"", "hello world\n")
        assertOutput("let t = echo from a command\necho \"[$t]\"", "[from a command]\n")
        assertOutput("let t = printf 'a\\n\\n\\n'\necho \"[$t]\"", "[a]\n")   // trailing newlines removed
        assertOutput("let x = 1\nlet x = $x + 1\nlet x = \"now text\"\necho $x", "now text\n")
        assertOutput("let y = true\nlet n = not $y\necho $y $n", "true false\n")
    }

    func testABuiltinsValueKeepsItsType() {
        // `let` of a builtin gets its value (here a status), not its text.
        assertOutput("let s = spawn --wait sh -c 'exit 3'\necho $s.code $s.exited\nshow $s",
                     "3 true\nstatus exited 3 (code 3)\n")
    }

    func testVariablesAreNotWordSplit() {
        let dir = scratch
        assertOutput("let x = \"a   b\"\nprintf '<%s>' $x\necho", "<a   b>\n")
        assertOutput("let x = \"\(dir)/*\"\nprintf '<%s>' $x\necho", "<\(dir)/*>\n")
    }

    func testFieldsAndBracedExpressions() {
        assertOutput("let l = [10, 20, 30]\necho $l.length $l.first $l.last ${l.length * 2}", "3 10 30 6\n")
        assertOutput("let n = 4\necho ${n} ${n * n} \"${n + 1}!\"", "4 16 5!\n")
        assertOutput("let r = 2..5\necho $r $r.length $r.first $r.last", "2..5 4 2 5\n")
        // A dot after plain text is just text.
        assertOutput("let f = \"report\"\necho $f.txt", "report.txt\n")
    }

    func testValuesPrintReadably() {
        assertOutput("let l = [1, \"two\", [3, 4]]\nshow $l\nlet r = 1..3\nshow $r\nlet b = true\nshow $b", "[1, \"two\", [3, 4]]\n1..3\ntrue\n")
        assertOutput("let l = [1, \"a b\"]\necho $l", "1 a b\n")
    }

    // MARK: operators

    func testArithmetic() {
        assertOutput("echo ${1 + 2} ${7 - 10} ${6 * 7} ${7 / 2} ${-7 / 2} ${7 % 3} ${-7 % 3}", "3 -3 42 3 -3 1 -1\n")
        assertOutput("echo ${1 + 2 * 3} ${(1 + 2) * 3} ${10 - 2 - 3} ${2 * 3 % 4} ${-(2 + 3)} ${- -4}", "7 9 5 2 -5 4\n")
        assertOutput("let a = \"12\"\necho ${$a + 1} ${$a * 2}", "13 24\n")
    }

    func testComparisons() {
        assertOutput("echo ${1 == 1} ${1 != 1} ${1 < 2} ${2 <= 2} ${3 > 2} ${2 >= 3}", "true false true true true false\n")
        assertOutput("echo ${\"abc\" < \"abd\"} ${\"b\" > \"a\"} ${\"x\" == \"x\"} ${\"x\" != \"y\"}", "true true true true\n")
        // Numbers compare as numbers, even when one side is text.
        assertOutput("echo ${10 > 9} ${\"10\" > 9} ${1 == \"1\"} ${[1, 2] == [1, 2]} ${[1, 2] == 1..2} ${[1] == [2]}",
                     "true true true true true false\n")
    }

    func testLogic() {
        assertOutput("echo ${true and false} ${true or false} ${not true} ${not false and true} ${false or not false}",
                     "false true false true true\n")
        assertOutput("echo ${1 < 2 and 2 < 3} ${1 > 2 or 2 > 3} ${not 1 == 2}", "true false true\n")
        // `and`/`or` short-circuit: the right side is not evaluated.
        assertOutput("echo ${false and $nosuch} ${true or $nosuch}", "false true\n")
    }

    func testStringAndListConcatenation() {
        assertOutput("echo ${\"a\" + \"b\"} ${\"n\" + 1} ${1 + \"2\"}", "ab n1 3\n")
        assertOutput("let l = [1] + [2, 3]\necho $l $l.length", "1 2 3 3\n")
    }

    func testListsAndRanges() {
        assertOutput("let l = [1, \"two\", 1..2, [3]]\necho $l.length", "4\n")
        assertOutput("let e = []\necho \"[$e]\" $e.length", "[] 0\n")
        assertOutput("let r = 0..4\nfor i in $r { echo -n $i }\necho", "01234\n")
        assertOutput("let n = 2\nfor i in $n..$n + 2 { echo -n $i }\necho", "234\n")
        assertOutput("for i in 3..1 { echo $i }\necho done", "done\n")
    }

    func testDivisionByZeroIsALocatedError() {
        _ = assertRuntimeError("echo ok\nlet x = 1 / 0", at: "2:11", "division by zero")
        _ = assertRuntimeError("echo ${5 % 0}", at: "1:10", "division by zero")
    }

    func testOverflowIsALocatedError() {
        _ = assertRuntimeError("let x = 9223372036854775807 + 1", at: "1:29", "integer overflow")
        _ = assertRuntimeError("let x = -9223372036854775807 - 2", at: "1:30", "integer overflow")
        _ = assertRuntimeError("let x = 4611686018427387904 * 2", at: "1:29", "integer overflow")
        _ = assertRuntimeError("let m = -9223372036854775807 - 1\nlet x = $m / -1", at: "2:12", "integer overflow")
        _ = assertRuntimeError("let m = -9223372036854775807 - 1\nlet x = $m % -1", at: "2:12", "integer overflow")
        _ = assertRuntimeError("let m = -9223372036854775807 - 1\nlet x = - $m", at: "2:9", "integer overflow")
        assertOutput("echo ${-9223372036854775807 - 1}", "-9223372036854775808\n")
    }

    func testTypeErrorsInArithmetic() {
        _ = assertRuntimeError("let x = \"a\" - 1", at: "1:13", "`-` needs two numbers")
        _ = assertRuntimeError("let x = - \"a\"", at: "1:9", "`-` needs a number")
        _ = assertRuntimeError("let r = 1..\"z\"", at: "1:10", "a range needs integers")
    }

    // MARK: if / while / for / repeat

    func testIfElseAndElseIf() {
        assertOutput("if 1 < 2 { echo yes } else { echo no }", "yes\n")
        assertOutput("if 1 > 2 { echo yes } else { echo no }", "no\n")
        assertOutput("if false { echo yes }\necho after", "after\n")
        let chain = "for x in 1..4 {\n  if $x == 1 { echo one } else if $x == 2 { echo two } else if $x == 3 { echo three } else { echo many }\n}"
        assertOutput(chain, "one\ntwo\nthree\nmany\n")
    }

    func testIfOnACommandStatus() {
        assertOutput("if true { echo a }\nif false { echo b }\nif sh -c 'exit 0' { echo c }\nif sh -c 'exit 1' { echo d } else { echo e }",
                     "a\nc\ne\n")
        assertOutput("if ! sh -c 'exit 1' { echo negated }", "negated\n")
        assertOutput("if echo quiet | grep -q qu { echo matched }", "matched\n")
        // A failing builtin in a condition is false, its error printed, the script goes on.
        let r = runScript("if cd /nonexistent-dir { echo in } else { echo out }")
        XCTAssertEqual(r.outcome, .success)
        XCTAssertEqual(r.out, "out\n")
        XCTAssertTrue(r.err.contains("t.pidsh:1:7: error: cd /nonexistent-dir: ENOENT"), r.err)
    }

    func testTruthOfValues() {
        assertOutput("for v in [0, 1, \"\", \"x\", [], [0], true, false] { if $v { echo -n T } else { echo -n F } }\necho",
                     "FTFTFTTF\n")
    }

    func testWhileLoops() {
        assertOutput("let i = 0\nwhile $i < 3 { echo $i; let i = $i + 1 }\necho end $i", "0\n1\n2\nend 3\n")
        let file = scratch + "/flag"
        assertOutput("touch \(file)\nlet n = 0\nwhile test -e \(file) { let n = $n + 1; if $n == 2 { rm \(file) } }\necho $n", "2\n")
    }

    func testForLoops() {
        assertOutput("for i in 0..4 { echo -n $i }\necho", "01234\n")
        assertOutput("for x in [\"a b\", 2, true] { echo \"<$x>\" }", "<a b>\n<2>\n<true>\n")
        assertOutput("for w in alpha beta \"gamma delta\" { echo \"<$w>\" }", "<alpha>\n<beta>\n<gamma delta>\n")
        assertOutput("for line in $(printf 'one\\ntwo words\\nthree\\n') { echo \"<$line>\" }",
                     "<one>\n<two words>\n<three>\n")
        assertOutput("let out = printf 'x\\ny\\n'\nfor l in $out { echo \"<$l>\" }", "<x>\n<y>\n")
    }

    func testForOverAHugeRangeStartsAtOnce() {
        // The range is counted, not built: this must finish immediately.
        let start = Date()
        XCTAssertEqual(runScript("for i in 0..9223372036854775807 { if $i == 3 { exit 0 } }").outcome, .exit(0))
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        let r = runScript("for i in 0..9223372036854775807 { if $i == 2 { exit 4 } }")
        XCTAssertEqual(r.outcome, .exit(4))
    }

    func testForOverAGlob() throws {
        for n in ["b.txt", "a.txt", "c.log"] {
            _ = FileManager.default.createFile(atPath: scratch + "/" + n, contents: nil)
        }
        assertOutput("for f in \(scratch)/*.txt { echo $f }", "\(scratch)/a.txt\n\(scratch)/b.txt\n")
    }

    func testRepeat() {
        assertOutput("repeat 3 { echo r }", "r\nr\nr\n")
        assertOutput("repeat 0 { echo never }\necho ok", "ok\n")
        assertOutput("let n = 2\nrepeat $n + 1 { echo -n x }\necho", "xxx\n")
        _ = assertRuntimeError("repeat -1 { }", at: "1:8", "`repeat` needs a count of 0 or more")
        _ = assertRuntimeError("repeat \"many\" { }", at: "1:8", "`repeat` needs a count")
    }

    // MARK: scope

    func testLoopBlocksShareTheEnclosingScope() {
        assertOutput("let x = 0\nfor i in 1..3 { let x = $x + $i }\necho $x $i", "6 3\n")
        assertOutput("let n = 0\nwhile $n < 2 { let n = $n + 1; let made = \"yes\" }\necho $n $made", "2 yes\n")
        assertOutput("repeat 2 { let r = \"in-repeat\" }\necho $r", "in-repeat\n")
        assertOutput("if true { let fromIf = 1 } else { }\necho $fromIf", "1\n")
    }

    func testDefHasItsOwnScope() {
        // Parameters and new variables stay inside; globals are visible.
        assertOutput("let g = \"global\"\ndef f p { let local = 1; echo \"$g $p\" }\nf arg\necho $g", "global arg\nglobal\n")
        let r = assertRuntimeError("def f p { let local = 1 }\nf 1\necho $local", at: "3:6", "no variable `local`")
        XCTAssertEqual(r.out, "")
        _ = assertRuntimeError("def f p { }\nf 1\necho $p", at: "3:6", "no variable `p`")
        // A parameter shadows a global of the same name, which keeps its value.
        assertOutput("let x = \"outer\"\ndef f x { let x = \"changed\"; echo $x }\nf inner\necho $x", "changed\nouter\n")
        // Loops inside a def share the def's scope.
        assertOutput("def count n { let t = 0; for i in 1..$n { let t = $t + $i }; echo $t }\ncount 4", "10\n")
    }

    func testDefParametersArgsAndPositionals() {
        assertOutput("def greet who greeting { echo \"$greeting, $who\" }\ngreet world hello", "hello, world\n")
        assertOutput("def all { echo $args.length $args $1 $2 }\nall a b", "2 a b a b\n")
        // Missing parameters are empty; extra arguments are in $args.
        assertOutput("def f a b { echo \"[$a][$b]\" $args.length }\nf 1\nf 1 2 3", "[1][] 1\n[1][2] 3\n")
        // A def's arguments keep their type.
        assertOutput("def twice n { echo ${n * 2} }\ntwice ${21}", "42\n")
    }

    func testDefIsCalledLikeACommand() {
        assertOutput("def hello { echo hi }\nhello | tr a-z A-Z", "HI\n")
        assertOutput("def shout { tr a-z A-Z }\necho quiet | shout", "QUIET\n")
        assertOutput("def f { echo out }\nlet x = f\necho \"[$x]\"", "[out]\n")
        assertOutput("def fact n { if $n <= 1 { echo 1 } else { let r = fact ${n - 1}; echo ${n * $r} } }\nfact 10", "3628800\n")
        _ = assertRuntimeError("def echo { }", at: "1:1", "`echo` is a builtin")
        // Endless recursion is stopped with a located error, not a crash.
        let r = runScript("def loop { loop }\nloop")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:1:"), r.err)
        XCTAssertTrue(r.err.contains("deep"), r.err)
    }

    func testDefStatus() {
        // A body that runs to its end succeeds (a `try` inside took its failure).
        assertOutput("def tolerant { try false }\nif tolerant { echo \"yes $?\" }", "yes 0\n")
        assertOutput("def ok { true }\nif ok { echo yes }", "yes\n")
        // A failing command in the body stops it: under `if`/`try`/`!` the def fails...
        assertOutput("def bad { false\necho unreachable }\nif bad { echo y } else { echo \"n $?\" }", "n 1\n")
        assertOutput("def bad { sh -c 'exit 6' }\ntry bad\necho \"try $?\"\n! bad\necho end", "try 6\nend\n")
        // ...otherwise the script stops, located inside the def.
        _ = assertRuntimeError("def bad { false\necho unreachable }\nbad", at: "1:11", "`false` failed")
    }

    // MARK: try / expect / ! / exit

    func testTryReportsAndGoesOn() {
        let r = runScript("try false\necho \"after $?\"\ntry sh -c 'exit 7'\necho \"now $?\"\ntry cd /nonexistent-dir\necho \"cd $?\"")
        XCTAssertEqual(r.outcome, .success, r.err)
        XCTAssertEqual(r.out, "after 1\nnow 7\ncd 1\n")
        XCTAssertTrue(r.err.contains("t.pidsh:1:5: error: `false` failed"), r.err)
        XCTAssertTrue(r.err.contains("t.pidsh:3:5: error: `sh -c exit 7` exited with status 7"), r.err)
        XCTAssertTrue(r.err.contains("t.pidsh:5:8: error: cd /nonexistent-dir: ENOENT"), r.err)
        assertOutput("try true\necho $?", "0\n")
        assertOutput("try let x = sh -c 'echo partial; exit 2'\necho $?", "2\n")
        // An unknown command under try is reported, not fatal; `$?` is sh's 127.
        let u = runScript("try nosuchcommand-xyz\necho $?")
        XCTAssertEqual(u.outcome, .success)
        XCTAssertEqual(u.out, "127\n")
    }

    func testExpect() {
        assertOutput("expect 1 == 1\nexpect true \"fine\"\necho ok", "ok\n")
        let r = runScript("let x = 2\necho before\nexpect $x == 3 \"x must be three\"\necho after")
        XCTAssertEqual(r.outcome, .expectFailed)
        XCTAssertEqual(r.outcome.exitCode, 3)
        XCTAssertEqual(r.out, "before\n")
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:3:1: error: expectation failed: "), r.err)
        XCTAssertTrue(r.err.contains("left: 2 (integer), right: 3 (integer)"), r.err)
        XCTAssertTrue(r.err.contains("x must be three"), r.err)
        XCTAssertTrue(r.err.contains("\n  expect $x == 3 \"x must be three\"\n  ^~~~~~"), r.err)
        let m = runScript("let name = \"probe\"\nexpect false \"no $name\"")
        XCTAssertEqual(m.outcome, .expectFailed)
        XCTAssertTrue(m.err.contains("no probe"), m.err)
        // An expect that cannot evaluate is a runtime error, not a failed expectation.
        _ = assertRuntimeError("expect $undefined == 1", at: "1:8", "no variable `undefined`")
    }

    func testBangNegates() {
        assertOutput("! false\necho \"after $?\"", "after 0\n")
        assertOutput("! sh -c 'exit 3'\necho ok", "ok\n")
        // `! cmd` asserts cmd fails: when it succeeds the script stops (located).
        _ = assertRuntimeError("! true\necho unreachable", at: "1:1", "`!` command succeeded")
        // A failing builtin under `!` reports its error and counts as failure.
        let r = runScript("! cd /nonexistent-dir\necho ok")
        XCTAssertEqual(r.outcome, .success)
        XCTAssertEqual(r.out, "ok\n")
    }

    func testExit() {
        XCTAssertEqual(runScript("exit").outcome, .exit(0))
        XCTAssertEqual(runScript("exit 7").outcome, .exit(7))
        XCTAssertEqual(runScript("exit 7").outcome.exitCode, 7)
        let r = runScript("echo a\nexit 5\necho b")
        XCTAssertEqual(r.outcome, .exit(5))
        XCTAssertEqual(r.out, "a\n")
        // With no N: the last status.
        XCTAssertEqual(runScript("try sh -c 'exit 9'\nexit").outcome, .exit(9))
        XCTAssertEqual(runScript("for i in 1..3 { if $i == 2 { exit 42 } }").outcome, .exit(42))
        XCTAssertEqual(runScript("def quit { exit 6 }\nquit\necho no").outcome, .exit(6))
        XCTAssertEqual(runScript("echo $(exit 3)").outcome, .exit(3))
        _ = assertRuntimeError("exit abc", at: "1:6", "exit status must be a number")
    }

    func testOutcomesHaveDistinctExitCodes() {
        let codes = [
            runScript("echo ok").outcome.exitCode,
            runScript("false").outcome.exitCode,
            runScript("let = 1").outcome.exitCode,
            runScript("expect false").outcome.exitCode,
            runScript("exit 4").outcome.exitCode,
        ]
        XCTAssertEqual(codes, [0, 1, 2, 3, 4])
        XCTAssertEqual(Interpreter.Outcome.interrupted(2).exitCode, 130)
    }

    // MARK: set -e

    func testAFailingCommandStopsTheScriptWithALocatedError() {
        let r = runScript("echo one\n  sh -c 'exit 3'\necho two")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertEqual(r.out, "one\n")
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:2:3: error: `sh -c exit 3` exited with status 3\n    sh -c 'exit 3'\n    ^~\n"), r.err)
        let b = runScript("echo one\nfalse\necho two")
        XCTAssertEqual(b.out, "one\n")
        XCTAssertTrue(b.err.hasPrefix("t.pidsh:2:1: error: `false` failed"), b.err)
        // Inside blocks too, and in a `let`.
        XCTAssertEqual(runScript("for i in 1..3 { if $i == 2 { false }\necho $i }").out, "1\n")
        let l = runScript("let x = sh -c 'exit 2'\necho no")
        XCTAssertEqual(l.outcome, .runtimeError)
        XCTAssertEqual(l.out, "")
    }

    func testFailuresUnderTryIfWhileAndBangDoNotStop() {
        assertOutput("try false\nif false { }\nif sh -c 'exit 1' { }\nwhile sh -c 'exit 1' { }\n! false\necho survived", "survived\n")
    }

    func testAFailingSubstitutionStops() {
        let r = runScript("echo \"x$(sh -c 'exit 3')y\"\necho after")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertEqual(r.out, "")
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:1:10: error:"), r.err)
    }

    // MARK: $? $$ and arguments

    func testStatusVariable() {
        assertOutput("true\necho $?", "0\n")
        assertOutput("try false\necho $?\necho $?", "1\n0\n")
        assertOutput("if sh -c 'exit 4' { } else { echo \"else $?\" }", "else 4\n")
        assertOutput("while sh -c 'exit 5' { }\necho $?", "5\n")
        assertOutput("try sh -c 'exit 3'\nlet x = 1\necho $?", "0\n")
        assertOutput("try sh -c 'exit 3'\nlet s = $?\necho $s ${$? + 0}", "3 0\n")
        assertOutput("echo ${$? == 0}", "true\n")
    }

    func testOwnPid() {
        assertOutput("echo $$", "\(getpid())\n")
        assertOutput("expect $$ == \(getpid())\necho ok", "ok\n")
    }

    func testScriptArguments() {
        assertOutput("echo $1 $2 $args.length", "a b 3\n", arguments: ["a", "b", "c d"])
        assertOutput("for a in $args { echo \"<$a>\" }", "<a>\n<b>\n<c d>\n", arguments: ["a", "b", "c d"])
        assertOutput("echo $9", "9\n", arguments: (1...9).map(String.init))
        assertOutput("echo \"$1-$3\"", "x-z\n", arguments: ["x", "y", "z"])
        assertOutput("echo $args.length", "0\n")
        _ = assertRuntimeError("echo $1", at: "1:6", "$1 is not set: no arguments were given")
        _ = assertRuntimeError("echo $2", at: "1:6", "only 1 argument(s) were given", arguments: ["one"])
        // A def's positionals are its own, the script's come back after it.
        assertOutput("def f { echo $1 }\nf inner\necho $1", "inner\nouter\n", arguments: ["outer"])
    }

    // MARK: did you mean

    func testUnknownCommandSuggestsTheClosest() {
        let r = assertRuntimeError("ech hello", at: "1:1", "command not found: ech")
        XCTAssertTrue(r.err.contains("note: did you mean `echo`?"), r.err)
        let d = assertRuntimeError("def greet { }\ngret", at: "2:1", "command not found: gret")
        XCTAssertTrue(d.err.contains("did you mean `greet`?"), d.err)
        let s = assertRuntimeError("spwn sleep 1", at: "1:1", "command not found: spwn")
        XCTAssertTrue(s.err.contains("did you mean `spawn`?"), s.err)
        let n = assertRuntimeError("qqqqqqqq", at: "1:1", "command not found")
        XCTAssertFalse(n.err.contains("did you mean"), n.err)
        let p = assertRuntimeError("./no/such/program", at: "1:1", "no such program: ./no/such/program")
        XCTAssertFalse(p.err.contains("$PATH"), p.err)
    }

    func testUnknownVariableSuggestsTheClosest() {
        let r = assertRuntimeError("let child = 1\necho $chlid", at: "2:6", "no variable `chlid`")
        XCTAssertTrue(r.err.contains("note: did you mean $child?"), r.err)
        XCTAssertTrue(r.err.contains("\n  echo $chlid\n       ^~~~~~\n"), r.err)
        let a = assertRuntimeError("echo ${arg.length}", at: "1:8", "no variable `arg`")
        XCTAssertTrue(a.err.contains("did you mean $args?"), a.err)
        let q = assertRuntimeError("echo \"in quotes: $nope\"", at: "1:18", "no variable `nope`")
        XCTAssertFalse(q.err.contains("did you mean"), q.err)
    }

    func testUnknownFieldSuggestsTheClosest() {
        let r = assertRuntimeError("let l = [1]\necho $l.lenght", at: "2:6", "a list has no field `lenght`")
        XCTAssertTrue(r.err.contains("note: did you mean .length?"), r.err)
        XCTAssertTrue(r.err.contains("note: list fields: length first last"), r.err)
        let s = assertRuntimeError("let s = spawn --wait true\necho ${s.cod}", at: "2:8", "a status has no field `cod`")
        XCTAssertTrue(s.err.contains("did you mean .code?"), s.err)
        let p = assertRuntimeError("let p = spawn sleep 30\necho $p.nspdi", at: "2:6", "a process has no field `nspdi`")
        XCTAssertTrue(p.err.contains("did you mean .nspid?"), p.err)
    }

    func testUnknownHelpTopicSuggests() {
        let r = assertRuntimeError("help ech", at: "1:6", "no builtin `ech`")
        XCTAssertTrue(r.err.contains("did you mean `help echo`?"), r.err)
    }

    // MARK: builtins of the contract: echo cd source help

    func testEcho() {
        assertOutput("echo", "\n")
        assertOutput("echo a   b \"c  d\" 'e'", "a b c  d e\n")
        assertOutput("echo -n no-newline; echo", "no-newline\n")
        assertOutput("echo \"tab\\there\" 'raw\\t'", "tab\there raw\\t\n")
    }

    func testCd() {
        let before = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(before) }
        assertOutput("cd \(scratch)\npwd", "\(scratch)\n")
        XCTAssertEqual(FileManager.default.currentDirectoryPath, scratch)
        _ = FileManager.default.changeCurrentDirectoryPath(before)
        assertOutput("cd \(scratch)\ntouch made-here\ncd /\nls \(scratch)", "made-here\n")
        _ = assertRuntimeError("cd \(scratch)/missing", at: "1:4", "cd \(scratch)/missing: ENOENT")
    }

    func testSource() throws {
        let lib = scratch + "/lib.pidsh"
        try "let fromlib = 42\ndef libfn x { echo \"lib says $x\" }\n".write(toFile: lib, atomically: true, encoding: .utf8)
        assertOutput("source \(lib)\necho $fromlib\nlibfn hi", "42\nlib says hi\n")
        // Sourced code runs in the current scope.
        try "echo $before\nlet after = \"set-by-lib\"\n".write(toFile: lib, atomically: true, encoding: .utf8)
        assertOutput("let before = \"seen\"\nsource \(lib)\necho $after", "seen\nset-by-lib\n")
        // Its errors are located in its own file.
        try "echo fine\nfalse\n".write(toFile: lib, atomically: true, encoding: .utf8)
        let r = runScript("source \(lib)\necho no")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertEqual(r.out, "fine\n")
        XCTAssertTrue(r.err.hasPrefix("\(lib):2:1: error: `false` failed\n  false\n  ^~~~~"), r.err)
        // A syntax error in it runs none of it.
        try "echo should-not-print\nlet = 1\n".write(toFile: lib, atomically: true, encoding: .utf8)
        let s = runScript("source \(lib)")
        XCTAssertEqual(s.outcome, .runtimeError)
        XCTAssertEqual(s.out, "")
        XCTAssertTrue(s.err.contains("\(lib):2:5: error: `let` needs a variable name"), s.err)
        XCTAssertTrue(s.err.contains("t.pidsh:1:8: error: source: "), s.err)
        // A file sourcing itself is stopped.
        try "source \(lib)\n".write(toFile: lib, atomically: true, encoding: .utf8)
        let loop = runScript("source \(lib)")
        XCTAssertEqual(loop.outcome, .runtimeError)
        XCTAssertTrue(loop.err.contains("nested 32 deep"), loop.err)
        _ = assertRuntimeError("source \(scratch)/missing.pidsh", at: "1:8", "source: ")
    }

    func testHelp() {
        let r = runScript("help")
        XCTAssertEqual(r.outcome, .success)
        XCTAssertTrue(r.out.hasPrefix("pidsh commands (help COMMAND for details):\n"), r.out)
        for name in ["echo", "cd", "exit", "source", "help", "spawn", "ns new", "kill", "wait", "nest", "ps", "pids", "mount proc", "umount", "unshare", "setns"] {
            XCTAssertTrue(r.out.contains("\n  \(name) "), "help does not list \(name)")
        }
        let e = runScript("help echo")
        XCTAssertTrue(e.out.hasPrefix("usage: echo [-n] WORDS...\n"), e.out)
        let ns = runScript("help ns new")
        XCTAssertTrue(ns.out.hasPrefix("usage: ns new"), ns.out)
        let group = runScript("help ns")
        XCTAssertTrue(group.out.contains("usage: ns new") && group.out.contains("ns list"), group.out)
        let def = runScript("def greet who { }\nhelp greet")
        XCTAssertTrue(def.out.hasPrefix("usage: greet who  (def at t.pidsh:1:1)"), def.out)
    }

    // MARK: narration, comments, statements on one line

    func testNarrationIsSilentByDefaultAndPrintedWhenNarrating() {
        assertOutput("#: the story\necho a # comment\n#: more", "a\n")
        var options = InterpreterOptions()
        options.narrate = true
        let i = Interpreter.capturing(options: options)
        defer { i.close() }
        XCTAssertEqual(i.run("#: the story\necho a\n  #:   indented", name: "n.pidsh"), .success)
        XCTAssertEqual(i.out.text, "the story\na\n  indented\n")
        // --step shows them too (with no stepper attached, nothing pauses).
        var stepping = InterpreterOptions()
        stepping.step = true
        let s = Interpreter.capturing(options: stepping)
        defer { s.close() }
        XCTAssertEqual(s.run("#: step story\necho b", name: "s.pidsh"), .success)
        XCTAssertEqual(s.out.text, "step story\nb\n")
    }

    func testSemicolonsAndContinuations() {
        assertOutput("echo a; echo b;echo c", "a\nb\nc\n")
        assertOutput("echo one \\\n  two \\\n  three", "one two three\n")
    }

    // MARK: embedding

    func testAnInterpreterKeepsStateAcrossRuns() {
        let i = Interpreter.capturing()
        defer { i.close() }
        XCTAssertEqual(i.run("let x = 1\ndef inc { let x = $x + 1 }", name: "a"), .success)
        XCTAssertEqual(i.run("inc\ninc\necho $x", name: "b"), .success)
        XCTAssertEqual(i.out.text, "3\n")
        // A syntax error in a later run leaves the state alone.
        XCTAssertEqual(i.run("let x = 100\nlet = 1", name: "c"), .syntaxErrors(1))
        XCTAssertEqual(i.run("echo $x", name: "d"), .success)
        XCTAssertEqual(i.out.text, "3\n3\n")
    }
}
