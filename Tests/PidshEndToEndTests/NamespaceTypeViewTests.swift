import Foundation
import Glibc
import XCTest

/// What the tutorials of the other namespace types (examples/07-13) rely on: listings of
/// any type narrowed to the session (`--mine`), `--stable-ids` for every type's inodes
/// but never for data written to a file, a write the kernel refuses failing the
/// command, and cgroups a script makes in the session's cgroup going with it.
final class NamespaceTypeViewTests: ReliabilityTestCase {
    func readLink(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
    }

    /// The inode in a link such as `uts:[4026531838]`.
    func inode(_ link: String) -> String {
        String(link.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" })
    }

    /// `ns list --type T --mine` lists pidsh's namespace of that type and its children's,
    /// counting only them: not the machine's kernel threads and services.
    func testTypedListsWithMineShowOnlyTheSessionsNamespaces() throws {
        try requireRoot("to make a UTS namespace")
        let s = marker(7371)
        let r = expectSuccess(pidsh("""
            let c = spawn --new uts sleep \(s)
            echo "child=$c.pid"
            echo "uts=$(readlink /proc/$c.pid/ns/uts)"
            echo "net=$(readlink /proc/$c.pid/ns/net)"
            ns list --type uts --mine
            ns tree --type user --mine
            """))
        let child = try XCTUnwrap(r.fields["child"])
        let rows = r.stdoutLines.filter { $0.contains(" uts ") }
        XCTAssertEqual(rows.count, 2, r.transcript)
        XCTAssertTrue(rows.contains { $0.hasPrefix(inode(readLink("/proc/self/ns/uts")) + " uts       1 ") }, "pidsh's own, pidsh alone:\n\(r.stdout)")
        XCTAssertTrue(rows.contains { $0.contains(" uts       1 \(child) ") && $0.hasSuffix("sleep \(s)") }, r.transcript)
        assertNotContains(r.stdout, "[kthreadd]")
        // The ownership tree of the same: the one user namespace, and what pidsh's
        // processes use, each counted for them alone.
        let tree = Array(r.stdoutLines.drop { !$0.hasPrefix("user:[") })
        XCTAssertEqual(tree.first, readLink("/proc/self/ns/user"), r.transcript)
        XCTAssertTrue(tree.contains { $0.hasSuffix(" \(r.fields["uts"] ?? "?") (1 process)") }, r.transcript)
        XCTAssertTrue(tree.contains { $0.hasSuffix(" \(r.fields["net"] ?? "?") (2 processes)") }, "pidsh and its child:\n\(r.stdout)")
        for line in tree.dropFirst() {
            XCTAssertNotNil(line.range(of: #"\((1 process|2 processes)\)$"#, options: .regularExpression), "pidsh and its child only: \(line)")
        }
    }

    /// Under --stable-ids the inodes of every type pidsh knows print as aliases: pidsh's
    /// own and its children's (a uts id, ps's namespace columns).
    func testStableIdsAliasTheInodesOfEveryType() throws {
        try requireRoot("to make UTS and network namespaces")
        let s = marker(7372)
        let r = expectSuccess(pidsh("""
            let c = spawn --new uts,net sleep \(s)
            echo "uts=$c.ns.uts"
            readlink /proc/$$/ns/mnt /proc/$c.pid/ns/net
            ps -o utsns,netns,cmd --mine
            """, flags: ["--stable-ids"]))
        XCTAssertNil(r.stdout.range(of: "40265[0-9]{5}", options: .regularExpression), "no raw inode:\n\(r.stdout)")
        XCTAssertEqual(r.fields["uts"], "uts:[<ns#1>]", r.transcript)
        assertContains(r.stdout, "mnt:[<ns#2>]\nnet:[<ns#3>]\n")
        assertContains(r.stdout, "<ns#1> <ns#3> sleep \(s)")
    }

    /// --stable-ids rewrites what is shown, never what a redirection writes: a PID
    /// written to a file is the PID.
    func testStableIdsLeaveWhatARedirectionWritesAlone() throws {
        let s = marker(7373)
        let file = tempDir + "/pid"
        let r = expectSuccess(pidsh("""
            let c = spawn sleep \(s)
            echo $c.pid > \(file)
            expect $(cat \(file)) == $c.pid
            echo "shown=$c.pid"
            """, flags: ["--stable-ids"]))
        XCTAssertTrue(r.fields["shown"]?.hasPrefix("<pid#") ?? false, r.transcript)
        let written = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertNotNil(Int32(written.trimmingCharacters(in: .newlines)), "a number, not an alias: \(written)")
    }

    /// A builtin's write through a redirection that the kernel refuses fails the command
    /// with the errno, at the redirection: here a time namespace's offsets, frozen once
    /// a process is in it (EACCES), read back unchanged.
    func testAWriteTheKernelRefusesFailsTheCommand() throws {
        try requireRoot("to make a time namespace")
        let s = marker(7374)
        let r = pidsh("""
            let t = spawn --new time --time-offset monotonic=5 sleep \(s)
            echo "t=$t.pid"
            try echo "monotonic 9 0" > /proc/$t.pid/timens_offsets
            echo "status=$?"
            echo "monotonic 9 0" > /proc/$t.pid/timens_offsets
            echo "not reached"
            """)
        XCTAssertEqual(r.status, 1, r.transcript)
        XCTAssertEqual(r.fields["status"], "1", r.transcript)
        assertNotContains(r.stdout, "not reached")
        let t = try XCTUnwrap(r.fields["t"])
        assertContains(r.stderr, "-c:3:28: error: echo: write to /proc/\(t)/timens_offsets: EACCES (Permission denied)")
        assertContains(r.stderr, "-c:5:24: error: echo: write to /proc/\(t)/timens_offsets: EACCES")
    }

    /// Cgroups a script makes in the session's cgroup (as examples/12 does) go with it,
    /// with the processes in them, even when the script fails half-way.
    func testCgroupsMadeInTheSessionsCgroupGoWithIt() throws {
        try requireRoot("to make cgroups")
        let s = marker(7375)
        let r = pidsh("""
            spawn --wait true
            let cg = $(findmnt -n -t cgroup2 -o TARGET | head -1) + $(awk -F: '$1 == 0 { print $3 }' /proc/$$/cgroup)
            echo "cg=$cg"
            mkdir $cg/sub $cg/sub/deeper
            let c = spawn sleep \(s)
            echo $c.pid > $cg/sub/deeper/cgroup.procs
            echo "in=$(cat $cg/sub/deeper/cgroup.procs)"
            exit 4
            """)
        let cg = try XCTUnwrap(r.fields["cg"], r.transcript)
        try XCTSkipUnless(cg.contains("/pidsh-"), "pidsh made no cgroup of its own here (no writable cgroup v2): \(cg)")
        XCTAssertEqual(r.status, 4, r.transcript)
        XCTAssertFalse(r.fields["in"]?.isEmpty ?? true, "the sleep was in sub/deeper: \(r.transcript)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cg + "/sub/deeper"), "the script's cgroups are gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cg), "and the session's with them")
    }

    /// The same when pidsh is SIGKILLed: its janitor kills what is in the session's
    /// cgroup and removes the script's cgroups, then the session's.
    func testCgroupsMadeInTheSessionsCgroupGoWithItAfterASIGKILL() throws {
        try requireRoot("to make cgroups")
        let s = marker(7376)
        let fifo = tempDir + "/never"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        guard let run = startPidsh("""
            spawn --wait true
            let cg = $(findmnt -n -t cgroup2 -o TARGET | head -1) + $(awk -F: '$1 == 0 { print $3 }' /proc/$$/cgroup)
            echo "cg=$cg"
            mkdir $cg/sub $cg/sub/deeper
            let c = spawn sleep \(s)
            echo $c.pid > $cg/sub/deeper/cgroup.procs
            echo ready
            cat \(fifo)
            """) else { return }
        guard waitForOutput(run, "ready\n") else { kill(run.pid, SIGKILL); waitForExit(run); return }
        let cg = try XCTUnwrap(run.fields["cg"], run.transcript)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cg + "/sub/deeper"))
        kill(run.pid, SIGKILL)
        waitForExit(run)
        try XCTSkipUnless(cg.contains("/pidsh-"), "pidsh made no cgroup of its own here (no writable cgroup v2): \(cg)")
        XCTAssertTrue(waitUntil(timeout: 5) { !FileManager.default.fileExists(atPath: cg) }, "the janitor removed \(cg) and the cgroups in it")
    }
}
