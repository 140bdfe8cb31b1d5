import Foundation
import XCTest

/// What pidsh says is what the kernel did, in the subtle cases (issue "kernel truth"):
/// a namespace's init dying while pidsh holds other members, the kernel's verdict on a
/// signal to an init, and `kill -KILL` of an init returning only once it is gone. The
/// witnesses are /proc/PID/status (SigBlk, ShdPnd, State) and the process table.
final class KernelTruthTests: EndToEndTestCase {
    /// The kernel finishes an init's exit only once every member is reaped; when pidsh
    /// is the parent of a member, a wait on the init must reap it meanwhile.
    func testWaitOnADeadInitReapsTheOtherMembersInsteadOfHanging() throws {
        try requireRoot("unshare(CLONE_NEWPID)")
        let s = marker(7711)
        let r = pidsh("""
        unshare --pid
        let a = spawn sleep \(s)
        let b = spawn sleep \(s)
        kill -KILL $a
        let sa = wait $a
        let sb = wait $b
        echo "a=$sa.signal b=$sb.signal"
        """, timeout: 10)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["a"], "SIGKILL b=SIGKILL", "b's status, reaped while pidsh waited for a, is still b's\n\(r.transcript)")
    }

    /// The same through `kill $ns` (a member joined with setns) and at exit.
    func testKillOfANamespaceAndExitReapMembersToo() throws {
        try requireRoot("setns")
        let s = marker(7712)
        let r = pidsh("""
        let ns = ns new
        setns $ns
        let b = spawn sleep \(s)
        let c = spawn sleep \(s)
        setns --self
        kill $ns
        let sb = wait $b
        echo "b=$sb.signal alive=$ns.alive"
        unshare --pid
        let d = spawn sleep \(s)
        let e = spawn sleep \(s)
        kill -KILL $d
        """, timeout: 10)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["b"], "SIGKILL alive=false", r.transcript)
    }

    /// `kill -KILL $init` returns once the namespace is gone: its status is settled on
    /// the next line, every time.
    func testKillKillOfAnInitWaitsUntilItIsReaped() throws {
        let r = expectSuccess(pidsh("""
        repeat 5 {
            let c = spawn --newpid sleep 100
            let m = spawn --ns $c sleep 100
            kill -KILL $c
            echo "status=$c.status member=$m.status"
        }
        """))
        XCTAssertEqual(r.stdoutLines, Array(repeating: "status=137 member=137", count: 5), r.transcript)
    }

    /// Waits until bit `signal` shows in `field` of /proc/PID/status (SigBlk, SigCgt).
    func waitForBit(_ field: String, _ signal: Int, pidVariable: String) -> String {
        "spawn --wait sh -c 'until [ $(( 0x$(awk \"/^\(field)/ {print \\$2}\" /proc/$1/status) & \(1 << (signal - 1)) )) -ne 0 ]; do sleep 0.01; done' sh $\(pidVariable).pid"
    }

    /// A signal the init blocks is queued: kill succeeds, says `queued`, and ShdPnd shows
    /// it pending.
    func testABlockedSignalIsQueued() throws {
        let r = expectSuccess(pidsh("""
        let j = spawn --newpid env --block-signal=USR1 sleep 100
        \(waitForBit("SigBlk", 10, pidVariable: "j"))
        let v = kill -USR1 $j
        echo "verdict=$v"
        echo "pending=$(awk '/^ShdPnd/ {print $2}' /proc/$j.pid/status)"
        """))
        XCTAssertEqual(r.fields["verdict"], "queued")
        XCTAssertEqual(r.fields["pending"].flatMap { UInt64($0, radix: 16) }.map { $0 & 0x200 }, 0x200, "SIGUSR1 pending\n\(r.transcript)")
        assertContains(r.stderr, "queued: PID 1 of its namespace")
        assertContains(r.stderr, "blocks SIGUSR1")
    }

    /// From an ancestor: no handler, discarded (nothing pending, still running); a
    /// handler, delivered (it ran); SIGKILL, delivered (it died).
    func testVerdictsFromAnAncestorNamespace() throws {
        let r = expectSuccess(pidsh("""
        let plain = spawn --newpid sleep 100
        let v1 = kill -USR1 $plain
        echo "plain=$v1 pending=$(awk '/^ShdPnd/ {print $2}' /proc/$plain.pid/status) state=$(awk '/^State/ {print $2}' /proc/$plain.pid/status)"
        let h = spawn --newpid sh -c 'trap "echo caught > \(tempDir)/caught" USR1; sleep 100 & wait'
        \(waitForBit("SigCgt", 10, pidVariable: "h"))
        # Once the shell waits (its sleep forked): it blocks signals around a fork, and
        # a signal sent then would be queued, truly.
        while $(cat /proc/$h.pid/task/$h.pid/children) == "" { sleep 0.01 }
        let v2 = kill -USR1 $h
        spawn --wait sh -c 'until test -e \(tempDir)/caught; do sleep 0.01; done'
        echo "handler=$v2 $(cat \(tempDir)/caught)"
        let v3 = kill -KILL $plain
        echo "kill=$v3 $plain.status"
        """))
        XCTAssertEqual(r.fields["plain"], "discarded pending=0000000000000000 state=S", r.transcript)
        XCTAssertEqual(r.fields["handler"], "delivered caught")
        XCTAssertEqual(r.fields["kill"], "delivered 137")
        assertContains(r.stderr, "discarded: PID 1 of its namespace")
        assertContains(r.stderr, "has no handler for SIGUSR1 (see SigCgt)")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "a note only for the discarded signal: plain delivery says nothing\n\(r.stderr)")
    }

    /// SIGCONT resumes a stopped init at send time (State T -> S), though the signal
    /// itself is discarded: `resumed`.
    func testContResumesAStoppedInit() throws {
        let r = expectSuccess(pidsh("""
        let c = spawn --newpid sleep 100
        let s = kill -STOP $c
        spawn --wait sh -c 'until grep -q "^State:.T" /proc/$1/status; do sleep 0.01; done' sh $c.pid
        echo "stop=$s stopped=$(awk '/^State/ {print $2}' /proc/$c.pid/status)"
        let v = kill -CONT $c
        spawn --wait sh -c 'while grep -q "^State:.T" /proc/$1/status; do sleep 0.01; done' sh $c.pid
        echo "cont=$v state=$(awk '/^State/ {print $2}' /proc/$c.pid/status)"
        """))
        XCTAssertEqual(r.fields["stop"], "delivered stopped=T", r.transcript)
        XCTAssertEqual(r.fields["cont"], "resumed state=S")
        assertContains(r.stderr, "resumed: SIGCONT woke the stopped init")
    }

    /// From inside its namespace, an init gets only what it catches: not even SIGKILL.
    /// pidsh runs as PID 2 of a namespace whose PID 1 is a shell (util-linux unshare).
    func testFromInsideTheNamespaceEvenKillIsDiscarded() throws {
        try requireRoot("unshare -p --mount-proc")
        let r = run(["/usr/bin/unshare", "-p", "-f", "--mount-proc", "/bin/sh", "-c",
                     "\(Self.binary!) -c 'let v = kill -KILL 1\necho verdict=$v\nlet w = kill -TERM 1\necho term=$w'; echo init=alive"])
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["verdict"], "discarded", r.transcript)
        XCTAssertEqual(r.fields["term"], "discarded")
        XCTAssertEqual(r.fields["init"], "alive", "PID 1 survived its own namespace's SIGKILL")
        assertContains(r.stderr, "from inside its namespace an init gets only the signals it catches, not even SIGKILL")
    }
}

/// Nothing left behind in a namespace pidsh did not make (item 5), and `--no-subreaper`
/// (item 7): the session's cgroup holds every process pidsh started and every
/// descendant, whoever adopts them.
final class SessionContainmentTests: ReliabilityTestCase {
    /// A PID namespace made by util-linux unshare, outside pidsh: its init's host PID.
    func foreignNamespace() throws -> (BackgroundRun, Int32)? {
        try requireRoot("unshare -p and a cgroup of pidsh's own")
        guard let run = start(["/usr/bin/unshare", "-p", "-f", "--kill-child", "--mount-proc", "sleep", "3001"]) else { return nil }
        var initPID: Int32?
        _ = waitUntil(timeout: 5) {
            initPID = self.tree(of: run.pid).first { $0.pid != run.pid }?.pid
            return initPID != nil
        }
        guard let initPID else { XCTFail("no init under unshare"); return nil }
        return (run, initPID)
    }

    func stillRunning(_ text: String) -> [Int32] {
        allProcStats().filter { p in
            ((try? String(contentsOfFile: "/proc/\(p.pid)/cmdline", encoding: .utf8)) ?? "").contains(text)
        }.map { $0.pid }
    }

    func testProgramsInANamespacePidshDidNotMakeEndWithIt() throws {
        guard let (unshare, initPID) = try foreignNamespace() else { return }
        defer { kill(unshare.pid, SIGKILL); _ = waitForExit(unshare) }
        let a = marker(7721), b = marker(7722)
        let r = pidsh("""
        let c = spawn --ns \(initPID) sh -c 'sleep \(a) & exec sleep \(b)'
        spawn --wait sh -c 'until pgrep -f "^sleep \(a)" >/dev/null; do sleep 0.01; done'
        echo "inside=$(pids $c | wc -w)"
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["inside"], "2", "the program ran in the foreign namespace (a PID at two levels)")
        XCTAssertTrue(waitUntil(timeout: 2) { self.stillRunning("sleep \(a)").isEmpty && self.stillRunning("sleep \(b)").isEmpty },
                      "the orphan re-parented to the foreign init died with the session")
        XCTAssertTrue(isAlive(ProcStat(pid: initPID, state: "S", ppid: unshare.pid, start: procStat(initPID)?.start ?? 0)), "the foreign init itself is left alone")
    }

    func testASIGKILLedPidshLeavesNothingInAForeignNamespace() throws {
        guard let (unshare, initPID) = try foreignNamespace() else { return }
        defer { kill(unshare.pid, SIGKILL); _ = waitForExit(unshare) }
        let a = marker(7723), b = marker(7724), c = marker(7725)
        guard let run = startPidsh("""
        spawn --ns \(initPID) sh -c 'sleep \(a) & exec sleep \(b)'
        spawn sh -c 'sleep \(c) & wait'
        spawn --wait sh -c 'until pgrep -f "^sleep \(a)" >/dev/null && pgrep -f "^sleep \(c)" >/dev/null; do sleep 0.01; done'
        echo READY
        sleep 100
        """), waitForOutput(run, "READY") else { return }
        kill(run.pid, SIGKILL)
        XCTAssertEqual(waitForExit(run), 137)
        XCTAssertTrue(waitUntil(timeout: 3) { [a, b, c].allSatisfy { self.stillRunning("sleep \($0)").isEmpty } },
                      "the janitor ended the session's cgroup: \([a, b, c].map { self.stillRunning("sleep \($0)") })")
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup/unified")) ?? []).contains("pidsh-\(run.pid)"),
                       "and removed it")
    }

    /// `--no-subreaper`: an orphan of pidsh's namespace goes to PID 1, as in orphan.c
    /// (witness: its PPid in /proc), and still ends with the session.
    func testNoSubreaperLetsOrphansGoToInitAndStillLeavesNothing() throws {
        try requireRoot("a cgroup of pidsh's own")
        let a = marker(7726)
        let r = pidsh("""
        spawn --wait sh -c 'sleep \(a) >/dev/null 2>&1 &'
        let orphan = $(pgrep -f "^sleep \(a)")
        spawn --wait sh -c 'while [ "$(awk "/^PPid/ {print \\$2}" /proc/$1/status)" = "$2" ]; do sleep 0.01; done' sh $orphan $$
        echo "ppid=$(awk '/^PPid/ {print $2}' /proc/$orphan/status)"
        """, flags: ["--no-subreaper"])
        XCTAssertEqual(r.status, 0, r.transcript)
        // PID 1, or the nearest subreaper above pidsh: this test process is one.
        XCTAssertTrue(["1", String(getpid())].contains(r.fields["ppid"] ?? ""), "re-parented to PID 1 (or this test, a subreaper), not to pidsh\n\(r.transcript)")
        XCTAssertTrue(waitUntil(timeout: 2) { self.stillRunning("sleep \(a)").isEmpty }, "and still ended with the session")
    }

    /// Rootless as PID 1 of its own namespace, `--no-subreaper` cannot apply: it says so.
    func testNoSubreaperSaysWhenItCannotApply() throws {
        try requireSetpriv()
        let r = pidsh("echo ran", flags: ["--no-subreaper", "--own-pid-namespace"], asNobody: true)
        XCTAssertEqual(r.status, 64, r.transcript)
        assertContains(r.stderr, "pidsh is PID 1 of its own PID namespace here")
        assertNotContains(r.stdout, "ran")
    }
}
