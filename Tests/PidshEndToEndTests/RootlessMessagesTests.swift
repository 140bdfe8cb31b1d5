import Foundation
import Glibc
import XCTest

/// Rootless messages that must not contradict themselves (pidsh as uid 65534, root only
/// in a user namespace of its own): a mount point owned by root is not "owned by uid
/// 65534, not by pidsh's user"; a live host process is "not visible from pidsh's PID
/// namespace", not "gone"; `spawn --ns` into a namespace of another user namespace
/// states the kernel's rule instead of a bare EACCES. Carets are on the argument. The
/// witnesses: stat(2) and /proc as root, outside pidsh (the owner, the process alive,
/// its user namespace).
final class RootlessMessagesTests: ReliabilityTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try requireSetpriv()
        try requireRoot("to switch to uid 65534 and to see the real owners")
    }

    /// Inside pidsh's user namespace root's directory shows as uid 65534, the kernel's
    /// overflow uid — which is also the uid pidsh runs as outside. The message says
    /// whose it is as far as the kernel lets pidsh know, and who pidsh's user is.
    func testAMountPointOfAnotherUserNamesTheOwnerAsTheKernelShowsIt() throws {
        let dir = tempDir + "/root_owned"
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        var st = stat()
        XCTAssertEqual(stat(dir, &st), 0)
        XCTAssertEqual(st.st_uid, 0, "the witness: root owns it")
        let r = pidsh("mount proc \(dir)", asNobody: true)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertLocatedError(r.stderr, at: "-c:1:12", "mount point \(dir) belongs to a user outside pidsh's user namespace (root or another user")
        assertContains(r.stderr, "as uid 65534, its overflow uid")
        assertContains(r.stderr, "not to pidsh's user (uid 65534 (nobody) outside, root inside its user namespace)")
        assertNotContains(r.stderr, "is owned by uid 65534, not by pidsh's user")
        XCTAssertEqual(mountPoints(under: tempDir), [], "nothing mounted")
        // As root: the owner's uid, and pidsh's user.
        let other = tempDir + "/other_owned"
        XCTAssertEqual(mkdir(other, 0o755), 0)
        XCTAssertEqual(chown(other, 4321, 4321), 0)
        let asRoot = pidsh("mount proc \(other)")
        XCTAssertEqual(asRoot.status, 1, asRoot.transcript)
        assertLocatedError(asRoot.stderr, at: "-c:1:12", "mount point \(other) belongs to uid 4321, not to pidsh's user (uid 0 (root))")
    }

    /// A rootless pidsh of its own PID namespace sees no host process: a live one is
    /// "not visible from pidsh's PID namespace", with the reason, for every builtin
    /// that takes a PID; the caret is on the PID.
    func testAHostProcessIsNotVisibleRatherThanGone() throws {
        let s = marker(7551)
        let sleeper = try XCTUnwrap(start(["/bin/sleep", s]))
        defer { kill(sleeper.pid, SIGKILL); waitForExit(sleeper) }
        let pid = sleeper.pid
        let r = pidsh("try ns id \(pid)\ntry kill \(pid)\ntry spawn --ns \(pid) --wait true\ntry ps --ns \(pid)",
                      flags: ["--own-pid-namespace"], asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(kill(pid, 0), 0, "the witness: the process is alive")
        XCTAssertTrue(exists("/proc/\(pid)/status"))
        for (line, column) in [(1, 11), (2, 10), (3, 16), (4, 13)] {
            assertLocatedError(r.stderr, at: "-c:\(line):\(column)", "no process \(pid) is visible from pidsh's PID namespace")
        }
        assertContains(r.stderr, "pidsh runs here as PID 1 of a PID namespace of its own")
        assertNotContains(r.stderr, "is gone")
    }

    /// `spawn --ns` into a namespace that another user namespace owns: the same user's
    /// `unshare -r -p` sleeper, and root's. Opening its namespace is refused (EACCES) by
    /// the ptrace rule, and setns would need CAP_SYS_ADMIN over its owner: the message
    /// says both, the caret is on the PID, and nothing ran inside.
    func testSpawnIntoANamespaceOfAnotherUserNamespaceStatesTheRule() throws {
        let s = marker(7552), rootsSleep = marker(7553)
        let unshare = try XCTUnwrap(["/usr/bin/unshare", "/bin/unshare"].first { (p: String) in access(p, X_OK) == 0 }, "needs util-linux unshare")
        let other = try XCTUnwrap(start(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                         unshare, "-r", "-p", "-f", "/bin/sleep", s]))
        let root = try XCTUnwrap(start(["/bin/sleep", rootsSleep]))
        defer {
            for p in processes() where p.name == "sleep" && (p.ppid == other.pid) { kill(p.pid, SIGKILL) }
            kill(root.pid, SIGKILL)
            waitForExit(other)
            waitForExit(root)
        }
        XCTAssertTrue(waitUntil(timeout: 5) { self.processes().contains { $0.ppid == other.pid && $0.name == "sleep" } })
        let target = try XCTUnwrap(processes().first { $0.ppid == other.pid && $0.name == "sleep" }).pid
        // The witness: its user namespace is not the host's.
        let ownUserNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        XCTAssertNotEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(target)/ns/user"), ownUserNS)
        let r = pidsh("try spawn --ns \(target) --wait sh -c 'echo joined'\ntry spawn --ns \(root.pid) --wait sh -c 'echo joined'",
                      asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertFalse(r.stdout.contains("joined"), r.transcript)
        for line in [1, 2] {
            assertLocatedError(r.stderr, at: "-c:\(line):16", "EACCES")
        }
        assertContains(r.stderr, "opening another process's namespace needs ptrace read access to it")
        assertContains(r.stderr, "setns(2) into a PID namespace then needs CAP_SYS_ADMIN in the user namespace that owns it")
        assertContains(r.stderr, "process \(target) belongs to another one")
    }

    /// The other refusal: pidsh and the process share a user namespace, so the
    /// namespace file opens, but the process's PID namespace is owned by the host's
    /// user namespace, where pidsh has no CAP_SYS_ADMIN: setns fails EPERM, and the
    /// message says so (pidsh here runs, as root, in a user namespace entered with
    /// nsenter). The witnesses: the links of the process, read as the host's root.
    func testSetnsIntoANamespaceOwnedByAnotherUserNamespaceStatesTheRule() throws {
        let s = marker(7555)
        let tools = ["/usr/bin/unshare", "/usr/bin/nsenter"]
        try XCTSkipUnless(tools.allSatisfy { access($0, X_OK) == 0 }, "needs util-linux unshare and nsenter")
        let holder = try XCTUnwrap(start([tools[0], "-p", "-f", "--mount-proc", tools[0], "-U", "-r", "/bin/sleep", s]))
        var target: Int32 = 0
        defer {
            if target > 0 { kill(target, SIGKILL) }
            waitForExit(holder)
        }
        XCTAssertTrue(waitUntil(timeout: 5) {
            target = self.processes().first { p in
                p.name == "sleep" && (try? String(contentsOfFile: "/proc/\(p.pid)/cmdline", encoding: .utf8)) == "/bin/sleep\0\(s)\0"
            }?.pid ?? 0
            return target > 0
        })
        let link = { (what: String, pid: String) in try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(what)") }
        XCTAssertNotEqual(try link("user", "\(target)"), try link("user", "self"), "the witness: another user namespace")
        XCTAssertNotEqual(try link("pid", "\(target)"), try link("pid", "self"), "and another PID namespace")
        let r = run([tools[1], "-t", "\(target)", "-U", Self.binary!, "-c",
                     "try spawn --ns \(target) --wait sh -c 'echo joined'\nns id \(target)"])
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertFalse(r.stdout.contains("joined"), r.transcript)
        XCTAssertEqual(r.stdoutLines, [try link("pid", "\(target)")], "the namespace file opens: only setns is refused\n\(r.transcript)")
        assertLocatedError(r.stderr, at: "-c:1:16", "setns(pid:[")
        assertContains(r.stderr, "EPERM")
        assertContains(r.stderr, "needs CAP_SYS_ADMIN in the user namespace that owns it")
        assertContains(r.stderr, "pidsh runs in a user namespace it did not make")
    }

    /// kill's EPERM states kill_ok_by_cred's rule, the caret on the target.
    func testKillOfAnotherUsersProcessStatesTheRule() throws {
        let s = marker(7554)
        let sleeper = try XCTUnwrap(start(["/bin/sleep", s]))
        defer { kill(sleeper.pid, SIGKILL); waitForExit(sleeper) }
        let r = pidsh("kill -q \(sleeper.pid)", asNobody: true)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertLocatedError(r.stderr, at: "-c:1:9", "EPERM")
        assertContains(r.stderr, "a process may signal another only when its real or effective uid is the other's real or saved uid")
        XCTAssertEqual(kill(sleeper.pid, 0), 0, "the witness: it still runs")
    }
}
