import Foundation
import XCTest

/// `swift test` runs every tutorial in examples/ against its golden transcript, and
/// checks that `pidsh test` reports a mismatch the way the docs promise.
final class GoldenExamplesTests: EndToEndTestCase {
    static let examples: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples").path
    }()

    func testEveryExampleMatchesItsTranscript() throws {
        try requireRoot("the tutorials mount at /proc2 and nest 32 levels, as the articles do")
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".pidsh") }
        XCTAssertGreaterThanOrEqual(scripts.count, 5, "one tutorial per walkthrough")
        let r = run([Self.binary!, "test", Self.examples], timeout: 120)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.stdout.contains("\(scripts.count) passed, 0 failed"), r.transcript)
    }

    func testMismatchShowsNumberedDiffAndWhereItFailed() throws {
        let script = tempDir + "/greet.pidsh"
        try "echo one\necho two\necho three\n".write(toFile: script, atomically: true, encoding: .utf8)
        try "one\nTWO\nthree\n".write(toFile: tempDir + "/greet.out", atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stdout, "FAIL \(script)")
        assertContains(r.stdout, "@@ -1,3 +1,3 @@")
        assertContains(r.stdout, "-   2 | TWO")
        assertContains(r.stdout, "+   2 | two")
        assertContains(r.stdout, "failed at \(tempDir)/greet.out:2")
        assertContains(r.stdout, "0 passed, 1 failed")
    }

    func testUpdateRewritesTheTranscriptAndRecordsTheExitStatus() throws {
        let script = tempDir + "/fails.pidsh"
        try "echo before\nexpect 1 == 2\necho never\n".write(toFile: script, atomically: true, encoding: .utf8)
        let u = run([Self.binary!, "test", "--update", script])
        XCTAssertEqual(u.status, 0, u.transcript)
        let out = try String(contentsOfFile: tempDir + "/fails.out", encoding: .utf8)
        XCTAssertTrue(out.hasPrefix("before\nfails.pidsh:2:1: error: expectation failed"), out)
        XCTAssertTrue(out.hasSuffix("[exit 3]\n"), out)
        XCTAssertFalse(out.contains("never"), out)
        let again = run([Self.binary!, "test", script])
        XCTAssertEqual(again.status, 0, again.transcript)
        assertContains(again.stdout, "1 passed, 0 failed")
    }

    func testMissingTranscriptIsAFailureWithAHint() throws {
        let script = tempDir + "/new.pidsh"
        try "echo hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1)
        assertContains(r.stdout, "pidsh test --update")
    }
}
