import Foundation
import Glibc
import XCTest

/// The rules every shell has, held against an independent witness: `expect` evaluates
/// its operands once (a file the substitution appends to counts the runs); `$?` is
/// 127 for a command not found and 126 for one that cannot be executed (the same
/// commands run by bash give the witness statuses); `repeat` and `for` refuse a
/// handle instead of taking a process for its PID.
final class ShellRulesTests: EndToEndTestCase {
    // MARK: expect

    /// A `$(...)` with a side effect runs once, and the message shows the values that
    /// were compared — not those of a second evaluation.
    func testExpectEvaluatesItsOperandsOnceAndShowsTheComparedValues() throws {
        let log = tempDir + "/runs"
        let r = pidsh("""
        expect $(echo run >> \(log); wc -l < \(log)) == 5
        """)
        XCTAssertEqual(r.status, 3, r.transcript)
        let runs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(runs, 1, "the substitution ran \(runs) times\n\(r.transcript)")
        assertContains(r.stderr, "(left: \"1\", right: 5 (integer))")
        // Both sides, and a comparison that holds: each side once, in order.
        let both = tempDir + "/both"
        let ok = pidsh("""
        expect $(echo left >> \(both); echo 1) < $(echo right >> \(both); echo 2)
        echo "done"
        """)
        XCTAssertEqual(ok.status, 0, ok.transcript)
        XCTAssertEqual(try String(contentsOfFile: both, encoding: .utf8), "left\nright\n")
    }

    // MARK: 127 and 126

    /// Each command, run by pidsh and by bash: the same status. 127 when nothing of
    /// that name exists (or a `#!` interpreter is missing), 126 when it exists and
    /// cannot be executed (no execute permission, a directory, not a format the kernel
    /// runs).
    func testNotFoundIs127AndNotExecutableIs126AsInSh() throws {
        let bash = try XCTUnwrap(["/bin/bash", "/usr/bin/bash"].first { (path: String) in access(path, X_OK) == 0 }, "needs bash as the witness")
        let bin = tempDir + "/bin"
        XCTAssertEqual(mkdir(bin, 0o755), 0)
        try "echo never\n".write(toFile: bin + "/noexec_cmd", atomically: true, encoding: .utf8)
        chmod(bin + "/noexec_cmd", 0o644)
        try "#!/nonexistent/interpreter\n".write(toFile: bin + "/bad_interp", atomically: true, encoding: .utf8)
        chmod(bin + "/bad_interp", 0o755)
        try "\u{7F}ELF-not-really".write(toFile: bin + "/bad_format", atomically: true, encoding: .utf8)
        chmod(bin + "/bad_format", 0o755)
        let commands = ["no_such_command_1515", bin + "/missing", bin + "/noexec_cmd", bin, bin + "/bad_interp",
                        "noexec_cmd"]
        // bash runs an ENOEXEC file as 126 too (dash would run it as a script).
        let all = commands + [bin + "/bad_format"]
        let path = "PATH=\(bin):/usr/local/bin:/usr/bin:/bin"
        for command in all {
            let witness = run(["/usr/bin/env", path, bash, "-c", "\(command); echo \"q=$?\""])
            let r = run(["/usr/bin/env", path, Self.binary!, "-c", "try \(command)\necho \"q=$?\""])
            XCTAssertEqual(r.status, 0, r.transcript)
            XCTAssertNotNil(witness.fields["q"], witness.transcript)
            XCTAssertEqual(r.fields["q"], witness.fields["q"], "`\(command)`: pidsh and bash disagree\n\(r.transcript)\n\(witness.transcript)")
        }
        // The same status in a condition, under `!`, and for `spawn`.
        let r = run(["/usr/bin/env", path, Self.binary!, "-c", """
        if no_such_command_1515 { }
        echo "if=$?"
        try spawn no_such_command_1515
        echo "spawn=$?"
        try spawn --wait \(bin)/noexec_cmd
        echo "spawnwait=$?"
        try spawn \(bin)/bad_format
        echo "spawnexec=$?"
        """])
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual([r.fields["if"], r.fields["spawn"], r.fields["spawnwait"], r.fields["spawnexec"]], ["127", "127", "126", "126"], r.transcript)
        assertContains(r.stderr, "cannot execute \(bin)/noexec_cmd: \(bin)/noexec_cmd has no execute permission")
        // The caret of an exec failure under `spawn` is on the program, not on `spawn`.
        assertContains(r.stderr, "-c:7:11: error: spawn: exec \(bin)/bad_format: ENOEXEC")
    }

    // MARK: handles are no counts, no lists

    /// `repeat $p` used to run PID times; `for x in $p` went round once. Both are type
    /// errors, located at the operand, and nothing of the block runs.
    func testRepeatAndForOverAHandleAreTypeErrors() {
        let s = marker(7521)
        for (loop, word) in [("repeat $p", "`repeat` needs a count of 0 or more (an integer), got"), ("for x in $p", "`for` needs a list, a range or text"),
                             ("for x in $ns", "`for` needs a list, a range or text")] {
            let r = pidsh("""
            let p = spawn sleep \(s)
            let ns = $p.ns
            \(loop) { echo body_ran }
            """)
            XCTAssertEqual(r.status, 1, r.transcript)
            XCTAssertFalse(r.stdout.contains("body_ran"), r.transcript)
            let column = loop.hasPrefix("repeat") ? 8 : 10
            assertContains(r.stderr, "-c:3:\(column): error: \(word)")
            assertContains(r.stderr, "is one object")
        }
        // Counts that are numbers still work, numeric text included.
        let ok = expectSuccess(pidsh("repeat \"2\" { echo a }\nrepeat 1 + 1 { echo b }\nfor x in [1] { echo c }"))
        XCTAssertEqual(ok.stdout, "a\na\nb\nb\nc\n")
    }
}
