import Foundation
import Glibc
import XCTest

/// A hostile shared directory: symlinks planted where pidsh would create or use a mount
/// point (pointing at /etc, or dangling), and directories owned by another user. No
/// planted link may redirect a mount or a mkdir; a foreign directory is refused.
final class ReliabilityHostileTmpTests: ReliabilityTestCase {
    /// The proc mount points pidsh's mount namespace has after `code` ran (a copy of the
    /// host's, plus what pidsh mounted).
    func procMountsAfter(_ code: String, flags: [String] = []) -> (PidshRun, [String]) {
        let r = pidsh(code + "\necho \"procmounts=$(awk '$3 == \"proc\" {print $2}' /proc/self/mounts | tr '\\n' ' ')\"", flags: flags)
        let mounts = (r.fields["procmounts"] ?? "").split(separator: " ").map(String.init)
        return (r, mounts)
    }

    func testASymlinkNeverRedirectsAMountOrAMkdir() throws {
        try requireRoot("procfs mounts")
        let d = tempDir
        symlink("/etc", d + "/etc-link")                 // an existing directory elsewhere
        symlink(d + "/target", d + "/dangling")          // a directory that does not exist yet
        symlink("/etc", d + "/lvl0")                     // a nest level's mount point
        symlink(d + "/nest-target", d + "/lvl1")
        let etcBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/etc")) ?? []
        let attempts: [(String, String, String)] = [
            ("mount proc \(d)/etc-link", "-c:1:12", "\(d)/etc-link is a symbolic link"),
            ("mount proc \(d)/dangling", "-c:1:12", "\(d)/dangling is a symbolic link"),
            ("mount proc \(d)/etc-link/pidsh-planted", "-c:1:12", "\(d)/etc-link is a symbolic link"),
            ("mount proc \(d)/dangling/sub", "-c:1:12", "\(d)/dangling is a symbolic link"),
            ("spawn --newpid --mount-proc \(d)/etc-link /bin/true", "-c:1:29", "is a symbolic link"),
            ("spawn --newpid --mount-proc \(d)/dangling /bin/true", "-c:1:29", "is a symbolic link"),
            ("nest 2 --mount-proc \(d)/lvl{level}", "-c:1:21", "is a symbolic link"),
        ]
        for flags in [[], ["--shared-mounts"]] {
            for (code, location, message) in attempts {
                let (r, mounts) = procMountsAfter("try " + code, flags: flags)
                XCTAssertEqual(r.status, 0, r.transcript)
                // `try ` moves the column by 4.
                let column = Int(location.split(separator: ":").last!)! + 4
                assertLocatedError(r.stderr, at: "-c:1:\(column)", message)
                XCTAssertEqual(mounts.filter { $0.hasPrefix(d) || $0.hasPrefix("/etc") }, [], "\(flags) \(code): no procfs mounted there\n\(r.transcript)")
                // And without `try`: exit 1.
                let plain = pidsh(code, flags: flags)
                XCTAssertEqual(plain.status, 1, plain.transcript)
                assertLocatedError(plain.stderr, at: location, message)
            }
        }
        XCTAssertFalse(exists(d + "/target"), "nothing was created through the dangling link")
        XCTAssertFalse(exists(d + "/nest-target"))
        XCTAssertFalse(exists("/etc/pidsh-planted"))
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: "/etc")) ?? [], etcBefore, "/etc untouched")
        XCTAssertFalse(hostMountPoints().contains("/etc"), "the host's /etc is not mounted over")
        for link in ["etc-link", "dangling", "lvl0", "lvl1"] {
            XCTAssertNotNil(try? FileManager.default.destinationOfSymbolicLink(atPath: d + "/" + link), "\(link) left as it was")
        }
    }

    func testADirectoryOwnedByAnotherUserIsRefused() throws {
        try requireRoot("chown and procfs mounts")
        let d = tempDir
        mkdir(d + "/foreign", 0o777)
        chown(d + "/foreign", 65534, 65534)
        for code in ["mount proc \(d)/foreign", "spawn --newpid --mount-proc \(d)/foreign /bin/true"] {
            let (r, mounts) = procMountsAfter("try " + code)
            XCTAssertEqual(mounts.filter { $0.hasPrefix(d) }, [], r.transcript)
            assertContains(r.stderr, "belongs to uid 65534")
            assertContains(r.stderr, "refused")
            let plain = pidsh(code)
            XCTAssertEqual(plain.status, 1, plain.transcript)
            assertLocatedError(plain.stderr, at: code.hasPrefix("mount") ? "-c:1:12" : "-c:1:29", "belongs to uid 65534")
        }
        XCTAssertTrue(exists(d + "/foreign"), "a directory pidsh did not create is never removed")
        // A directory of root's (pidsh's user) is fine, and stays after.
        mkdir(d + "/mine", 0o755)
        let ok = pidsh("mount proc \(d)/mine\nls \(d)/mine/$$/status")
        XCTAssertEqual(ok.status, 0, ok.transcript)
        XCTAssertTrue(exists(d + "/mine"))
    }

    func testARootlessPidshIsNotRedirectedEither() throws {
        try requireSetpriv()
        try requireRoot("to plant the links and chown")
        let d = nobodyDirectory()
        symlink("/etc", d + "/etc-link")
        symlink(d + "/target", d + "/dangling")
        lchown(d + "/etc-link", 65534, 65534)
        lchown(d + "/dangling", 65534, 65534)
        let r = pidsh("""
        try mount proc \(d)/etc-link
        try mount proc \(d)/dangling
        try spawn --newpid --mount-proc \(d)/dangling /bin/true
        mount proc \(d)/fine
        echo "procmounts=$(awk '$3 == "proc" {print $2}' /proc/self/mounts | tr '\\n' ' ')"
        """, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertLocatedError(r.stderr, at: "-c:1:16", "is a symbolic link")
        assertLocatedError(r.stderr, at: "-c:2:16", "is a symbolic link")
        assertLocatedError(r.stderr, at: "-c:3:33", "is a symbolic link")
        XCTAssertEqual((r.fields["procmounts"] ?? "").split(separator: " ").map(String.init).filter { $0.hasPrefix(d) || $0.hasPrefix("/etc") }, ["\(d)/fine"], r.transcript)
        XCTAssertFalse(exists(d + "/target"))
        XCTAssertFalse(exists(d + "/fine"), "removed at exit")
    }
}
