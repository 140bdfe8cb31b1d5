import Foundation
import Glibc
import XCTest

/// Item 6 of the signals issue: `wait --timeout`, `wait --any` (by pidfd) and `trap`
/// (pidsh's own signals, handled between statements). Witnesses: the processes'
/// /proc entries and pidsh's own SigCgt.
final class WaitTrapTests: EndToEndTestCase {
    func testWaitTimeoutGivesUpWithStatus124AndLeavesTheProcess() throws {
        let s = marker(7809)
        let r = expectSuccess(pidsh("""
        let p = spawn sleep \(s)
        try wait --timeout 0.2 $p
        echo "status=$?"
        \(statusLine("state", "State", pid: "$p.pid"))
        let q = spawn sleep 0.05
        let st = wait --timeout 10 $q
        echo "q=$st"
        try wait --timeout 0.1
        echo "alone=$?"
        try wait --timeout -1 $p
        """))
        XCTAssertEqual(r.fields["status"], "124", r.transcript)
        XCTAssertEqual(r.fields["state"]?.first, "S", "still running\n\(r.transcript)")
        XCTAssertEqual(r.fields["q"], "0", r.transcript)
        XCTAssertEqual(r.fields["alone"], "124", r.transcript)
        assertContains(r.stderr, "wait timed out after 0.2 s:")
        assertContains(r.stderr, "--timeout needs a number of seconds")
    }

    /// --any returns the first process to end, and watches any process by pidfd (here
    /// one pidsh did not start).
    func testWaitAnyReturnsTheFirstToEnd() throws {
        let s = marker(7810)
        let r = expectSuccess(pidsh("""
        let slow = spawn sleep \(s)
        let quick = spawn sh -c 'exit 5'
        let first = wait --any $slow $quick
        echo "first=$first.pid quick=$quick.pid code=$?"
        let parent = spawn sh -c 'sleep 0.2 & wait'
        let grandchild = ""
        while $grandchild == "" { let grandchild = $(cat /proc/$parent.pid/task/$parent.pid/children | tr -d ' ') }
        let ended = wait --any --timeout 10 $grandchild
        echo "observed=$ended.pid grandchild=$grandchild"
        """))
        let line = try XCTUnwrap(r.fields["first"])
        let parts = line.split(separator: " ")
        XCTAssertEqual(parts.first.map(String.init), parts.dropFirst().first?.dropFirst("quick=".count).description, r.transcript)
        XCTAssertEqual(parts.last, "code=5", r.transcript)
        let observed = try XCTUnwrap(r.fields["observed"]).split(separator: " ")
        XCTAssertEqual(observed.first.map(String.init), observed.last.map { String($0.dropFirst("grandchild=".count)) }, r.transcript)
    }

    /// A trap's block runs between statements; a trapped signal ends a wait at once
    /// (`$?` 128+N, the value its name); `trap SIG -` gives the signal back. pidsh's
    /// SigCgt is the witness of what it catches.
    func testTrapRunsBetweenStatementsAndEndsAWait() throws {
        let r = expectSuccess(pidsh("""
        \(statusLine("before", "SigCgt", pid: "$$"))
        trap USR1 { echo "trapped USR1 ($?)" }
        \(statusLine("trapped", "SigCgt", pid: "$$"))
        spawn sh -c 'sleep 0.1; kill -USR1 $PPID'
        let w = wait --timeout 20
        echo "wait=$w status=$?"
        trap
        trap USR1 -
        \(statusLine("reset", "SigCgt", pid: "$$"))
        """))
        XCTAssertNotEqual(mask(r.fields["trapped"]) & bit(SIGUSR1), 0, r.transcript)
        // Back to what pidsh did before the trap (OwnSignals stops on USR1, as on TERM,
        // so its handler is caught again): the same SigCgt bit as before.
        XCTAssertEqual(mask(r.fields["reset"]) & bit(SIGUSR1), mask(r.fields["before"]) & bit(SIGUSR1), "back to the default\n\(r.transcript)")
        let lines = r.stdoutLines.filter { !$0.hasPrefix("trapped=") && !$0.hasPrefix("reset=") && !$0.hasPrefix("before=") }
        XCTAssertEqual(Array(lines.prefix(2)), ["trapped USR1 (138)", "wait=SIGUSR1 status=138"], r.transcript)
        assertContains(r.stdout, "trap SIGUSR1 { ... }   # -c:2:1")
    }

    /// A trap overrides what pidsh does with SIGTERM (stop); reset, SIGTERM stops it again.
    func testTrapOverridesStopOnSigterm() throws {
        let r = pidsh("""
        trap TERM { echo "not stopping" }
        spawn --wait sh -c 'kill -TERM $PPID'
        echo "goes on"
        trap TERM -
        spawn --wait sh -c 'kill -TERM $PPID; sleep 1'
        echo "never"
        """)
        XCTAssertEqual(r.status, 143, r.transcript)
        XCTAssertEqual(r.stdoutLines, ["not stopping", "goes on"], r.transcript)
        assertContains(r.stderr, "interrupted by SIGTERM")
    }

    func testTrapRefusesWhatCannotBeCaught() throws {
        let r = pidsh("trap KILL { echo no }")
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "-c:1:6: error: trap: SIGKILL can never be caught")
        let r2 = pidsh("trap BOGUS { echo no }")
        assertContains(r2.stderr, "trap: unknown signal `BOGUS`")
        let r3 = pidsh("trap USR1")
        XCTAssertEqual(r3.status, 2, r3.transcript)
        assertContains(r3.stderr, "needs a block to run, or `-` to reset")
    }
}
