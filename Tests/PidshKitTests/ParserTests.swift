import XCTest
@testable import PidshKit

/// The parser: every statement form of the contract, located errors, recovery,
/// incomplete input, and "a syntax error runs nothing".
final class ParserTests: XCTestCase {
    /// The script's AST, rendered; fails on any diagnostic.
    private func ast(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let (s, d) = parse(text)
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column): \($0.message)" }, [],
                       "unexpected diagnostics for \(text.debugDescription)", file: file, line: line)
        return Dump.script(s)
    }

    /// The diagnostics as `LINE:COL` strings.
    private func errorSpots(_ text: String) -> [String] {
        parse(text).diagnostics.map { "\($0.location.line):\($0.location.column)" }
    }

    private func firstError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Diagnostic? {
        let d = parse(text).diagnostics
        XCTAssertFalse(d.isEmpty, "expected a syntax error in \(text.debugDescription)", file: file, line: line)
        return d.first
    }

    // MARK: commands and pipelines

    func testSimpleCommands() {
        XCTAssertEqual(ast("echo hello world"), "echo hello world")
        XCTAssertEqual(ast("exit 3"), "exit 3")
        XCTAssertEqual(ast("exit"), "exit")
        XCTAssertEqual(ast("source lib.pidsh"), "source lib.pidsh")
        XCTAssertEqual(ast("cd /tmp"), "cd /tmp")
        XCTAssertEqual(ast("help"), "help")
        XCTAssertEqual(ast("help ns new"), "help ns new")
        XCTAssertEqual(ast("command ls -l"), "command ls -l")
        XCTAssertEqual(ast("echo a; echo b\n\n;echo c"), "echo a; echo b; echo c")
    }

    func testPipelinesRedirectionsAndNegation() {
        XCTAssertEqual(ast("yes | head -n 3"), "yes | head -n 3")
        XCTAssertEqual(ast("a|b|c"), "a | b | c")
        XCTAssertEqual(ast("! grep -q x f"), "! grep -q x f")
        XCTAssertEqual(ast("! a | b"), "! a | b")
        XCTAssertEqual(ast("cmd > out >> app < in 2> err 2>&1"), "cmd >out >>app <in 2>err 2>&1")
        XCTAssertEqual(ast("> out echo x"), "echo x >out")
        XCTAssertEqual(ast("sh -c x 2>&1 | cat > f"), "sh -c x 2>&1 | cat >f")
    }

    func testPipelineLocationsAndRedirectionTargets() {
        let (s, _) = parse("x\n  a > f | b")
        guard s.count == 2, case .pipeline(let p) = s[1] else { return XCTFail("\(s)") }
        XCTAssertEqual([p.location.line, p.location.column], [2, 3])
        XCTAssertEqual(p.commands.map { $0.location.column }, [3, 11])
        XCTAssertEqual(p.commands[0].redirections.first?.location.column, 5)
        XCTAssertEqual(p.commands[0].redirections.first?.target?.location.column, 7)
    }

    func testBangInsideACommandIsAWord() {
        XCTAssertEqual(ast("echo ! x"), "echo ! x")
    }

    func testNarrationIsAStatement() {
        XCTAssertEqual(ast("#: hello there\necho a"), "#:hello there; echo a")
        let (s, _) = parse("#: one")
        XCTAssertEqual(s.first?.location.column, 1)
    }

    // MARK: let

    func testLetWithExpressions() {
        XCTAssertEqual(ast("let x = 1 + 2 * 3"), "let x = (+ 1 (* 2 3))")
        XCTAssertEqual(ast("let x = (1 + 2) * 3"), "let x = (* (+ 1 2) 3)")
        XCTAssertEqual(ast("let s = \"a $b\""), "let s = \"'a '$b\"")
        XCTAssertEqual(ast("let s = 'lit'"), "let s = \"'lit'\"")
        XCTAssertEqual(ast("let v = $child.pid"), "let v = $child.pid")
        XCTAssertEqual(ast("let b = true"), "let b = true")
        XCTAssertEqual(ast("let b = not false"), "let b = (not false)")
        XCTAssertEqual(ast("let l = [1, \"two\", $x]"), "let l = [1, \"'two'\", $x]")
        XCTAssertEqual(ast("let l = []"), "let l = []")
        XCTAssertEqual(ast("let l = [\n 1,\n 2\n]"), "let l = [1, 2]")
        XCTAssertEqual(ast("let r = 0..4"), "let r = (0..4)")
        XCTAssertEqual(ast("let r = 1..$n + 1"), "let r = (1..(+ $n 1))")
        XCTAssertEqual(ast("let n = -5"), "let n = (- 5)")
        XCTAssertEqual(ast("let n = 7 % 3 - -1"), "let n = (- (% 7 3) (- 1))")
        XCTAssertEqual(ast("let x = $(echo hi)"), "let x = $(echo hi)")
        XCTAssertEqual(ast("let x = ${1 + 1}"), "let x = ${(+ 1 1)}")
        XCTAssertEqual(ast("let c = $a == 1 and $b != 2 or not $c"),
                       "let c = (or (and (== $a 1) (!= $b 2)) (not $c))")
        XCTAssertEqual(ast("let c = 1 < 2"), "let c = (< 1 2)")
        XCTAssertEqual(ast("let c = 1 <= 2"), "let c = (<= 1 2)")
        XCTAssertEqual(ast("let c = 1 > 2"), "let c = (> 1 2)")
        XCTAssertEqual(ast("let c = 1 >= 2"), "let c = (>= 1 2)")
    }

    func testLetWithCommands() {
        XCTAssertEqual(ast("let child = spawn --newpid --mount-proc /proc2 sleep 600"),
                       "let child = cmd(spawn --newpid --mount-proc /proc2 sleep 600)")
        XCTAssertEqual(ast("let ns = ns new --name demo"), "let ns = cmd(ns new --name demo)")
        XCTAssertEqual(ast("let n = ls /proc | wc -l"), "let n = cmd(ls /proc | wc -l)")
        XCTAssertEqual(ast("let ok = ! false"), "let ok = cmd(! false)")
        XCTAssertEqual(ast("let p = /bin/echo x"), "let p = cmd(/bin/echo x)")
    }

    func testLetLocation() {
        let (s, _) = parse("\n   let x = 1")
        XCTAssertEqual(s.first.map { "\($0.location.line):\($0.location.column)" }, "2:4")
    }

    // MARK: control flow

    func testIfElse() {
        XCTAssertEqual(ast("if $x == 1 { echo one } else { echo other }"),
                       "if (== $x 1) {echo one} else {echo other}")
        XCTAssertEqual(ast("if true { echo a }"), "if true {echo a}")
        XCTAssertEqual(ast("if grep -q root /etc/passwd { echo yes }"), "if cmd(grep -q root /etc/passwd) {echo yes}")
        XCTAssertEqual(ast("if ! test -e /x { echo no }"), "if cmd(! test -e /x) {echo no}")
        XCTAssertEqual(ast("if $a { }"), "if $a {}")
        XCTAssertEqual(ast("if 1 < 2 {\n  echo a\n  echo b\n}\nelse_cmd"), "if (< 1 2) {echo a; echo b}; else_cmd")
        XCTAssertEqual(ast("if a {\n} else {\n  echo b\n}"), "if cmd(a) {} else {echo b}")
    }

    func testElseIfChains() {
        XCTAssertEqual(ast("if $x == 1 { echo a } else if $x == 2 { echo b } else { echo c }"),
                       "if (== $x 1) {echo a} else if (== $x 2) {echo b} else {echo c}")
        XCTAssertEqual(ast("if a { } else if b { } else if c { }"),
                       "if cmd(a) {} else if cmd(b) {} else if cmd(c) {}")
    }

    func testWhile() {
        XCTAssertEqual(ast("while $i < 3 { let i = $i + 1 }"), "while (< $i 3) {let i = (+ $i 1)}")
        XCTAssertEqual(ast("while test -e /tmp/flag { sleep 1 }"), "while cmd(test -e /tmp/flag) {sleep 1}")
    }

    func testForOverRangesListsWordsAndCommandOutput() {
        XCTAssertEqual(ast("for i in 0..4 { echo $i }"), "for i in (0..4) {echo $i}")
        XCTAssertEqual(ast("for i in [1, 2] { echo $i }"), "for i in [1, 2] {echo $i}")
        XCTAssertEqual(ast("for w in a b c { echo $w }"), "for w in words(a b c) {echo $w}")
        XCTAssertEqual(ast("for f in /proc/[1-9]* { echo $f }"), "for f in words(/proc/[1-9]*) {echo $f}")
        XCTAssertEqual(ast("for l in $(ls /) { echo $l }"), "for l in $(ls /) {echo $l}")
        XCTAssertEqual(ast("for x in $list { }"), "for x in $list {}")
        XCTAssertEqual(ast("for x in 1..$n {\n}"), "for x in (1..$n) {}")
    }

    func testRepeat() {
        XCTAssertEqual(ast("repeat 3 { echo r }"), "repeat 3 {echo r}")
        XCTAssertEqual(ast("repeat $n * 2 { }"), "repeat (* $n 2) {}")
    }

    func testDef() {
        XCTAssertEqual(ast("def greet who greeting { echo $greeting $who }"),
                       "def greet(who greeting) {echo $greeting $who}")
        XCTAssertEqual(ast("def noargs {\n  echo hi\n}"), "def noargs() {echo hi}")
        XCTAssertEqual(ast("def show-all { }"), "def show-all() {}")
    }

    func testTryAndExpect() {
        XCTAssertEqual(ast("try kill $p"), "try kill $p")
        XCTAssertEqual(ast("try let x = cat /nonexistent"), "try let x = cmd(cat /nonexistent)")
        XCTAssertEqual(ast("try a | b"), "try a | b")
        XCTAssertEqual(ast("expect $child.nspid == 1"), "expect (== $child.nspid 1)")
        XCTAssertEqual(ast("expect $n > 0 \"n must be positive\""), "expect (> $n 0) msg \"'n must be positive'\"")
        XCTAssertEqual(ast("expect $ok 'single'"), "expect $ok msg \"'single'\"")
        XCTAssertEqual(ast("expect not $dead"), "expect (not $dead)")
    }

    func testNestedBlocks() {
        let text = """
        def f n {
          for i in 1..$n {
            if $i % 2 == 0 { echo even } else { while false { } }
          }
        }
        """
        XCTAssertEqual(ast(text), "def f(n) {for i in (1..$n) {if (== (% $i 2) 0) {echo even} else {while false {}}}}")
    }

    func testTheContractExampleParses() {
        XCTAssertEqual(ast(FuzzTests.contractExample), [
            "#:PID namespaces: first investigations (pidns_init_sleep)",
            "let child = cmd(spawn --newpid --mount-proc /proc2 sleep 600)",
            "echo 'PID returned by clone(): '$child.pid",
            "echo 'child: PID = '$child.nspid', PPID = '$child.nsppid",
            "expect (== $child.nspid 1)",
            "readlink /proc/$child.pid/ns/pid",
            "ls -d /proc2/[1-9]*",
            "grep -E '^(Name|PP*id)' /proc2/1/status",
            "kill $child",
        ].joined(separator: "; "))
    }

    func testContractStatementSynopsisForms() {
        let forms = [
            "ns new --parent $ns --name N",
            "spawn --ns $ns --wait --name N sleep 1",
            "unshare --pid",
            "setns $ns", "setns --self",
            "mount proc /tmp/p --ns $ns --keep", "umount /tmp/p",
            "ps --ns $ns -C sleep -o pid,ppid,cmd --tree --json",
            "pids $p --json", "nest 3 --mount-proc /tmp/proc{level} --verbose sleep 5",
            "ns list --json", "ns tree --dot", "ns id $p", "kill -KILL $p", "kill -9 $ns", "wait $p",
        ]
        for f in forms { XCTAssertEqual(ast(f), f) }
    }

    // MARK: located errors

    func testErrorsAreLocatedExactly() {
        XCTAssertEqual(errorSpots("let = 3"), ["1:5"])
        XCTAssertEqual(errorSpots("let x 3"), ["1:7"])
        XCTAssertEqual(errorSpots("echo ok\n  if { }"), ["2:6"])
        XCTAssertEqual(errorSpots("for in 0..3 { }"), ["1:5"])
        XCTAssertEqual(errorSpots("for x on 0..3 { }"), ["1:7"])
        XCTAssertEqual(errorSpots("repeat { }"), ["1:8"])
        XCTAssertEqual(errorSpots("x\n}"), ["2:1"])
        XCTAssertEqual(errorSpots("else { }"), ["1:1"])
        XCTAssertEqual(errorSpots("{ echo }"), ["1:1"])
        XCTAssertEqual(errorSpots("let x = 1 = 2"), ["1:11"])
        XCTAssertEqual(errorSpots("let x = (1 + 2"), ["1:15"])
        XCTAssertEqual(errorSpots("let x = [1 2]"), ["1:12"])
        XCTAssertEqual(errorSpots("let x = 1 +"), ["1:12"])
        XCTAssertEqual(errorSpots("echo a > "), ["1:10"])
        XCTAssertEqual(errorSpots("echo a | | b"), ["1:10"])
        XCTAssertEqual(errorSpots("if true { echo a } echo b"), ["1:20"])
        XCTAssertEqual(errorSpots("echo ${}"), ["1:6"])
        XCTAssertEqual(errorSpots("echo ${1 +}"), ["1:11"])
        XCTAssertEqual(errorSpots("echo x\necho $(let = 1)"), ["2:12"])
        XCTAssertEqual(errorSpots("def { }"), ["1:5"])
        XCTAssertEqual(errorSpots("def f 'p' { }"), ["1:7"])
        XCTAssertEqual(errorSpots("let if = 1"), ["1:5"])
        XCTAssertEqual(errorSpots("expect"), ["1:7"])
        XCTAssertEqual(errorSpots("try"), ["1:4"])
        XCTAssertEqual(errorSpots("echo {"), ["1:6"])
    }

    func testErrorMessagesExplain() {
        XCTAssertTrue(firstError("let x 3")?.message.contains("expected `=`") ?? false)
        XCTAssertTrue(firstError("if true { } \nelse { }")?.message.contains("`else` without an `if`") ?? false)
        XCTAssertTrue(firstError("let x = 1 = 2")?.message.contains("compare with `==`") ?? false)
        XCTAssertTrue(firstError("x\n}")?.message.contains("without a matching `{`") ?? false)
        XCTAssertTrue(firstError("if { }")?.message.contains("needs a condition") ?? false)
    }

    func testMultipleErrorsInOnePass() {
        let text = """
        echo start
        let = 1
        echo fine
        if { echo x }
        for x on 1..2 { echo $x }
        let y = (1 + 2
        repeat { }
        }
        echo end
        """
        let d = parse(text).diagnostics
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column)" },
                       ["2:5", "4:4", "5:7", "6:15", "7:8", "8:1"])
        XCTAssertTrue(d.allSatisfy { !$0.isIncompleteInput })
        XCTAssertTrue(d.allSatisfy { $0.location.file == "t.pidsh" })
    }

    func testRecoveryKeepsGoodStatements() {
        let (s, d) = parse("echo a\nlet = 1\necho b\nif { }\necho c")
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(Dump.script(s), "echo a; echo b; echo c")
    }

    func testRecoverySkipsWholeBlocksAfterAnError() {
        // The error is in the header; the block's own `}` must not count as stray.
        let d = parse("for x on 1..2 {\n  echo $x\n}\necho ok\nlet = 2").diagnostics
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column)" }, ["1:7", "5:5"])
    }

    func testErrorsInsideBlocksAndNestedBlocks() {
        let text = "if true {\n  let = 1\n  while true {\n    for in x { }\n  }\n}\nlet 5 = 1"
        XCTAssertEqual(errorSpots(text), ["2:7", "4:9", "7:5"])
    }

    // MARK: incomplete input

    func testIncompleteInputIsFlagged() {
        let incomplete = [
            "if true {", "if true {\n  echo a", "def f x {\n", "while true { if x {", "for i in 0..3 {\n echo",
            "echo 'abc", "echo \"abc", "echo \"abc\n", "echo a \\", "echo a \\\n", "let x =", "let x = [1,",
            "let x = (1 +", "echo a |", "echo $(ls", "echo ${x", "if true { } else {", "repeat 3 {",
            "let x = [", "echo a >", "for x in",
        ]
        for text in incomplete {
            let d = parse(text).diagnostics
            XCTAssertFalse(d.isEmpty, "no diagnostic for \(text.debugDescription)")
            XCTAssertTrue(d.contains { $0.isIncompleteInput }, "not flagged incomplete: \(text.debugDescription): \(d)")
        }
    }

    func testCompleteButWrongInputIsNotIncomplete() {
        for text in ["let = 1", "x\n}", "if { }", "let x = 1 = 2", "echo a | | b", "else { }", "let x = (1 + 2))"] {
            let d = parse(text).diagnostics
            XCTAssertFalse(d.isEmpty, text)
            XCTAssertFalse(d.contains { $0.isIncompleteInput }, "flagged incomplete: \(text.debugDescription): \(d)")
        }
    }

    func testOpenBlockErrorPointsAtTheBrace() {
        let d = parse("echo a\nif true {\n  echo b\n").diagnostics
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column)" }, ["2:9"])
        XCTAssertTrue(d[0].message.contains("never closed"))
    }

    func testCompleteInputsParseCleanly() {
        for text in ["", "\n\n", "# just a comment", "#: narration only", "echo a \\\n b", ";;;", "if true {\n}\n"] {
            XCTAssertEqual(parse(text).diagnostics.count, 0, text.debugDescription)
        }
    }

    // MARK: rendering and "a syntax error runs nothing"

    func testRenderingHasHeaderSourceLineAndCaret() {
        let source = SourceFile(name: "demo.pidsh", text: "echo ok\nlet x 3\n")
        let (_, d) = Parser.parse(source)
        XCTAssertEqual(d.count, 1)
        let rendered = DiagnosticRenderer.render(d[0], source: source)
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "demo.pidsh:2:7: error: expected `=` after `let x`")
        XCTAssertEqual(lines[1], "  let x 3")
        XCTAssertEqual(lines[2], "        ^")
        XCTAssertEqual(d[0].description, "demo.pidsh:2:7: error: expected `=` after `let x`")
    }

    func testCaretSpansTheToken() {
        let source = SourceFile(name: "s", text: "x\n  } ")
        let d = Parser.parse(source).diagnostics
        let rendered = DiagnosticRenderer.render(d[0], source: source)
        XCTAssertEqual(rendered.split(separator: "\n").map(String.init),
                       ["s:2:3: error: `}` without a matching `{`", "    } ", "    ^"])
        let s2 = SourceFile(name: "s", text: "echo a || b")
        let d2 = Parser.parse(s2).diagnostics
        XCTAssertEqual(DiagnosticRenderer.render(d2[0], source: s2).split(separator: "\n").last, "         ^~")
    }

    func testNotesAreRenderedOnTheirOwnLines() {
        let d = Diagnostic(SourceLocation(file: "f", line: 1, column: 1, length: 3), "boom", notes: ["did you mean x?"])
        XCTAssertEqual(DiagnosticRenderer.render(d, source: SourceFile(name: "f", text: "abc")),
                       "f:1:1: error: boom\n  abc\n  ^~~\n  note: did you mean x?")
    }

    func testAScriptWithASyntaxErrorRunsNothing() {
        let r = runScript("echo before\ntouch /tmp/pidsh-should-not-exist\nlet = 2\necho after\nif { }")
        XCTAssertEqual(r.outcome, .syntaxErrors(2))
        XCTAssertEqual(r.outcome.exitCode, 2)
        XCTAssertEqual(r.out, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/pidsh-should-not-exist"))
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:3:5: error: `let` needs a variable name"), r.err)
        XCTAssertTrue(r.err.contains("t.pidsh:5:4: error: `if` needs a condition"), r.err)
        XCTAssertTrue(r.err.contains("\n  let = 2\n      ^\n"), r.err)
    }

    func testErrorsAreReportedInSourceOrder() {
        // An error inside a substitution is found by a sub-parser but still sorts by place.
        let r = runScript("echo $(let = 1)\nlet 1 = 2")
        let headers = r.err.split(separator: "\n").filter { $0.hasPrefix("t.pidsh:") }.map { String($0.split(separator: " ")[0]) }
        XCTAssertEqual(headers, ["t.pidsh:1:12:", "t.pidsh:2:5:"])
    }
}
