import Foundation
import XCTest

/// `spawn` and its options, and every field of a process, checked against the kernel.
final class SpawnTests: EndToEndTestCase {
    /// NSpid / PPid / Name of /proc/PID/status as printed by grep in the script.
    func statusLines(_ r: PidshRun) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in r.stdoutLines {
            guard let colon = line.firstIndex(of: ":"), ["NSpid", "PPid", "Name", "Pid"].contains(String(line[..<colon])) else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
        }
        return out
    }

    func testNewpidProcessFieldsMatchTheKernel() throws {
        let s = marker(7101)
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid sleep \#(s)
        echo "pid=$c.pid"
        echo "nspid=$c.nspid"
        echo "pids=$c.pids"
        echo "ppid=$c.ppid"
        echo "nsppid=$c.nsppid"
        echo "ns=$c.ns"
        echo "name=$c.name"
        echo "status=$c.status"
        echo "self=$$"
        echo "link=$(readlink /proc/$c.pid/ns/pid)"
        echo "ownlink=$(readlink /proc/$$/ns/pid)"
        grep -E '^(Name|PPid|NSpid):' /proc/$c.pid/status
        show $c
        kill -KILL $c
        let st = wait $c
        echo "after=$c.status"
        echo "code=$st.code"
        """#))
        let f = r.fields, st = statusLines(r)
        XCTAssertEqual(f["nspid"], "1", r.transcript)
        XCTAssertEqual(f["nsppid"], "0", r.transcript)
        XCTAssertEqual(st["NSpid"], f["pids"]?.split(separator: " ").map(String.init), "pids is NSpid, outermost first")
        XCTAssertEqual(st["NSpid"]?.first, f["pid"], "pid is pidsh's view of the PID")
        XCTAssertEqual(st["NSpid"]?.count, 2)
        XCTAssertEqual(st["PPid"]?.first, f["ppid"])
        XCTAssertEqual(f["ppid"], f["self"], "pidsh is the parent")
        XCTAssertEqual(f["ns"], f["link"], "ns is the kernel's namespace of the process")
        XCTAssertNotEqual(f["link"], f["ownlink"], "a new namespace, not pidsh's")
        XCTAssertEqual(f["name"], "sleep")
        XCTAssertEqual(st["Name"], ["sleep"])
        XCTAssertEqual(f["status"], "running")
        XCTAssertEqual(f["after"], "137", "killed by SIGKILL: 128+9")
        XCTAssertEqual(f["code"], "137")
        assertContains(r.stdout, "process pid=\(f["pid"] ?? "?") nspid=1 pids=[\(f["pids"] ?? "?")] ppid=\(f["self"] ?? "?") nsppid=0 ns=\(f["link"] ?? "?") name=sleep status=running")
    }

    func testSpawnIntoNamespaceJoinsItAsPID2() throws {
        let s = marker(7102)
        let r = expectSuccess(pidsh(#"""
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        echo "nspid=$p.nspid"
        echo "nsppid=$p.nsppid"
        echo "pns=$p.ns"
        echo "ns=$ns"
        echo "link=$(readlink /proc/$p.pid/ns/pid)"
        echo "pidscount=$p.pids.length"
        let q = spawn --ns $p sleep \#(s)
        echo "q=$q.nspid"
        expect $q.ns == $ns
        """#))
        let f = r.fields
        XCTAssertEqual(f["nspid"], "2", "PID 1 is pidsh's init: the first process to join is 2\n\(r.transcript)")
        XCTAssertEqual(f["nsppid"], "0", "its parent (pidsh) is outside the namespace")
        XCTAssertEqual(f["pns"], f["ns"])
        XCTAssertEqual(f["link"], f["ns"])
        XCTAssertEqual(f["pidscount"], "2")
        XCTAssertEqual(f["q"], "3", "--ns also takes a process: it joins that process's namespace")
    }

    func testMountProcAtPathShowsOnlyTheNamespace() throws {
        let s = marker(7103)
        let dir = tempDir
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid --mount-proc \#(dir)/proc2 sleep \#(s)
        ls -d \#(dir)/proc2/[1-9]*
        grep -E '^(Name|Pid|PPid):' \#(dir)/proc2/1/status
        grep -c ' \#(dir)/proc2 proc ' /proc/self/mounts
        let ns = ns new
        let p = spawn --ns $ns --mount-proc \#(dir)/nsproc sleep \#(s)
        ls \#(dir)/nsproc | grep -E '^[0-9]+$'
        echo ---
        """#))
        let lines = r.stdoutLines
        XCTAssertEqual(Array(lines.prefix(4)), ["\(dir)/proc2/1", "Name:\tsleep", "Pid:\t1", "PPid:\t0"], r.transcript)
        XCTAssertEqual(lines.dropFirst(4).first, "1", "one procfs mounted there")
        XCTAssertEqual(Array(lines.dropFirst(5).prefix(2)), ["1", "2"], "pidsh's init and the joined sleep only:\n\(r.transcript)")
        XCTAssertEqual(lines.last, "---")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/proc2"), "the directory pidsh created is removed at exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/nsproc"))
    }

    func testMountProcWithoutPathGivesAPrivateProc() throws {
        try requireRoot("compares with the host's /proc; rootless pidsh already has a /proc of its own")
        let r = expectSuccess(pidsh(#"""
        spawn --newpid --mount-proc --wait sh -c 'echo "inner=$$"; exec cat /proc/self/status'
        spawn --newpid --mount-proc --wait ps -o pid,comm
        spawn --newpid --mount-proc --wait readlink /proc/self/ns/mnt
        echo "mnt=$(readlink /proc/self/ns/mnt)"
        echo "hostprocs=$(ls /proc | grep -cE '^[0-9]+$')"
        echo "self=$(grep -E '^Pid:' /proc/$$/status)"
        """#))
        let f = r.fields
        XCTAssertEqual(f["inner"], "1", r.transcript)
        XCTAssertTrue(r.stdoutLines.contains("Pid:\t1"), "cat (exec'd by sh) is PID 1 in its /proc\n\(r.transcript)")
        XCTAssertTrue(r.stdoutLines.contains("NSpid:\t1"), "the remounted /proc is the new namespace's: one level only")
        let psLines = r.stdoutLines.filter { $0.hasPrefix(" ") || $0.hasPrefix("PID") || $0.hasPrefix("  PID") }
        XCTAssertEqual(psLines.map { $0.split(separator: " ").map(String.init) }, [["PID", "COMMAND"], ["1", "ps"]],
                       "inside, ps sees itself as PID 1 and nothing else\n\(r.transcript)")
        let mntLines = r.stdoutLines.filter { $0.hasPrefix("mnt:[") }
        XCTAssertEqual(mntLines.count, 1)
        XCTAssertNotEqual(mntLines.first.map { "mnt=" + $0 }, "mnt=" + (f["mnt"] ?? ""), "a private mount namespace")
        XCTAssertGreaterThan(Int(f["hostprocs"] ?? "0") ?? 0, 10, "pidsh's own /proc is untouched")
        XCTAssertNotEqual(f["self"], "Pid:\t1")
    }

    func testWaitStatusAndOutput() throws {
        let r = expectSuccess(pidsh(#"""
        let st = spawn --wait sh -c 'exit 7'
        echo "code=$st.code"
        echo "exited=$st.exited"
        show $st
        let k = spawn --wait sh -c 'kill -KILL $$'
        echo "kcode=$k.code"
        echo "ksignal=$k.signal"
        spawn --newpid --wait sh -c 'echo "in-ns=$$"'
        let ns = ns new
        spawn --ns $ns --wait sh -c 'echo "joined=$$"'
        """#))
        let f = r.fields
        XCTAssertEqual(f["code"], "7", r.transcript)
        XCTAssertEqual(f["exited"], "true")
        assertContains(r.stdout, "status exited 7 (code 7)")
        XCTAssertEqual(f["kcode"], "137")
        XCTAssertEqual(f["ksignal"], "SIGKILL")
        XCTAssertEqual(f["in-ns"], "1", "spawn --newpid --wait: the command is PID 1")
        XCTAssertEqual(f["joined"], "2")
    }

    func testNameLabelsTheProcess() throws {
        let s = marker(7104)
        let r = expectSuccess(pidsh(#"""
        let p = spawn --name web sleep \#(s)
        echo "name=$p.name"
        show $p
        let q = spawn --newpid --name=db sleep \#(s)
        echo "qname=$q.name"
        """#))
        XCTAssertEqual(r.fields["name"], "web", r.transcript)
        XCTAssertEqual(r.fields["qname"], "db")
        assertContains(r.stdout, "name=web status=running")
    }

    func testProcessWithoutNewNamespaceIsInPidshsNamespace() throws {
        let s = marker(7105)
        let r = expectSuccess(pidsh(#"""
        let p = spawn sleep \#(s)
        echo "pid=$p.pid"
        echo "nspid=$p.nspid"
        echo "pids=$p.pids"
        echo "ppid=$p.ppid"
        echo "nsppid=$p.nsppid"
        echo "self=$$"
        expect $p.ns == $(ns id $$)
        """#))
        let f = r.fields
        XCTAssertEqual(f["pid"], f["nspid"], r.transcript)
        XCTAssertEqual(f["pids"], f["pid"])
        XCTAssertEqual(f["ppid"], f["self"])
        XCTAssertEqual(f["nsppid"], f["self"], "same namespace: the parent is visible from inside")
    }

    func testSpawnErrors() throws {
        let r = pidsh(#"""
        try spawn
        try spawn --newpid --ns $$ true
        try spawn no-such-program-xyz
        try spawn --bogus true
        try spawn --newpid --mount-proc /proc true
        spawn --newpid no-such-program-xyz
        echo not-reached
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "spawn needs a command to run")
        assertContains(r.stderr, "--newpid and --ns exclude each other")
        assertContains(r.stderr, "command not found: no-such-program-xyz")
        assertContains(r.stderr, "unknown option --bogus")
        assertContains(r.stderr, "refusing to mount over /proc")
        assertContains(r.stderr, "-c:6:")
        assertNotContains(r.stdout, "not-reached")
    }
}
