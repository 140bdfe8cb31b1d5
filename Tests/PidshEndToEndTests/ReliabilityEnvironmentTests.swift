import Foundation
import Glibc
import XCTest

/// pidsh's environment gone wrong: HOME unset. `~` never becomes the empty string
/// (`rm -r ~/tmp` would hit /tmp): it is the home of the user's password entry, as in
/// bash, looked up as the user who started pidsh, or a located error.
final class ReliabilityEnvironmentTests: ReliabilityTestCase {
    /// `pidsh -c CODE` with HOME removed from the environment (through env -u), as
    /// `user` (a uid, via setpriv) or root.
    func pidshWithoutHome(_ code: String, user: Int? = nil, flags: [String] = []) -> PidshRun {
        var argv = ["/usr/bin/env", "-u", "HOME"]
        if let user { argv += ["/usr/bin/setpriv", "--reuid=\(user)", "--regid=\(user)", "--clear-groups"] }
        let r = run(argv + [Self.binary!] + flags + ["-c", code])
        assertNoCrash(r.status, r.stderr, code)
        return r
    }

    /// Before: `~/x` was `/x`.
    func testTildeWithoutHomeIsThePasswordEntrysHome() throws {
        try requireRoot("compares with root's password entry")
        let r = pidshWithoutHome("echo ~/x\ncd\npwd")
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.stdout, "/root/x\n/root\n")
    }

    /// As a normal user pidsh is root in its user namespace; the look-up is made before,
    /// as the user (uid 65534's home in the password database is /nonexistent), also
    /// when pidsh becomes PID 1 of a namespace of its own. Run as root, the test
    /// switches to uid 65534; run as a normal user, it is that user.
    func testTildeWithoutHomeIsTheUsersNotRootsWhenRootless() throws {
        let user: Int? = getuid() == 0 ? 65534 : nil
        if user != nil { try requireSetpriv() }
        guard let entry = getpwuid(uid_t(user ?? Int(getuid()))), let dir = entry.pointee.pw_dir else {
            throw XCTSkip("the user has no password entry")
        }
        let home = String(cString: dir)
        for flags in [[], ["--own-pid-namespace"]] {
            let r = pidshWithoutHome("echo ~", user: user, flags: flags)
            XCTAssertEqual(r.status, 0, r.transcript)
            XCTAssertEqual(r.stdout, home + "\n", "\(flags)")
        }
    }

    /// A user with no password entry and no HOME: `~` and `cd` are located errors.
    func testTildeWithNoHomeAtAllIsAnError() throws {
        try requireSetpriv()
        try requireRoot("switches to a uid without a password entry")
        let uid = 54_321
        try XCTSkipIf(getpwuid(uid_t(uid)) != nil, "uid \(uid) has a password entry here")
        let r = pidshWithoutHome("echo start\necho ~/tmp\necho not reached", user: uid)
        XCTAssertEqual(r.status, 1, r.transcript)
        XCTAssertEqual(r.stdout, "start\n")
        assertLocatedError(r.stderr, at: "-c:2:6", "`~` has no value: HOME is not set, and uid \(uid) has no home directory in the password database")
        let cd = pidshWithoutHome("cd", user: uid)
        XCTAssertEqual(cd.status, 1, cd.transcript)
        assertLocatedError(cd.stderr, at: "-c:1:1", "cd: no directory to go to")
    }
}
