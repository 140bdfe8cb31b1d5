import Foundation
import XCTest

/// Error messages a new user meets: each word said once, one way of numbering nest's
/// levels, signal names guessed by likeness, and what a second `kill` of a namespace's
/// PID 1 says.
final class MessagesTests: EndToEndTestCase {
    func testNoRepeatedWords() throws {
        try requireRoot("mounts and namespaces")
        let file = tempDir + "/file"
        FileManager.default.createFile(atPath: file, contents: Data())
        let r = pidsh("""
        try nest 0
        try pids
        try spawn
        try ns id
        try mount proc \(file)
        try spawn --mount-proc \(file) true
        try mount proc \(file)/below
        try umount \(tempDir)
        unshare --pid
        spawn true
        try unshare --pid
        echo done
        """)
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        for doubled in ["nest: nest", "pids: pids", "spawn: spawn", "ns id: ns id", "umount: umount", "unshare: unshare",
                        "\(file): \(file) is", "mount proc: mount proc"] {
            assertNotContains(r.stderr, doubled)
        }
        assertContains(r.stderr, "error: nest needs at least 1 level")
        assertContains(r.stderr, "error: pids needs one process")
        assertContains(r.stderr, "error: mount proc: mount point \(file) is not a directory")
        assertContains(r.stderr, "error: spawn: mount point \(file) is not a directory")
        assertContains(r.stderr, "error: mount proc: mount point \(file)/below: \(file) is not a directory")
        assertContains(r.stderr, "error: umount \(tempDir): EINVAL")
        assertContains(r.stderr, "error: unshare(CLONE_NEWPID): EINVAL")
    }

    /// `nest 40` fails at the 33rd level below the root: the message counts levels one
    /// way (not nest's innermost-first level 7 and then "level 33").
    func testNestPastTheLimitNumbersLevelsOneWay() throws {
        try requireRoot("nest 32 levels deep needs pidsh at the root namespace")
        let r = pidsh("try nest 40 --no-mount", timeout: 30)
        assertContains(r.stderr, "nest 40: clone(CLONE_NEWPID) for level 33 below the root namespace: ENOSPC")
        assertContains(r.stderr, "PID namespaces nest at most 32 levels below the root namespace")
        assertNotContains(r.stderr, "level 7")
        assertNotContains(r.stderr, "would be level")
    }

    func testKillSuggestsSignalsByName() throws {
        let s = marker(7611)
        let r = pidsh("""
        let p = spawn sleep \(s)
        try kill -FOO $p
        try kill -TREM $p
        try kill -US $p
        try kill -SIGKIL $p
        try kill -HUPP $p
        kill -KILL $p
        """)
        let blocks = r.stderr.components(separatedBy: "error: kill: unknown signal ").dropFirst()
        XCTAssertEqual(blocks.count, 5, r.transcript)
        guard blocks.count == 5 else { return }
        let notes = blocks.map { $0.components(separatedBy: "note: ").last ?? "" }
        assertNotContains(notes[0], "-FPE")
        assertNotContains(notes[0], "did you mean")
        assertContains(notes[0], "-HUP -INT -QUIT -KILL -USR1 -USR2 -TERM")
        assertContains(notes[1], "did you mean -TERM?")
        assertContains(notes[2], "did you mean -USR1 or -USR2")
        assertContains(notes[3], "did you mean -KILL?")
        assertContains(notes[4], "did you mean -HUP?")
    }

    /// A second `kill` of a namespace's PID 1 (already torn down by the first) names
    /// the signal kill sends a PID 1, KILL, not TERM.
    func testSecondKillOfANamespaceInitNamesKill() throws {
        try requireRoot("a new PID namespace")
        let s = marker(7612)
        let r = pidsh("""
        let c = spawn --newpid sleep \(s)
        kill $c
        try kill $c
        let p = spawn sleep \(s)
        kill $p
        wait $p
        try kill $p
        """)
        let errors = r.stderr.components(separatedBy: "error: ").dropFirst().map { String($0.prefix(while: { $0 != ":" })) }
        XCTAssertEqual(errors.count, 2, r.transcript)
        XCTAssertTrue(errors.first?.hasPrefix("kill -KILL ") ?? false, r.transcript)
        XCTAssertTrue(errors.last?.hasPrefix("kill -TERM ") ?? false, "a plain process still gets TERM\n\(r.transcript)")
        assertContains(r.stderr, "has already ended (killed by SIGKILL)")
    }
}
