import Foundation
import Glibc
import XCTest

/// pidsh's standard streams in a bad state: closed (`>&-`), a full device
/// (`/dev/full`), a pipe whose reader is gone. A failed write is an error of the
/// command that wrote, naming the errno and the target; a reader that went away ends
/// the writer quietly, as in a shell. Nothing hangs.
final class ReliabilityStreamsTests: ReliabilityTestCase {
    /// `pidsh -c CODE` with a shell redirection (`>&-`, `>/dev/full`) applied to pidsh.
    func pidsh(_ code: String, redirected redirection: String, flags: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) -> PidshRun {
        let r = run(["/bin/sh", "-c", "exec \"$@\" \(redirection)", "sh", Self.binary!] + flags + ["-c", code],
                    timeout: 10, file: file, line: line)
        assertNoCrash(r.status, r.stderr, "\(code) \(redirection)", file: file, line: line)
        return r
    }

    /// Before: an internal pipe took the closed descriptor, and the first write to
    /// "standard output" waited for ever (4 of 4 hung).
    func testClosedStandardStreamsFailLikeAShellNeverHang() {
        let echo = pidsh("echo hello", redirected: ">&-")
        XCTAssertEqual(echo.status, 1, echo.transcript)
        assertLocatedError(echo.stderr, at: "-c:1:1", "echo: write to standard output: EBADF (Bad file descriptor)")
        let tree = pidsh("ns tree", redirected: ">&-")
        XCTAssertEqual(tree.status, 1, tree.transcript)
        assertLocatedError(tree.stderr, at: "-c:1:1", "ns tree: write to standard output: EBADF")
        // A program gets the closed stream as it is, and says so itself.
        let ls = pidsh("ls /", redirected: ">&-")
        XCTAssertEqual(ls.status, 1, ls.transcript)
        assertContains(ls.stderr, "ls: write error: Bad file descriptor")
        // With standard error closed the error cannot be shown: the status still says it.
        let missing = pidsh("nosuchcmd", redirected: "2>&-")
        XCTAssertEqual(missing.status, 1, missing.transcript)
        XCTAssertEqual(missing.stdout, "")
        let input = pidsh("echo hi", redirected: "<&-")
        XCTAssertEqual(input.status, 0, input.transcript)
        XCTAssertEqual(input.stdout, "hi\n")
    }

    /// Before: every one of these exited 0 and printed nothing.
    func testAFailedWriteIsAnErrorOfTheCommandThatWrote() {
        let top = pidsh("echo hello", redirected: ">/dev/full")
        XCTAssertEqual(top.status, 1, top.transcript)
        assertLocatedError(top.stderr, at: "-c:1:1", "echo: write to standard output: ENOSPC (No space left on device)")
        // The caret is on the redirection's file, the target the kernel refused.
        for (command, name) in [("echo hello", "echo"), ("ps --json", "ps")] {
            let r = pidsh("\(command) > /dev/full\necho not reached")
            XCTAssertEqual(r.status, 1, r.transcript)
            assertLocatedError(r.stderr, at: "-c:1:\(command.count + 4)", "\(name): write to /dev/full: ENOSPC (No space left on device)")
            XCTAssertEqual(r.stdout, "", r.transcript)
        }
        // `try` takes it like any other error; the script goes on.
        let tried = pidsh("try echo hello > /dev/full\necho went on")
        XCTAssertEqual(tried.status, 0, tried.transcript)
        XCTAssertEqual(tried.stdout, "went on\n")
        assertContains(tried.stderr, "write to /dev/full: ENOSPC")
        // A program's output that passes through pidsh (--stable-ids rewrites it).
        let passed = pidsh("/bin/echo hello", redirected: ">/dev/full", flags: ["--stable-ids"])
        XCTAssertEqual(passed.status, 1, passed.transcript)
        assertLocatedError(passed.stderr, at: "-c:1:1", "write to standard output: ENOSPC")
    }

    /// A reader that went away ends the writer quietly. Before: a def writing for ever
    /// into `head` never noticed (its writes failed silently) and pidsh hung.
    func testAGoneReaderEndsTheWriterQuietly() {
        let r = pidsh("def gen {\n  while true { echo y }\n}\ngen | head -1\necho done", redirected: "")
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.stdout, "y\ndone\n")
        XCTAssertEqual(r.stderr, "")
        // pidsh's own standard output read by a `head` that is done: pidsh stops with
        // 141 (128 + SIGPIPE), says nothing, and tears its session down first.
        let dir = tempDir + "/mnt"
        let code = "let ns = ns new\nmount proc \(dir) --ns $ns\nrepeat 100000 { echo line }\necho never"
        let headed = run(["/bin/sh", "-c", "{ \"$0\" -c \"$1\"; echo \"status=$?\" >&2; } | head -1", Self.binary!, code], timeout: 10)
        XCTAssertEqual(headed.stdout, "line\n", headed.transcript)
        XCTAssertEqual(headed.stderr, "status=141\n", headed.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "torn down: the mount point is removed")
    }
}
