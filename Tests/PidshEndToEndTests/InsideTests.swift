import Foundation
import Glibc
import XCTest

/// Item 5 of the signals issue: `inside NS { ... }` runs its block in a new pidsh that
/// is a member of NS. Witnesses: the init's /proc/PID/status after a kill from inside,
/// the statuses of members, NSpid read through the namespace's own procfs, and what
/// is left on the machine when the block is killed half-way.
final class InsideTests: EndToEndTestCase {
    /// LTP pidns04 from a member: init ignores SIGKILL sent from its own namespace.
    func testKillOfInitFromInsideIsDiscarded() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        inside $ns {
            let v = kill -KILL 1
            echo "inside=$v"
        }
        echo "alive=$ns.alive"
        \(statusLine("state", "State", pid: "$ns.init.pid"))
        """))
        XCTAssertEqual(r.fields["inside"], "discarded", r.transcript)
        XCTAssertEqual(r.fields["alive"], "true")
        XCTAssertEqual(r.fields["state"]?.first, "S", r.transcript)
        assertContains(r.stderr, "discarded: PID 1 of its namespace (PID 1 here) has no handler for SIGKILL (see SigCgt): from inside its namespace")
    }

    /// kill(-1) from a member reaches every member but the init and the sender.
    func testKillMinusOneFromInsideReachesEveryMemberButInitAndSender() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7805)
        let r = expectSuccess(pidsh("""
        let ns = ns new --catch USR1
        let a = spawn --ns $ns sleep \(s)
        let b = spawn --ns $ns sleep \(s)
        inside $ns {
            kill -USR1 -1
            echo "sender lives on"
        }
        let sa = wait $a
        let sb = wait $b
        echo "a=$sa.signal b=$sb.signal received=$ns.received.length"
        """))
        XCTAssertEqual(r.fields["a"], "SIGUSR1 b=SIGUSR1 received=0", "the init (which catches USR1) got nothing\n\(r.transcript)")
        assertContains(r.stdout, "sender lives on")
    }

    /// kill(-1) from pidsh's own namespace, the host's, would reach every process of the
    /// machine: refused before asking. Alone inside a namespace it reaches nobody (ESRCH).
    func testKillMinusOneIsRefusedInTheHostsNamespaceAndFindsNobodyAlone() throws {
        try requireRoot("clone(CLONE_NEWPID); pidsh in the host's own PID namespace")
        let r = pidsh("""
        try kill -USR1 -1
        let ns = ns new
        try inside $ns { kill -USR1 -1 }
        echo "status=$? alive=$ns.alive"
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "-c:1:16: error: kill(-1) from the host's own PID namespace would signal every process of the machine: refused")
        assertContains(r.stderr, "kill(-1, SIGUSR1): ESRCH")
        XCTAssertEqual(r.fields["status"], "1 alive=true", r.transcript)
    }

    /// `ps` and `$$` number as the namespace does; its procfs (the witness) agrees.
    func testPsAndPidsNumberAsTheNamespaceDoes() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        spawn --ns $ns sleep 100
        inside $ns {
            ps -o pid,ppid,cmd
            echo "me=$$ pids=$(pids $$)"
            \(statusLine("nspid", "NSpid", pid: "$$"))
        }
        """))
        XCTAssertEqual(r.stdoutLines.prefix(4).map { $0.split(separator: " ").joined(separator: " ") },
                       ["PID PPID CMD", "1 0 pidsh-init", "2 0 sleep 100", "3 0 pidsh --inside"], r.transcript)
        XCTAssertEqual(r.fields["me"], "3 pids=3", r.transcript)
        XCTAssertEqual(r.fields["nspid"], "3", "/proc inside is the namespace's own\n\(r.transcript)")
    }

    /// Output keeps its order, values go in, `$?` is the block's status, errors are
    /// located in the script.
    func testOrderValuesStatusAndLocatedErrors() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let script = tempDir + "/in.pidsh"
        try """
        let ns = ns new
        let greeting = "hello"
        let n = 41
        echo one
        inside $ns {
            echo "two $greeting"
            sh -c 'echo three; echo four >&2'
            let n = $n + 1
        }
        echo "five n=$n"
        try inside $ns { exit 7 }
        echo "status=$?"
        inside $ns {
            echo six
            nosuchcommand-x
        }
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let r = run(["/bin/sh", "-c", "\(Self.binary!) \(script) 2>&1"])
        XCTAssertEqual(r.status, 1, r.transcript)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(5)), ["one", "two hello", "three", "four", "five n=42"], r.transcript)
        assertContains(r.stdout, "status=7")
        assertContains(r.stdout, "six\n\(script):15:5: error: command not found: nosuchcommand-x")
        assertContains(r.stdout, "      nosuchcommand-x\n      ^~~~~~~~~~~~~~~")
        XCTAssertFalse(r.stdout.contains("\(script):15:5: error: command not found: nosuchcommand-x (not a builtin, not a def, not on $PATH)\n  note"), r.transcript)
    }

    /// A process started inside comes back as a handle (a pidfd) that works outside; a
    /// process handed in (a pidfd too) works inside.
    func testHandlesGoInAndComeBack() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7806)
        let r = expectSuccess(pidsh("""
        let ns = ns new
        let m = spawn --ns $ns sleep \(s)
        inside $ns {
            let p = spawn sleep \(s)
            kill -TERM $m
        }
        echo "p=$p.pid nspid=$p.nspid"
        \(statusLine("witness", "NSpid", pid: "$p.pid"))
        let sm = wait $m
        echo "m=$sm.signal"
        kill $p
        wait --timeout 5 $p
        echo "p gone=$p.status"
        """))
        let nspid = try XCTUnwrap(r.fields["witness"]).split(separator: " ")
        XCTAssertEqual(r.fields["p"]?.split(separator: " ").first.map(String.init), String(nspid.first ?? ""), r.transcript)
        XCTAssertEqual(r.fields["p"]?.hasSuffix("nspid=\(nspid.last ?? "")"), true, r.transcript)
        XCTAssertEqual(r.fields["m"], "SIGTERM", r.transcript)
        XCTAssertEqual(r.fields["p gone"], "ended", r.transcript)
    }

    /// A namespace pidsh did not make: util-linux unshare's.
    func testWorksInANamespacePidshDidNotMake() throws {
        try requireRoot("unshare --pid")
        let s = marker(7807)
        let r = expectSuccess(pidsh("""
        let u = spawn unshare --pid --fork sleep \(s)
        while $(ps --ns $u -o pid | wc -l) < 3 { sleep 0.01 }
        let first = $(ps -C sleep -o pid,cmd | grep \(s) | awk '{print $1}' | head -1)
        inside $first {
            ps -o pid,cmd
        }
        """))
        XCTAssertEqual(r.stdoutLines.map { $0.split(separator: " ").joined(separator: " ") },
                       ["PID CMD", "1 sleep \(s)", "2 pidsh --inside"], r.transcript)
    }

    func testRootlessInside() throws {
        try requireSetpriv()
        let r = pidsh("""
        let ns = ns new
        inside $ns {
            let v = kill -KILL 1
            echo "inside=$v me=$$"
        }
        echo "alive=$ns.alive"
        """, asNobody: true)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["inside"], "discarded me=2", r.transcript)
        XCTAssertEqual(r.fields["alive"], "true", r.transcript)
    }

    /// Killed half-way (the pidsh inside, or the pidsh that started it): no process,
    /// mount or directory of the block stays.
    func testNothingIsLeftWhenTheBlockIsKilledHalfWay() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7808)
        for victim in ["inside", "outer"] {
            let dir = tempDir + "/m-\(victim)"
            let script = """
            let ns = ns new
            inside $ns { spawn sleep \(s); mount proc \(dir); echo ready; sleep \(s) }
            """
            let out = tempDir + "/out-\(victim)", err = tempDir + "/err-\(victim)"
            guard let pid = spawnWithOutputFiles([Self.binary!, "-c", script], env: environment(), stdout: out, stderr: err,
                                                 file: #filePath, line: #line) else { return }
            var inner: Int32 = 0
            for _ in 0..<500 where inner == 0 {
                usleep(10_000)
                if (try? String(contentsOfFile: out, encoding: .utf8))?.contains("ready") == true {
                    inner = processes().first { $0.ppid == pid && $0.name == "pidsh" }?.pid ?? 0
                }
            }
            XCTAssertGreaterThan(inner, 0, "the block started")
            kill(victim == "inside" ? inner : pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            var left: [String] = []
            for _ in 0..<200 {
                left = leftoverProcesses().map { "\($0.pid) \($0.name)" } + (FileManager.default.fileExists(atPath: dir) ? [dir] : [])
                if left.isEmpty { break }
                reapOrphans()
                usleep(10_000)
            }
            XCTAssertEqual(left, [], "\(victim) killed: left behind")
            XCTAssertEqual(mountPoints(under: tempDir), [])
        }
    }
}
