import Foundation
import XCTest

/// `--trace`, `--narrate`, `--step` and `--stable-ids` on the real binary.
final class TranscriptFlagsTests: EndToEndTestCase {
    func testTraceShowsTheSystemCallsInOrderAndStablyAliased() throws {
        try requireRoot("new PID namespaces and procfs mounts")
        let code = """
        let ns = ns new
        spawn --ns $ns --wait true
        mount proc \(tempDir)/tp --ns $ns
        umount \(tempDir)/tp
        unshare --pid
        spawn --wait true
        setns --self
        kill $ns
        """
        let r = pidsh(code, flags: ["--trace", "--stable-ids"])
        expectSuccess(r)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let expected = [
            "+ clone3(CLONE_NEWPID|CLONE_PIDFD) = <pid#1>",
            "+ pidsh-init loop in child <pid#1> (PID 1 inside)",
            "+ setns(pid:[<ns#1>], CLONE_NEWPID) = 0",
            "+ clone3(CLONE_PIDFD) = <pid#2>",
            "+ setns(pid_for_children, CLONE_NEWPID) = 0   # back",
            "+ execve(/usr/bin/true, [\"true\"]) in child <pid#2>",
            "+ setns(pid:[<ns#1>], CLONE_NEWPID) + clone3 helper: fsopen(\"proc\") + fsmount + move_mount(\(tempDir)/tp) = 0",
            "+ umount2(\(tempDir)/tp, UMOUNT_NOFOLLOW) = 0",
            "+ unshare(CLONE_NEWPID) = 0",
            "+ clone3(CLONE_PIDFD) = <pid#3>",
            "+ execve(/usr/bin/true, [\"true\"]) in child <pid#3>",
            "+ setns(pid:[<ns#2>], CLONE_NEWPID) = 0",
            "+ pidfd_send_signal(<pid#1>, SIGKILL) = 0",
        ]
        XCTAssertEqual(lines.filter { $0.hasPrefix("+ ") }.map { $0.replacingOccurrences(of: "/bin/true", with: "/usr/bin/true").replacingOccurrences(of: "/usr/usr/", with: "/usr/") }, expected, r.transcript)
        XCTAssertFalse(r.stderr.contains(where: { $0.isNumber }) && r.stderr.range(of: #"= [0-9]{3,}"#, options: .regularExpression) != nil,
                       "no host PID is left unaliased in the trace:\n\(r.stderr)")
    }

    func testNarrateAndStepPrintTheStoryAndTheStatements() throws {
        let script = tempDir + "/story.pidsh"
        try "#: The story begins.\necho one\n#: It goes on.\necho two\n".write(toFile: script, atomically: true, encoding: .utf8)
        let plain = run([Self.binary!, script])
        XCTAssertEqual(plain.stdout, "one\ntwo\n", "narration is silent by default")
        let narrated = run([Self.binary!, "--narrate", script])
        XCTAssertEqual(narrated.stdout, "The story begins.\none\nIt goes on.\ntwo\n")
        // stdin is not a terminal here: --step shows each statement and does not wait.
        let stepped = run([Self.binary!, "--step", script], timeout: 10)
        XCTAssertEqual(stepped.status, 0, stepped.transcript)
        XCTAssertEqual(stepped.stdout, "The story begins.\n[\(script):2] echo one\none\nIt goes on.\n[\(script):4] echo two\ntwo\n")
    }

    func testCheckParsesOnlyAndReportsEveryError() throws {
        let bad = tempDir + "/bad.pidsh"
        try "echo ran > \(tempDir)/ran\nif x {\nlet = 3\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "-n", bad])
        XCTAssertEqual(r.status, 2, r.transcript)
        assertContains(r.stderr, "\(bad):2:6: error:")
        assertContains(r.stderr, "\(bad):3:5: error:")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/ran"), "-n runs nothing")
        let good = tempDir + "/good.pidsh"
        try "echo ran > \(tempDir)/ran\n".write(toFile: good, atomically: true, encoding: .utf8)
        let g = run([Self.binary!, "--check", good])
        XCTAssertEqual(g.status, 0, g.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/ran"), "--check runs nothing")
    }
}
