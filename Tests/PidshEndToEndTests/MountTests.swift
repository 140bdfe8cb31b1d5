import Foundation
import Glibc
import XCTest

/// `mount proc PATH [--ns NS|PROCESS] [--keep]`, `umount PATH`, and `mount` forms that
/// fall through to mount(8).
final class MountTests: EndToEndTestCase {
    func testMountProcOfANamespaceOrAProcess() throws {
        let s = marker(7401)
        let d = tempDir
        let r = expectSuccess(pidsh(#"""
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        mount proc \#(d)/byns --ns $ns
        ls -d \#(d)/byns/[1-9]*
        grep -E '^Name:' \#(d)/byns/2/status
        echo ---
        mount proc \#(d)/byproc --ns $p
        ls -d \#(d)/byproc/[1-9]*
        echo ---
        grep -E ' \#(d)/(byns|byproc) proc ' /proc/self/mounts | cut -d' ' -f2
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 3, r.transcript)
        guard parts.count == 3 else { return }
        XCTAssertEqual(parts[0], "\(d)/byns/1\n\(d)/byns/2\nName:\tsleep\n", "only the namespace's init and sleep")
        XCTAssertEqual(parts[1], "\(d)/byproc/1\n\(d)/byproc/2\n", "--ns PROCESS: that process's namespace")
        XCTAssertEqual(parts[2], "\(d)/byns\n\(d)/byproc\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/byns"), "created by pidsh, removed at exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/byproc"))
    }

    func testMountProcDefaultsToWhereChildrenGo() throws {
        let s = marker(7402)
        let d = tempDir
        mkdir(d + "/existing", 0o755)
        let r = expectSuccess(pidsh(#"""
        mount proc \#(d)/existing
        if test -d \#(d)/existing/$$ { echo "self=yes" }
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        setns $ns
        mount proc \#(d)/children
        setns --self
        ls \#(d)/children | grep -cE '^[0-9]+$'
        """#))
        XCTAssertEqual(r.fields["self"], "yes", "without --ns and without setns: pidsh's own namespace\n\(r.transcript)")
        XCTAssertEqual(r.stdoutLines.last, "2", "after setns NS: NS (its init and the sleep)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/existing"), "a directory pidsh did not create stays")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/children"))
    }

    func testUmount() throws {
        let d = tempDir
        let r = pidsh(#"""
        let ns = ns new
        mount proc \#(d)/p --ns $ns
        echo "before=$(ls \#(d)/p | grep -cE '^[0-9]+$')"
        umount \#(d)/p
        echo "after=$(ls -A \#(d)/p | wc -l)"
        echo "mounted=$(awk '$2 == "\#(d)/p"' /proc/self/mounts | wc -l)"
        umount \#(d)/p
        """#)
        XCTAssertEqual(r.status, 1, "the second umount fails\n\(r.transcript)")
        XCTAssertEqual(r.fields["before"], "1")
        XCTAssertEqual(r.fields["after"], "0", "an empty directory once unmounted")
        XCTAssertEqual(r.fields["mounted"], "0")
        assertContains(r.stderr, "umount \(d)/p: EINVAL")
        assertContains(r.stderr, "is not a mount point")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/p"), "the directory is still removed at exit")
    }

    // `--keep` without --shared-mounts is refused (it could only leave an empty
    // directory): ReliabilityHostileInputTests.testEmptyPsColumnsAndAKeepThatCannotKeepAreRefused.

    func testSharedMountsAreUndoneAtExitUnlessKept() throws {
        try requireRoot("--shared-mounts mounts in the host's mount namespace")
        let d = tempDir
        let r = expectSuccess(pidsh(#"""
        let ns = ns new
        mount proc \#(d)/shared --ns $ns
        mount proc \#(d)/kept --ns $ns --keep
        grep -E ' \#(d)/(shared|kept) ' /proc/1/mounts | cut -d' ' -f2
        try mount proc /proc
        """#, flags: ["--shared-mounts"]))
        XCTAssertEqual(r.stdoutLines, ["\(d)/shared", "\(d)/kept"], "visible in the host's mount namespace\n\(r.transcript)")
        assertContains(r.stderr, "refusing to mount over /proc")
        XCTAssertEqual(mountPoints(under: d), ["\(d)/kept"], "only the --keep mount is left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/shared"))
        // The kept procfs belongs to a namespace that is gone: it lists no process.
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: d + "/kept")) ?? []
        XCTAssertEqual(kept.filter { Int($0) != nil }, [])
        XCTAssertEqual(umount2(d + "/kept", 0), 0)
        XCTAssertEqual(rmdir(d + "/kept"), 0)
    }

    func testOtherMountFormsRunMount8() throws {
        let d = tempDir
        let r = expectSuccess(pidsh(#"""
        mkdir \#(d)/t
        mount -t tmpfs -o size=1m e2e-tmpfs \#(d)/t
        touch \#(d)/t/file
        grep ' \#(d)/t ' /proc/self/mounts | cut -d' ' -f1,3
        umount \#(d)/t
        echo "left=$(ls -A \#(d)/t | wc -l)"
        mount -t tmpfs e2e-tmpfs2 \#(d)/t
        """#))
        XCTAssertEqual(r.stdoutLines.first, "e2e-tmpfs tmpfs", r.transcript)
        XCTAssertEqual(r.fields["left"], "0", "umount works on any mount point")
        XCTAssertEqual(mountPoints(under: d), [], "mounts of mount(8) vanish with pidsh's private mount namespace")
    }

    func testMountProcRefusals() throws {
        let d = tempDir
        symlink("/etc", d + "/link")
        let r = pidsh(#"""
        try mount proc /proc
        try mount proc \#(d)/../x
        try mount proc \#(d)/link
        try mount proc \#(d)/missing/deeper
        try mount proc
        try mount proc \#(d)/a \#(d)/b
        try mount proc \#(d)/n --ns 999999999
        try mount proc \#(d)/n --bogus
        echo done
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.stdoutLines, ["done"])
        assertContains(r.stderr, "refusing to mount over /proc")
        assertContains(r.stderr, "contains `..`")
        assertContains(r.stderr, "is a symbolic link; pidsh never follows one")
        assertContains(r.stderr, "\(d)/missing does not exist")
        assertContains(r.stderr, "mount proc needs one PATH")
        assertContains(r.stderr, "999999999")
        assertContains(r.stderr, "unknown option --bogus")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: d + "/link"), "/etc")
        XCTAssertEqual(mountPoints(under: "/etc"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/n"))
    }

    func testMountProcOfADeadNamespaceFailsENOMEM() throws {
        let d = tempDir
        let r = pidsh(#"""
        let ns = ns new
        kill $ns
        mount proc \#(d)/dead --ns $ns
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "ENOMEM")
        assertContains(r.stderr, "has no init any more")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/dead"), "the directory made for it is removed")
    }
}
