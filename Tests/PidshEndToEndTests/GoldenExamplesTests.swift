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
        XCTAssertTrue(r.stdout.hasSuffix("\(scripts.count) passed, 0 failed\n"), r.transcript)
    }

    /// `-j 4` gives the result of a serial run: the examples that use fixed host paths
    /// (/proc2, /tmp/proc{level}) say `#test: exclusive` and run alone.
    func testEveryExampleMatchesItsTranscriptInParallel() throws {
        try requireRoot("the tutorials mount at /proc2 and nest 32 levels, as the articles do")
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".pidsh") }
        let r = run([Self.binary!, "test", "-j", "4", Self.examples], timeout: 120)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.stdout.hasSuffix("\(scripts.count) passed, 0 failed\n"), r.transcript)
        let serial = run([Self.binary!, "test", Self.examples], timeout: 120)
        XCTAssertEqual(serial.stdout, r.stdout, "the same report, in the same order")
    }

    /// A transcript does not depend on where the host's PID counter stands: when it wraps
    /// in the middle of a tutorial (pid_max is 32,768 here), a younger process has the
    /// smaller PID, and `ps --mine` and `ns list --mine` under --stable-ids still list in
    /// creation order (04 failed at these points before). The wrap is made as the kernel
    /// makes it, by setting the host's last PID (ns_last_pid) just below pid_max.
    func testATutorialPassesWhenPIDsWrapMidway() throws {
        try requireRoot("ns_last_pid, and the tutorial's new PID namespaces")
        let pidMax = try XCTUnwrap(Int(try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // Afterwards the counter goes on from where it stood: small PIDs (a uid 1000 a
        // later tutorial prints) are not left for the tests that follow.
        let last = try String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8)
        defer { try? last.write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8) }
        for before in [13, 8] {
            try String(pidMax - before).write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
            let r = run([Self.binary!, "test", Self.examples + "/04-inspecting-namespaces.pidsh"], timeout: 60)
            XCTAssertEqual(r.status, 0, "wrapping \(before) PIDs in:\n" + r.transcript)
        }
    }

    /// examples/README.md maps each claim to `file.pidsh:LINE`s (and ranges): those under
    /// "Shown by" must be `#>` lines, those under "Checked by" `expect`s, so the map
    /// stays true when a script changes.
    func testReadmeLinesPointAtTranscriptAndExpects() throws {
        let readme = try String(contentsOfFile: Self.examples + "/README.md", encoding: .utf8)
        var checked = 0
        for row in readme.split(separator: "\n") where row.hasPrefix("| ") && row.contains(".pidsh:") {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard cells.count >= 6 else { continue }
            for (cell, wanted) in [(cells[3], "#>"), (cells[4], "expect")] {
                var file = ""
                for ref in cell.split(separator: "`").filter({ $0.contains(":") && !$0.contains(" ") }) {
                    let parts = ref.split(separator: ":", omittingEmptySubsequences: false)
                    if !parts[0].isEmpty { file = String(parts[0]) }
                    let range = parts[1].split(separator: "-").compactMap { Int($0) }
                    guard let first = range.first, !file.isEmpty else { continue }
                    let lines = try String(contentsOfFile: Self.examples + "/" + file, encoding: .utf8)
                        .split(separator: "\n", omittingEmptySubsequences: false)
                    // A range may hold the statements between its `#>` lines: its ends must be right.
                    for n in Set([first, range.last ?? first]) {
                        let text = n <= lines.count ? lines[n - 1].trimmingCharacters(in: .whitespaces) : ""
                        XCTAssertTrue(text.hasPrefix(wanted), "README: \(file):\(n) should be a \(wanted) line, is `\(text)`")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 80)
    }

    func testMismatchShowsNumberedDiffAndWhereItFailed() throws {
        let script = tempDir + "/greet.pidsh"
        try "echo one\necho two\necho three\n".write(toFile: script, atomically: true, encoding: .utf8)
        try "one\nTWO\nthree\n".write(toFile: tempDir + "/greet.out", atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stdout, "FAIL \(script)")
        assertContains(r.stdout, "@@ -1,3 +1,3 @@")
        // The usual order (- expected, + actual), each line with its number in both files.
        assertContains(r.stdout, "    1    1 | one\n-   2      | TWO\n+        2 | two\n    3    3 | three\n")
        assertContains(r.stdout, "failed at \(tempDir)/greet.out:2")
        assertContains(r.stdout, "0 passed, 1 failed")
    }

    /// `--update` does not record a run whose `expect` failed unless asked to
    /// (`--accept-failures`) or unless the golden already says so (`[3]`).
    func testUpdateRefusesAFailedRunUnlessTheGoldenSaysSo() throws {
        let script = tempDir + "/fails.pidsh"
        let golden = tempDir + "/fails.out"
        try "echo before\nexpect 1 == 2\necho never\n".write(toFile: script, atomically: true, encoding: .utf8)
        let refused = run([Self.binary!, "test", "--update", script])
        XCTAssertEqual(refused.status, 1, refused.transcript)
        assertContains(refused.stdout, "not recorded: the run exited with status 3 (an `expect` failed)")
        assertContains(refused.stdout, "--accept-failures")
        assertContains(refused.stdout, "0 passed, 1 failed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: golden), "nothing recorded")

        let accepted = run([Self.binary!, "test", "--update", "--accept-failures", script])
        XCTAssertEqual(accepted.status, 0, accepted.transcript)
        let out = try String(contentsOfFile: golden, encoding: .utf8)
        XCTAssertTrue(out.hasPrefix("before\nfails.pidsh:2:1: error: expectation failed"), out)
        XCTAssertTrue(out.hasSuffix("\n[3]\n"), out)
        XCTAssertFalse(out.contains("never"), out)
        let again = run([Self.binary!, "test", script])
        XCTAssertEqual(again.status, 0, again.transcript)
        assertContains(again.stdout, "1 passed, 0 failed")
        // The golden says [3] now: a plain --update may record the same failure.
        try (out.replacingOccurrences(of: "before\n", with: "BEFORE\n")).write(toFile: golden, atomically: true, encoding: .utf8)
        let update = run([Self.binary!, "test", "--update", script])
        XCTAssertEqual(update.status, 0, update.transcript)
        XCTAssertEqual(try String(contentsOfFile: golden, encoding: .utf8), out)
        // A run that exits 0 where the golden expects [3] fails, showing the status line.
        try "echo before\n".write(toFile: script, atomically: true, encoding: .utf8)
        let status = run([Self.binary!, "test", script])
        XCTAssertEqual(status.status, 1, status.transcript)
        assertContains(status.stdout, "exit status 0, expected 3")
        assertContains(status.stdout, "[3]")
    }

    func testMissingTranscriptIsAFailureWithAHint() throws {
        let script = tempDir + "/new.pidsh"
        try "echo hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1)
        assertContains(r.stdout, "pidsh test --update")
    }
}
