import Foundation
import Glibc
import XCTest
@testable import PidshKit

/// `inside` from an embedded interpreter (this test runner, whose /proc/self/exe is
/// not pidsh): it runs pidsh by the path in $PIDSH, and says so when there is none.
final class InsideEmbeddedTests: XCTestCase {
    /// The built `pidsh` beside this test bundle.
    static var binary: String? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let candidates = [URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pidsh").path,
                          Bundle(for: InsideEmbeddedTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("pidsh").path]
        return candidates.first { access($0, X_OK) == 0 }
    }

    func testWithoutPidshOnHandTheErrorSaysHowToGiveIt() throws {
        try XCTSkipUnless(getuid() == 0, "needs root: clone(CLONE_NEWPID)")
        let saved = ProcessInfo.processInfo.environment["PIDSH"]
        unsetenv("PIDSH")
        defer { if let saved { setenv("PIDSH", saved, 1) } }
        let r = runScript("let ns = ns new\ninside $ns { echo hi }")
        XCTAssertEqual(r.outcome, .runtimeError, r.err)
        XCTAssertTrue(r.err.contains("t.pidsh:2:1: error: inside: cannot find the pidsh executable"), r.err)
        XCTAssertTrue(r.err.contains("set PIDSH to pidsh's path"), r.err)
    }

    func testWithPidshGivenTheBlockRunsInside() throws {
        try XCTSkipUnless(getuid() == 0, "needs root: clone(CLONE_NEWPID)")
        let binary = try XCTUnwrap(Self.binary, "pidsh is built beside the tests")
        let saved = ProcessInfo.processInfo.environment["PIDSH"]
        setenv("PIDSH", binary, 1)
        defer { if let saved { setenv("PIDSH", saved, 1) } else { unsetenv("PIDSH") } }
        let r = runScript("let ns = ns new\ninside $ns { let me = $$ }\necho \"me=$me\"")
        XCTAssertEqual(r.outcome, .success, r.err)
        XCTAssertEqual(r.out, "me=2\n")
    }
}
