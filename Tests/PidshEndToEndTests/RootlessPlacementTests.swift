import Foundation
import Glibc
import XCTest

/// Where a rootless pidsh (uid 65534) runs, and what that changes. A script that never
/// moves pidsh's children (no setns/unshare/source) keeps the host's PID namespace, with
/// all 32 levels below it: joins go through a helper process, and `mount proc` of pidsh's
/// own namespace binds /proc. A script that does move them makes pidsh PID 1 of a
/// namespace of its own. And a mount point in a directory the user may not write
/// (`/` for the walkthroughs' /proc2) is made in a mirror of that directory.
final class RootlessPlacementTests: ReliabilityTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
    }

    func testAScriptWithoutSetnsKeepsTheHostsNamespaceAndAll32Levels() {
        let r = pidsh(#"""
        echo "self=$$"
        let l = nest 31 --no-mount
        let last = ns new --parent $l.last
        echo "level=$last.level"
        echo "pids=$last.init.pids.length"
        try ns new --parent $last
        """#, asNobody: true, timeout: 30)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertNotEqual(r.fields["self"], "1", "rootless, pidsh stays in the host's PID namespace\n\(r.transcript)")
        XCTAssertEqual(r.fields["level"], "32", "the 32nd level below the host's namespace works rootless")
        XCTAssertEqual(r.fields["pids"], "33")
        assertContains(r.stderr, "ENOSPC")
        assertContains(r.stderr, "PID namespaces nest at most 32 levels below the root namespace")
    }

    func testNamingSetnsUnshareOrSourceAnywhereGivesPidshANamespaceOfItsOwn() {
        let scripts = [
            "setns": "echo \"self=$$\"\nif false { setns --self }",
            "unshare in a def": "def never { unshare --pid }\necho \"self=$$\"",
            "source in $(...)": "let x = $(if false { source /nonexistent })\necho \"self=$$\"",
            "--own-pid-namespace": "echo \"self=$$\"",
        ]
        for (what, code) in scripts {
            let r = pidsh(code, flags: what.hasPrefix("--") ? [what] : [], asNobody: true)
            XCTAssertEqual(r.status, 0, "\(what): \(r.transcript)")
            XCTAssertEqual(r.fields["self"], "1", "\(what): pidsh is PID 1 of its own namespace\n\(r.transcript)")
        }
        // `command setns` runs a program of that name, not the builtin: no move.
        let external = pidsh("echo \"self=$$\"\nif false { command setns }", asNobody: true)
        XCTAssertNotEqual(external.fields["self"], "1", external.transcript)
    }

    /// With a PID namespace of its own, rootless pidsh is one level down: `nest 32`
    /// fails, and the error says why this pidsh is not at the root.
    func testOwnNamespaceCostsALevelAndTheErrorSaysWhy() {
        let r = pidsh("try nest 32 --no-mount\nlet l = nest 31 --no-mount\necho \"levels=$l.length\"", flags: ["--own-pid-namespace"], asNobody: true, timeout: 30)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["levels"], "31")
        assertContains(r.stderr, "ENOSPC")
        assertContains(r.stderr, "as a normal user pidsh took a PID namespace of its own, one level down")
    }

    func testASetnsReachedThroughAVariableIsRefusedWithTheReason() {
        let s = marker(7811)
        let r = pidsh(#"""
        let a = ns new
        let verb = "setns"
        try $verb $a
        let other = "unshare"
        try $other --pid
        let p = spawn sleep \#(s)
        echo "after=$p.pids.length"
        $verb --self
        echo done
        """#, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertLocatedError(r.stderr, at: "-c:3:5", "setns(")
        assertLocatedError(r.stderr, at: "-c:5:5", "unshare(CLONE_NEWPID)")
        assertContains(r.stderr, "the host's PID namespace")
        assertContains(r.stderr, "--own-pid-namespace")
        XCTAssertEqual(r.fields["after"], "1", "children still go to pidsh's own namespace")
        XCTAssertEqual(r.stdoutLines.last, "done", "`setns --self` is a no-op there: the children never left")
    }

    /// Joins through the helper: the new process is still pidsh's child (CLONE_PARENT),
    /// in the right namespace, and no helper is left behind, not even as a zombie.
    func testJoiningFromTheHostsNamespaceGoesThroughAHelperAndLeavesNone() {
        let d = nobodyDirectory()
        let s = marker(7812)
        let bad = d + "/bad-interpreter"
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data("#!/nonexistent/interpreter\n".utf8)))
        chmod(bad, 0o755)
        guard let run = startPidsh(#"""
        let a = ns new
        let b = ns new --parent $a
        try spawn --ns $b \#(bad)
        let p = spawn --ns $b sleep \#(s)
        echo "parent=$p.ppid"
        echo "pids=$p.pids.length"
        echo "nspid=$p.nspid"
        echo "ns=${p.ns.parent.id == a.id}"
        mount proc \#(d)/pa --ns $a
        mount proc \#(d)/own
        echo "own=$(ls \#(d)/own/$$/status)"
        echo "inA=$(ls \#(d)/pa | grep -cE '^[0-9]+$')"
        echo READY
        sleep \#(s)
        """#, asNobody: true), waitForOutput(run, "READY") else { return XCTFail("no READY") }
        defer { kill(run.pid, SIGTERM); _ = waitForExit(run, timeout: 5) }
        let f = run.fields
        XCTAssertEqual(f["parent"], String(run.pid), run.transcript)
        XCTAssertEqual(f["pids"], "3", "host, a, b")
        XCTAssertEqual(f["nspid"], "3", "after b's init and the process whose exec failed")
        assertContains(run.stderr, "exec \(bad): ENOENT")
        XCTAssertEqual(f["ns"], "true", "b's parent is a")
        XCTAssertEqual(f["own"], "\(d)/own/\(run.pid)/status", "a procfs of pidsh's own (the host's) namespace: /proc bound there")
        XCTAssertEqual(f["inA"], "3", "a's init, b's init and the sleep, by a's numbers (the failed exec is reaped)")
        // The script's last `sleep` starts just after READY: wait for it (at most 5 s).
        var tree = tree(of: run.pid)
        var children: [String] = []
        for _ in 0 ..< 250 {
            tree = self.tree(of: run.pid)
            children = tree.filter { $0.ppid == run.pid }.map { procComm($0.pid) }.sorted()
            if children.filter({ $0 == "sleep" }).count >= 2 { break }
            usleep(20_000)
        }
        XCTAssertEqual(tree.filter { $0.state == "Z" }, [], "no zombie helper")
        XCTAssertEqual(children, ["pidsh-init", "pidsh-init", "pidsh-janitor", "sleep", "sleep"],
                       "every process pidsh made is its own child; no helper remains")
    }

    /// `--mount-proc` without `--newpid`: the child's /proc already shows its (the
    /// host's) namespace, which a normal user may not mount anew: kept, not an error.
    func testMountProcForAChildOfTheHostsNamespace() {
        let r = pidsh(#"""
        spawn --mount-proc --wait sh -c 'echo "self=$(readlink /proc/self/ns/pid)"'
        echo "mine=$(readlink /proc/$$/ns/pid)"
        """#, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["self"], r.fields["mine"], r.transcript)
    }

    func procComm(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The walkthroughs' `/proc2`: `/` is not writable for uid 65534, so pidsh mirrors it.
    /// Through the mirror every original entry is there and writes reach the real
    /// filesystem; the mount point and the mirror go with the session.
    func testAMountPointInARootOwnedDirectoryIsMadeInAMirror() {
        let name = "pidsh-mirror-\(getpid())"
        let d = nobodyDirectory()
        let r = pidsh(#"""
        let c = spawn --newpid --mount-proc /\#(name) sleep 600
        echo "init=$(grep -E '^Name' /\#(name)/1/status | cut -f2)"
        echo "same=$(ls / | grep -v '^\#(name)$' | tr '\n' ' ')"
        echo written > \#(d)/through-the-mirror
        echo "self=$(readlink /proc/self/ns/pid | cut -c1-4)"
        kill $c
        """#, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["init"], "sleep", "the new namespace's procfs at /\(name)")
        let host = ((try? FileManager.default.contentsOfDirectory(atPath: "/")) ?? []).filter { !$0.hasPrefix(".") }.sorted().joined(separator: " ") + " "
        XCTAssertEqual(r.fields["same"], host, "the mirror has every entry of /")
        XCTAssertEqual(try? String(contentsOfFile: d + "/through-the-mirror", encoding: .utf8), "written\n")
        XCTAssertFalse(exists("/" + name), "nothing left in the host's /")
    }

    /// `--trace` shows the mirror and the bind, as the system calls they are.
    func testTraceShowsTheMirrorAndTheBindOfProc() {
        let name = "pidsh-trace-\(getpid())"
        let r = pidsh("mount proc /\(name)", flags: ["--trace"], asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        // The janitor may not make the mount point in the host's `/`; pidsh mirrors `/`
        // (a tmpfs, a bind per entry, pivot_root), then binds /proc at the new directory.
        assertContains(r.stderr, "\"\(name)\", 0755) = -1 EACCES (Permission denied)   # in the janitor")
        assertContains(r.stderr, "+ fsopen(\"tmpfs\", FSOPEN_CLOEXEC) = ")
        assertContains(r.stderr, "+ pivot_root(\".\", \".\") = 0")
        assertContains(r.stderr, "+ umount2(\".\", MNT_DETACH) = 0")
        assertContains(r.stderr, "\"\(name)\", 0755) = 0   # in the janitor")
        assertContains(r.stderr, "+ open_tree(AT_FDCWD, \"/proc\", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_NO_AUTOMOUNT|AT_RECURSIVE) = ")
        assertContains(r.stderr, "</\(name)>, \"\", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH) = 0")
        XCTAssertFalse(exists("/" + name))
    }

    /// Any directory the user cannot write: its entries read and write through, its
    /// mode is kept, and the host's copy is untouched after the session.
    func testAMirroredDirectoryKeepsItsEntries() {
        let d = tempDir + "/rootowned"
        mkdir(d, 0o750)
        chown(d, 0, 65534)
        mkdir(d + "/sub", 0o777)
        chmod(d + "/sub", 0o777)
        XCTAssertTrue(FileManager.default.createFile(atPath: d + "/file", contents: Data("original\n".utf8)))
        chmod(d + "/file", 0o666)
        symlink("file", d + "/link")
        let r = pidsh(#"""
        mount proc \#(d)/p
        echo "entries=$(ls \#(d) | tr '\n' ' ')"
        echo "file=$(cat \#(d)/link)"
        echo changed > \#(d)/file
        touch \#(d)/sub/new
        echo "mode=$(stat -c %a \#(d))"
        umount \#(d)/p
        """#, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["entries"], "file link p sub ")
        XCTAssertEqual(r.fields["file"], "original")
        XCTAssertEqual(r.fields["mode"], "750")
        XCTAssertEqual(try? String(contentsOfFile: d + "/file", encoding: .utf8), "changed\n", "the file is the original")
        XCTAssertTrue(exists(d + "/sub/new"), "the directory is the original")
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []).sorted(), ["file", "link", "sub"])
    }

    /// As root nothing is mirrored: pidsh may write there, and a directory it may not
    /// write as root (read-only) is an error, not a mirror.
    func testRootNeverMirrors() {
        let name = "pidsh-nomirror-\(getpid())"
        let r = pidsh(#"""
        mount proc /\#(name)
        echo "root=$(stat -f -c %T /)"
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertNotEqual(r.fields["root"], "tmpfs", "as root `/` is the host's")
        XCTAssertFalse(exists("/" + name))
    }
}
