import Foundation
import Glibc
import XCTest

/// Each kernel rule's error, as a user meets it: the message must explain the rule,
/// not just echo errno. And the unprivileged path: rootless through a user namespace.
final class KernelRuleTests: EndToEndTestCase {
    func testENOMEMAfterTheInitDied() throws {
        let s = marker(7801)
        let r = pidsh(#"""
        let c = spawn --newpid sleep \#(s)
        let ns = $c.ns
        kill -KILL $c
        wait $c
        try spawn --ns $ns true
        setns $ns
        try spawn true
        setns --self
        unshare --pid
        spawn --wait true
        spawn true
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        let enomem = r.stderr.components(separatedBy: "ENOMEM (Cannot allocate memory)").count - 1
        XCTAssertEqual(enomem, 3, "spawn --ns, spawn after setns, and the second child after unshare\n\(r.stderr)")
        assertContains(r.stderr, "has no init any more")
        assertContains(r.stderr, "fork fails ENOMEM")
        // After `unshare --pid` the first child was PID 1 and exited at once: say so.
        let afterUnshare = r.stderr.components(separatedBy: "-c:11:1:").last ?? ""
        assertContains(afterUnshare, "`unshare --pid`")
        assertContains(afterUnshare, "`setns --self`")
        assertContains(r.stderr, "-c:11:1:")
    }

    func testENOSPCPast32Levels() throws {
        let r = pidsh(#"""
        let l = nest 31 --no-mount
        let last = ns new --parent $l.last
        echo "level=$last.level"
        ns new --parent $last
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        XCTAssertEqual(r.fields["level"], "32", "the 32nd level works")
        assertContains(r.stderr, "ns new: clone(CLONE_NEWPID) for pidsh-init: ENOSPC")
        assertContains(r.stderr, "PID namespaces nest at most 32 levels below the root namespace")
    }

    func testEINVALSecondUnshareAndUnshareAfterSetns() throws {
        let s = marker(7802)
        let r = pidsh(#"""
        unshare --pid
        let first = spawn sleep \#(s)
        try unshare --pid
        setns --self
        let ns = ns new
        setns $ns
        try unshare --pid
        setns --self
        unshare --pid
        unshare --pid
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        let einval = r.stderr.components(separatedBy: "unshare(CLONE_NEWPID): EINVAL").count - 1
        XCTAssertEqual(einval, 3, r.stderr)
        assertContains(r.stderr, "the kernel allows unshare(CLONE_NEWPID) only while pid_for_children is the caller's own namespace")
        assertContains(r.stderr, "Run `setns --self` first")
        assertContains(r.stderr, "-c:10:1:")
    }

    func testEPERMWithoutCapSysAdmin() throws {
        try requireRoot("drops CAP_SYS_ADMIN from a root pidsh to meet EPERM")
        try requireSetpriv()
        // Root without CAP_SYS_ADMIN, in the host's mount namespace (a private one would
        // need the capability too): every way of making or joining a namespace says why.
        let r = pidsh(#"""
        try spawn --newpid true
        try ns new
        try unshare --pid
        try nest 2 --no-mount
        echo done
        """#, flags: ["--shared-mounts"], setprivOptions: ["--bounding-set=-sys_admin", "--inh-caps=-sys_admin"])
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        let eperm = r.stderr.components(separatedBy: "EPERM (Operation not permitted)").count - 1
        XCTAssertEqual(eperm, 4, r.stderr)
        assertContains(r.stderr, "creating or joining a PID namespace needs CAP_SYS_ADMIN in the user namespace that owns it")
        assertContains(r.stderr, "as `unshare -r` does")
        // Without --shared-mounts the session cannot even start: exit 70, explained. (A
        // script that runs a program needs the session; one that only prints has none.)
        let noStart = pidsh("ls / >/dev/null\necho hi", setprivOptions: ["--bounding-set=-sys_admin", "--inh-caps=-sys_admin"])
        XCTAssertEqual(noStart.status, 70, noStart.transcript)
        assertContains(noStart.stderr, "unshare(CLONE_NEWNS)")
        assertContains(noStart.stderr, "EPERM")
        assertContains(noStart.stderr, "CAP_SYS_ADMIN")
    }

    func testRootlessAsNobody() throws {
        try requireRoot("setpriv to uid 65534")
        try requireSetpriv()
        // The tests' binary must be reachable by uid 65534.
        let probe = pidsh("echo ok", asNobody: true)
        try XCTSkipIf(probe.status == 126 || probe.status == 127 || probe.stderr.contains("Permission denied"),
                      "uid 65534 cannot run \(Self.binary ?? "pidsh"): \(probe.stderr)")
        let d = tempDir + "/nobody"
        mkdir(d, 0o755)
        chown(d, 65534, 65534)
        let s = marker(7803)
        let r = pidsh(#"""
        echo "uid=$(id -u)"
        let c = spawn --newpid sleep \#(s)
        echo "nspid=$c.nspid"
        echo "nsppid=$c.nsppid"
        spawn --newpid --wait sh -c 'echo "inner=$$"'
        spawn --newpid --mount-proc --wait ps -o pid=,comm=
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        echo "joined=$p.nspid"
        mount proc \#(d)/p --ns $ns
        ls \#(d)/p | grep -cE '^[0-9]+$'
        let l = nest 3 --mount-proc \#(d)/n{level}
        echo "nest=$l.length"
        unshare --pid
        let u = spawn sleep \#(s)
        echo "unshared=$u.nspid"
        """#, asNobody: true)
        XCTAssertEqual(r.status, 0, "rootless: pidsh enters a user namespace of its own\n\(r.transcript)")
        let f = r.fields
        XCTAssertEqual(f["uid"], "0", "root inside its user namespace")
        XCTAssertEqual(f["nspid"], "1", "spawn --newpid works rootless")
        XCTAssertEqual(f["nsppid"], "0")
        XCTAssertEqual(f["inner"], "1")
        XCTAssertTrue(r.stdoutLines.contains { $0.split(separator: " ") == ["1", "ps"] }, r.transcript)
        XCTAssertEqual(f["joined"], "2")
        XCTAssertTrue(r.stdoutLines.contains("2"), "its own procfs of the namespace")
        XCTAssertEqual(f["nest"], "3")
        XCTAssertEqual(f["unshared"], "1")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? ["?"], [], "its mount points are removed")
    }

    func testRootlessSharedMountsIsRefused() throws {
        try requireRoot("setpriv to uid 65534")
        try requireSetpriv()
        let r = pidsh("echo hi", flags: ["--shared-mounts"], asNobody: true)
        XCTAssertNotEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "--shared-mounts needs root")
    }

    func testESRCHForAGoneProcess() throws {
        let r = pidsh(#"""
        let p = spawn sh -c 'exit 0'
        wait $p
        try kill -KILL $p
        try ns id $p.pid
        try ps --ns $p.pid
        try spawn --ns $p true
        echo done
        """#)
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        assertContains(r.stderr, "error: kill -KILL")
        assertContains(r.stderr, "ESRCH")
        assertContains(r.stderr, "has already ended (exited 0): there is nothing left to signal")
        assertContains(r.stderr, "in pidsh's PID namespace: it has ended")
        assertContains(r.stderr, "has ended")
    }
}
