import Foundation
import Glibc
import XCTest

/// Item 1 of the signals issue: who is PID 1 of a `spawn --newpid` namespace (none,
/// reaper, forwarder) and what pidsh's init catches (`--catch`). Witnesses: NSpid, PPid,
/// Name and SigCgt of /proc/PID/status, and the statuses the kernel reports.
final class InitModesTests: EndToEndTestCase {
    func testReaperInitIsPID1TheCommandPID2AndTheNamespaceOutlivesIt() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7801)
        let r = expectSuccess(pidsh("""
        let r = spawn --newpid --init reaper sleep \(s)
        let ns = $r.ns
        \(statusLine("cmd", "NSpid", pid: "$r.pid"))
        \(statusLine("init", "NSpid", pid: "$ns.init.pid"))
        \(statusLine("initname", "Name", pid: "$ns.init.pid"))
        kill -KILL $r
        let st = wait $r
        echo "status=$st.signal alive=$ns.alive"
        \(statusLine("after", "Name", pid: "$ns.init.pid"))
        spawn --ns $ns --wait true
        """))
        XCTAssertEqual(r.fields["cmd"]?.split(separator: " ").last, "2", "CMD is PID 2\n\(r.transcript)")
        XCTAssertEqual(r.fields["init"]?.split(separator: " ").last, "1", r.transcript)
        XCTAssertEqual(r.fields["initname"], "pidsh-init")
        XCTAssertEqual(r.fields["status"], "SIGKILL alive=true", "the namespace outlives its command\n\(r.transcript)")
        XCTAssertEqual(r.fields["after"], "pidsh-init", r.transcript)
    }

    func testForwarderPassesASignalToItsCommandAndExitsWithItsStatus() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7802)
        let r = expectSuccess(pidsh("""
        let app = spawn --newpid --init forwarder sleep \(s)
        \(statusLine("initpid", "NSpid", pid: "$app.pid"))
        \(statusLine("initname", "Name", pid: "$app.pid"))
        let cmd = $(cat /proc/$app.pid/task/$app.pid/children | tr -d ' ')
        \(statusLine("cmd", "NSpid", pid: "$cmd"))
        \(statusLine("cmdppid", "PPid", pid: "$cmd"))
        echo "app=$app.pid"
        let v = kill -TERM $app
        let st = wait $app
        echo "verdict=$v status=$st exited=$st.exited"
        let sh = spawn --newpid --init forwarder sh -c 'trap "exit 3" USR1; while :; do sleep 0.05; done'
        # Its trap is set once its loop runs a sleep (before that USR1 would kill it).
        while ! ps --ns $sh -C sleep | grep -q sleep { sleep 0.01 }
        kill -USR1 $sh
        let st2 = wait $sh
        echo "trapped=$st2"
        let t = spawn --newpid --init forwarder sh -c 'trap "exit 4" TERM; sleep 100 & wait'
        while ! ps --ns $t -C sleep | grep -q sleep { sleep 0.01 }
        kill $t
        let st3 = wait $t
        echo "default=$st3"
        """))
        XCTAssertEqual(r.fields["initpid"]?.split(separator: " ").last, "1", r.transcript)
        XCTAssertEqual(r.fields["initname"], "pidsh-init")
        XCTAssertEqual(r.fields["cmd"]?.split(separator: " ").last, "2", "its command is PID 2\n\(r.transcript)")
        XCTAssertEqual(r.fields["cmdppid"], r.fields["app"], "and the init's child\n\(r.transcript)")
        // The init caught TERM (delivered), passed it on, and exited 128+15 itself.
        XCTAssertEqual(r.fields["verdict"], "delivered status=143 exited=true", r.transcript)
        XCTAssertEqual(r.fields["trapped"], "3", r.transcript)
        // A PID 1 that catches TERM gets TERM from a plain `kill` (only one that does not is killed).
        XCTAssertEqual(r.fields["default"], "4", r.transcript)
    }

    func testWhatTheInitCatchesShowsInSigCgt() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let plain = ns new
        \(statusLine("plain", "SigCgt", pid: "$plain.init.pid"))
        let caught = ns new --catch USR1,TERM
        \(statusLine("caught", "SigCgt", pid: "$caught.init.pid"))
        let fw = spawn --newpid --init forwarder sleep 100
        \(statusLine("forwarder", "SigCgt", pid: "$fw.pid"))
        let fw2 = spawn --newpid --init forwarder --catch HUP sleep 100
        \(statusLine("forwarder2", "SigCgt", pid: "$fw2.pid"))
        let rp = spawn --newpid --init reaper --catch INT sleep 100
        \(statusLine("reaper", "SigCgt", pid: "$rp.ns.init.pid"))
        """))
        let low: UInt64 = 0x7fff_ffff
        XCTAssertEqual(mask(r.fields["plain"]) & low, bit(SIGCHLD), "reaps: SIGCHLD only\n\(r.transcript)")
        XCTAssertEqual(mask(r.fields["caught"]) & low, bit(SIGCHLD) | bit(SIGUSR1) | bit(SIGTERM), r.transcript)
        let fw = mask(r.fields["forwarder"])
        for s in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGCONT, SIGWINCH] { XCTAssertNotEqual(fw & bit(s), 0, "forwards \(s)") }
        for s in [SIGSEGV, SIGTTIN] { XCTAssertEqual(fw & bit(s), 0, "keeps \(s) (as tini)") }
        XCTAssertEqual(mask(r.fields["forwarder2"]) & low, bit(SIGCHLD) | bit(SIGHUP), r.transcript)
        XCTAssertEqual(mask(r.fields["reaper"]) & low, bit(SIGCHLD) | bit(SIGINT), r.transcript)
    }

    func testCatchNeedsPidshsInitAndTheErrorSaysWhy() throws {
        let r = pidsh("spawn --newpid --catch USR1 sleep 1")
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "handlers do not survive exec")
        assertContains(r.stderr, "-c:1:24: error: spawn: --catch needs pidsh's init")
        let r2 = pidsh("spawn --init forwarder sleep 1")
        assertContains(r2.stderr, "--init chooses the PID 1 of a new namespace: it needs --newpid")
        let r3 = pidsh("ns new --catch KILL")
        assertContains(r3.stderr, "SIGKILL cannot be caught")
        let r4 = pidsh("spawn --newpid --init tini sleep 1")
        assertContains(r4.stderr, "unknown init mode \"tini\": none, reaper or forwarder")
    }

    /// A forwarder whose program cannot run fails the spawn (the init goes too).
    func testForwarderWhoseProgramIsMissingFailsAndLeavesNothing() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = pidsh("""
        try spawn --newpid --init forwarder /nonexistent-program
        try spawn --newpid --init reaper /nonexistent-program
        echo "after $?"
        ps --mine -o name
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "no such program: /nonexistent-program")
        XCTAssertFalse(r.stdout.contains("pidsh-init"), "no init stays behind\n\(r.transcript)")
    }
}
