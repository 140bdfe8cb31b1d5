import Foundation
import XCTest

/// A script that only computes and prints starts no session (docs/performance.md): no
/// private mount namespace, no janitor. Witnesses: the mount namespace pidsh is in
/// (readlink /proc/PID/ns/mnt, compared with the test's own), and its children.
final class LazySessionTests: EndToEndTestCase {
    func testAPrintingScriptStaysInTheMountNamespaceItStartedIn() throws {
        try requireRoot("as root `ns id` and `ps` run without a session")
        let mine = try XCTUnwrap(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt"))
        // `$$`, pidsh's mount namespace, then the PPID of every process: none is pidsh's
        // child (no janitor).
        let light = expectSuccess(pidsh("echo $$\nns id $$ --type mnt\nps -o ppid= -e"))
        let pid = try XCTUnwrap(light.stdoutLines.first)
        XCTAssertEqual(light.stdoutLines.dropFirst().first, mine, "no private mount namespace\n\(light.transcript)")
        XCTAssertFalse(light.stdoutLines.dropFirst(2).contains { $0.trimmingCharacters(in: .whitespaces) == pid },
                       "no child of pidsh, no janitor\n\(light.transcript)")
        // A script that runs a program has its session: a mount namespace of its own,
        // and the janitor as pidsh's child.
        let full = expectSuccess(pidsh("echo $$\nns id $$ --type mnt\nps -o ppid=,comm= -e\n/bin/true"))
        let fullPid = try XCTUnwrap(full.stdoutLines.first)
        XCTAssertNotEqual(full.stdoutLines.dropFirst().first, mine, full.transcript)
        XCTAssertTrue(full.stdoutLines.contains { $0.split(separator: " ").map(String.init) == [fullPid, "pidsh-janitor"] }, full.transcript)
    }

    /// A process pidsh did not make but inherited as its child (a shell's job, then
    /// `exec pidsh`) is ended at pidsh's exit, with or without a session: the tear-down
    /// looks for children it does not track. Witness: pgrep, after pidsh has exited.
    func testAnInheritedChildEndsWithPidshWithOrWithoutASession() throws {
        let pidsh = try XCTUnwrap(Self.binary)
        for script in ["true", "kill -0 $$"] {
            let s = marker(script == "true" ? 7551 : 7552)
            let r = run(["/bin/sh", "-c", "sleep \(s) & exec \"$0\" -c \"$1\"", pidsh, script])
            XCTAssertEqual(r.status, 0, r.transcript)
            let left = run(["/usr/bin/pgrep", "-f", "^sleep \(s)$"])
            XCTAssertEqual(left.status, 1, "the inherited `sleep \(s)` outlived `pidsh -c '\(script)'`: \(left.stdout)")
        }
    }
}
