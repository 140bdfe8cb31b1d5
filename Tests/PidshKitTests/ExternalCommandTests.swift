import Foundation
import Glibc
import XCTest
@testable import PidshKit

/// External programs: $PATH, `command`, real pipelines, redirections, globbing,
/// statuses (128+N for a signal), `$(...)`, builtins and defs inside pipelines.
final class ExternalCommandTests: XCTestCase {
    private var dir = ""
    private var savedPath: String?
    private var savedCwd = ""

    override func setUp() {
        super.setUp()
        dir = makeScratchDirectory("pidsh-ext")
        savedPath = getenv("PATH").map { String(cString: $0) }
        savedCwd = FileManager.default.currentDirectoryPath
    }

    override func tearDown() {
        if let savedPath { setenv("PATH", savedPath, 1) } else { unsetenv("PATH") }
        _ = FileManager.default.changeCurrentDirectoryPath(savedCwd)
        _ = try? FileManager.default.removeItem(atPath: dir)
        XCTAssertEqual(liveChildren(), [], "processes left behind")
        super.tearDown()
    }

    private func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) -> ScriptRun {
        runScript(script, file: file, line: line)
    }

    private func assertOutput(_ script: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = runScript(script, file: file, line: line)
        XCTAssertEqual(r.outcome, .success, "stderr: \(r.err)", file: file, line: line)
        XCTAssertEqual(r.out, expected, file: file, line: line)
    }

    /// An executable shell script in `where`.
    private func makeTool(_ name: String, in whereDir: String, _ body: String, executable: Bool = true) {
        let path = whereDir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n\(body)\n".utf8))
        chmod(path, executable ? 0o755 : 0o644)
    }

    private func read(_ name: String) -> String {
        (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "<missing>"
    }

    private func touch(_ names: [String]) {
        for n in names { _ = FileManager.default.createFile(atPath: dir + "/" + n, contents: nil) }
    }

    // MARK: $PATH and `command`

    func testProgramsAreFoundOnPath() {
        let bin1 = dir + "/bin1", bin2 = dir + "/bin2"
        try? FileManager.default.createDirectory(atPath: bin1, withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: bin2, withIntermediateDirectories: true)
        makeTool("pidsh-tool", in: bin1, "echo first \"$@\"")
        makeTool("pidsh-tool", in: bin2, "echo second")
        makeTool("pidsh-only2", in: bin2, "echo only2")
        makeTool("pidsh-noexec", in: bin1, "echo should-not-run", executable: false)
        makeTool("pidsh-noexec", in: bin2, "echo executable-one")
        try? FileManager.default.createDirectory(atPath: bin1 + "/pidsh-dir", withIntermediateDirectories: true)
        makeTool("pidsh-dir", in: bin2, "echo not-a-directory")
        setenv("PATH", "\(bin1):\(bin2):" + (savedPath ?? "/usr/bin:/bin"), 1)
        assertOutput("pidsh-tool a 'b c'", "first a b c\n")
        assertOutput("pidsh-only2", "only2\n")
        assertOutput("pidsh-noexec", "executable-one\n")
        assertOutput("pidsh-dir", "not-a-directory\n")
        // A path is run as it is, without $PATH.
        assertOutput("\(bin2)/pidsh-tool", "second\n")
    }

    func testNotOnPathIsALocatedError() {
        setenv("PATH", dir, 1)
        let r = run("echo ok\n  ls /")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertEqual(r.out, "ok\n")
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:2:3: error: command not found: ls (not a builtin, not a def, not on $PATH)"), r.err)
    }

    func testCommandSkipsBuiltinsAndDefs() {
        makeTool("echo", in: dir, "printf 'external echo:'; printf ' %s' \"$@\"; printf '\\n'")
        makeTool("greet", in: dir, "echo external greet")
        setenv("PATH", "\(dir):" + (savedPath ?? "/usr/bin:/bin"), 1)
        assertOutput("echo a b", "a b\n")
        assertOutput("command echo a b", "external echo: a b\n")
        // Lookup order: builtins, then defs, then $PATH.
        assertOutput("def greet { echo def greet }\ngreet\ncommand greet", "def greet\nexternal greet\n")
        assertOutput("greet", "external greet\n")
        assertOutput("command echo x | command echo y", "external echo: y\n")
        assertOutput("let t = command echo captured\necho \"[$t]\"", "[external echo: captured]\n")
    }

    func testCommandOnABuiltinThatIsNotOnPathExplains() {
        let r = run("command help")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:1:9: error: command not found: help (not on $PATH)"), r.err)
        XCTAssertTrue(r.err.contains("`command` skips those"), r.err)
        let n = run("command")
        XCTAssertTrue(n.err.contains("`command` needs a command name"), n.err)
    }

    // MARK: pipelines

    func testPipelineStagesRunConcurrently() {
        // `yes` never ends by itself: only a real, concurrent pipeline terminates.
        assertOutput("yes | head -n 3", "y\ny\ny\n")
        // More than a pipe buffer flows through.
        assertOutput("seq 1 200000 | tail -n 1", "200000\n")
        assertOutput("seq 1 100000 | grep -c 7 | tr -d ' '", "40951\n")
        // Three sleeps at once take one sleep's time, not three.
        let start = Date()
        assertOutput("sleep 1 | sleep 1 | sleep 1", "")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.8)
    }

    func testPipelineStatusIsTheLastStages() {
        assertOutput("sh -c 'exit 3' | true\necho $?", "0\n")
        let r = run("true | sh -c 'exit 3'\necho not-here")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertEqual(r.out, "")
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:1:8: error: `sh -c exit 3` exited with status 3"), r.err)
        assertOutput("try true | sh -c 'exit 4'\necho $?", "4\n")
        assertOutput("if echo abc | grep -q b { echo found }", "found\n")
        assertOutput("if echo abc | grep -q z { echo found } else { echo \"absent $?\" }", "absent 1\n")
        assertOutput("! echo abc | grep -q z\necho ok", "ok\n")
    }

    func testBuiltinsAndDefsInPipelines() {
        let r = run("help | head -n 1")
        XCTAssertEqual(r.outcome, .success, r.err)
        XCTAssertEqual(r.out, "pidsh commands (help COMMAND for details):\n")
        assertOutput("echo hello | tr a-z A-Z", "HELLO\n")
        assertOutput("echo a | cat | cat | cat", "a\n")
        assertOutput("def up { tr a-z A-Z }\necho piped | up | rev", "DEPIP\n")
        assertOutput("def gen { echo one; echo two }\ngen | tail -n 1", "two\n")
        assertOutput("echo ignored | echo last", "last\n")
        // A builtin at the end of a pipeline: its status decides.
        let f = run("echo x | false")
        XCTAssertEqual(f.outcome, .runtimeError)
        // A big builtin output into a short reader must not hang or fail.
        assertOutput("let big = seq 1 50000\necho $big | head -n 1", "1\n")
        // A def reading what an external writes sees its end.
        assertOutput("def shout { tr a-z A-Z }\nseq 3 | sed s/^/x/ | shout", "X1\nX2\nX3\n")
        // A def writing forever into a reader that stops: it ends, the pipeline succeeds.
        assertOutput("def gen { yes }\ngen | head -n 2\necho $?", "y\ny\n0\n")
    }

    // MARK: redirections

    func testRedirections() {
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        assertOutput("echo one > f\necho two >> f\nsh -c 'echo three' >> f\ncat f", "one\ntwo\nthree\n")
        XCTAssertEqual(read("f"), "one\ntwo\nthree\n")
        assertOutput("echo fresh > f\ncat < f", "fresh\n")
        assertOutput("tr a-z A-Z < f > g\ncat g", "FRESH\n")
        assertOutput("sh -c 'echo to-err >&2; echo to-out' 2> e", "to-out\n")
        XCTAssertEqual(read("e"), "to-err\n")
        assertOutput("sh -c 'echo to-err >&2; echo to-out' > both 2>&1", "")
        XCTAssertEqual(read("both"), "to-err\nto-out\n")
        // 2>&1 into a pipe.
        assertOutput("sh -c 'echo err-line >&2' 2>&1 | tr a-z A-Z", "ERR-LINE\n")
        // Order matters as in sh: 2>&1 then > sends errors to the old output.
        let r = run("sh -c 'echo e >&2; echo o' 2>&1 > only-out")
        XCTAssertEqual(r.outcome, .success)
        XCTAssertEqual(read("only-out"), "o\n")
        XCTAssertEqual(r.out, "e\n")
        XCTAssertEqual(r.err, "")
        // Builtins and defs honour redirections too.
        assertOutput("help > h\nhead -n 1 h", "pidsh commands (help COMMAND for details):\n")
        assertOutput("def f { echo from-def }\nf > d\ncat d", "from-def\n")
        // Redirection targets are words: variables and quotes work.
        assertOutput("let name = \"with space\"\necho v > \"$name.txt\"\ncat 'with space.txt'", "v\n")
        // Appending to a missing file creates it.
        assertOutput("echo new >> created\ncat created", "new\n")
    }

    /// Builtins and defs in one pipeline run one after another; whatever one writes for
    /// a later one is held, however much it is (more than a pipe holds), and a program
    /// between them does not block either.
    func testInProcessStagesFeedEachOtherWithoutBlocking() {
        let defs = "def gen { repeat 20000 { echo xxxxxxxxxx } }\ndef count { wc -l }\ndef first { head -n 2 }\n"
        assertOutput(defs + "gen | count", "20000\n")
        assertOutput(defs + "gen | count | count", "1\n")
        assertOutput(defs + "gen | tr x y | first", "yyyyyyyyyy\nyyyyyyyyyy\n")
        assertOutput(defs + "gen | cat | tr x z | count", "20000\n")
        assertOutput(defs + "help | first | count", "2\n")
        // Streaming stays where nothing in-process runs before the reader: an endless
        // program into a def that stops early.
        assertOutput(defs + "yes | first", "y\ny\n")
        // `<` on the later stage wins over the held pipe.
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        assertOutput(defs + "echo a > in\ngen | count < in", "1\n")
    }

    /// A builtin's error message is its standard error: `2>` and `2>&1` take it when the
    /// error is caught; an uncaught one still stops the script, said on pidsh's stderr.
    func testABuiltinsErrorFollowsItsStderrRedirection() {
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        let quiet = run("try cd /nonexistent-dir 2>/dev/null\nif ! cd /nonexistent-dir 2>/dev/null { echo caught }\necho next")
        XCTAssertEqual(quiet.outcome, .success)
        XCTAssertEqual(quiet.out, "caught\nnext\n")
        XCTAssertEqual(quiet.err, "", "nothing on pidsh's stderr")
        let toFile = run("try cd /nonexistent-dir 2> e\necho next")
        XCTAssertEqual(toFile.out, "next\n")
        XCTAssertEqual(toFile.err, "")
        XCTAssertTrue(read("e").hasPrefix("t.pidsh:1:8: error: cd /nonexistent-dir: ENOENT"), read("e"))
        XCTAssertTrue(read("e").contains("^"), "with its caret: \(read("e"))")
        let merged = run("let text = $(try cd /nonexistent-dir 2>&1)\necho \"[$text]\"")
        XCTAssertTrue(merged.out.hasPrefix("[t.pidsh:1:21: error: cd /nonexistent-dir:"), merged.out)
        XCTAssertEqual(merged.err, "")
        let uncaught = run("cd /nonexistent-dir 2>/dev/null\necho never")
        XCTAssertEqual(uncaught.out, "")
        XCTAssertTrue(uncaught.err.hasPrefix("t.pidsh:1:4: error: cd /nonexistent-dir:"), uncaught.err)
    }

    func testRedirectionErrorsAreLocatedAtTheTarget() {
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        let r = run("echo ok\ncat < missing-file")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:2:7: error: "), r.err)
        XCTAssertTrue(r.err.contains("missing-file"), r.err)
        let d = run("echo x > \(dir)/no/such/dir/f")
        XCTAssertEqual(d.outcome, .runtimeError)
        XCTAssertTrue(d.err.hasPrefix("t.pidsh:1:10: error: "), d.err)
        touch(["a1", "a2"])
        let g = run("echo x > a*")
        XCTAssertTrue(g.err.contains("a redirection needs one file name, the word expanded to 2"), g.err)
    }

    // MARK: globbing

    func testGlobsExpandSorted() {
        touch(["b.txt", "a.txt", "c.txt", "B.txt", "d.log", "f1", "f2", "f3", "f10"])
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        assertOutput("echo *.txt", "B.txt a.txt b.txt c.txt\n")
        assertOutput("echo f?", "f1 f2 f3\n")
        assertOutput("echo f[13]*", "f1 f10 f3\n")
        assertOutput("echo \(dir)/*.log", "\(dir)/d.log\n")
        assertOutput("let d = \"\(dir)\"\necho $d/*.log", "\(dir)/d.log\n")
        assertOutput("for f in *.txt { echo -n \"<$f>\" }\necho", "<B.txt><a.txt><b.txt><c.txt>\n")
        // Each match is its own argument.
        assertOutput("printf '<%s>' f?\necho", "<f1><f2><f3>\n")
    }

    func testAGlobWithNoMatchStaysAsWritten() {
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        assertOutput("echo *.nothing", "*.nothing\n")
        assertOutput("echo /no/such/dir/[1-9]*", "/no/such/dir/[1-9]*\n")
        assertOutput("printf '<%s>' nomatch* x[\necho", "<nomatch*><x[>\n")
    }

    func testQuotedAndEscapedGlobsDoNotExpand() {
        touch(["x1", "x2"])
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        assertOutput("echo \"x*\" 'x?' x\\*", "x* x? x*\n")
        assertOutput("echo \"x\"*", "x1 x2\n")
        // A variable's value never globs.
        assertOutput("let p = \"x*\"\necho $p \"$p\" ${p}", "x* x* x*\n")
        assertOutput("let p = \"*\"\necho x$p", "x*\n")
        // Brackets: a class, or literal when quoted.
        assertOutput("echo x[12] 'x[12]'", "x1 x2 x[12]\n")
    }

    // MARK: statuses

    func testExitStatusesOfPrograms() {
        assertOutput("try sh -c 'exit 42'\necho $?", "42\n")
        assertOutput("try sh -c 'kill -9 $$'\necho $?", "137\n")
        assertOutput("try sh -c 'kill -TERM $$'\necho $?", "143\n")
        let r = run("sh -c 'kill -9 $$'")
        XCTAssertEqual(r.outcome, .runtimeError)
        XCTAssertTrue(r.err.hasPrefix("t.pidsh:1:1: error: `sh -c kill -9 $$` was killed by SIGKILL"), r.err)
        assertOutput("let s = spawn --wait sh -c 'kill -9 $$'\necho $s.code $s.signal $s.exited", "137 SIGKILL false\n")
    }

    // MARK: $(...)

    func testCommandSubstitution() {
        assertOutput("echo \"[$(printf 'a\\n\\n')]\"", "[a]\n")
        assertOutput("echo \"[$(echo one; echo two)]\"", "[one\ntwo]\n")
        assertOutput("echo $(echo a b) end", "a b end\n")      // one argument, not split
        assertOutput("printf '<%s>' $(echo a b)\necho", "<a b>\n")
        assertOutput("echo \"n=$(echo $(echo nested))\"", "n=nested\n")
        assertOutput("let x = $(echo \"quoted ) paren\")\necho $x", "quoted ) paren\n")
        assertOutput("echo $(help | head -n 1)", "pidsh commands (help COMMAND for details):\n")
        assertOutput("def f { echo from-def }\necho \"<$(f)>\"", "<from-def>\n")
        assertOutput("let n = 3\necho $(echo ${n + 1})", "4\n")
        // A substitution's stderr is not captured.
        let r = run("let x = $(sh -c 'echo out; echo err >&2')\necho \"[$x]\"")
        XCTAssertEqual(r.out, "[out]\n")
        XCTAssertEqual(r.err, "err\n")
        // Variables made inside are visible after (same interpreter).
        assertOutput("echo $(let inner = 1)\necho $inner", "\n1\n")
    }

    func testFindExecBracesAreAWord() {
        touch(["only"])
        assertOutput("find \(dir) -name only -exec echo found {} \\;", "found \(dir)/only\n")
        assertOutput("if true { echo {} }", "{}\n")
    }

    // MARK: no leftovers

    func testCloseKillsWhatAScriptLeftRunning() {
        let i = Interpreter.capturing()
        XCTAssertEqual(i.run("let p = spawn sleep 60\necho $p.pid", name: "t"), .success)
        let pid = Int32(i.out.text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertTrue(liveChildren().contains(pid))
        XCTAssertEqual(i.close(), [])
        XCTAssertFalse(liveChildren().contains(pid))
    }
}
