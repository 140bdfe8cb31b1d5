import Foundation
import XCTest

/// `$?` after `spawn --wait` and `wait`, and `wait` on a process pidsh did not start.
final class StatusTests: EndToEndTestCase {
    func testSpawnWaitAndWaitSetDollarQuestionWithoutFailing() throws {
        let r = pidsh("""
        let st = spawn --wait sh -c 'exit 7'
        echo "st=$st q=$?"
        let p = spawn sh -c 'exit 5'
        let w = wait $p
        echo "w=$w q=$?"
        """)
        expectSuccess(r)
        XCTAssertEqual(r.stdout, "st=7 q=7\nw=5 q=5\n")
    }

    func testWaitOnAProcessPidshDidNotStartFailsAtOnce() throws {
        let started = Date()
        let r = pidsh("wait 1")
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "-c:1:6: error: wait: process 1 is not pidsh's child")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "no blocking until PID 1 ends")
    }
}
