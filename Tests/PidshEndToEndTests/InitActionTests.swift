import Foundation
import Glibc
import XCTest

/// Items 2 and 3 of the signals issue: `ns init NS ACTION` has pidsh's init make the
/// call itself, and `signals received` / `$ns.received` show the siginfo of what it
/// caught. Witnesses: SigBlk, SigCgt, SigIgn, ShdPnd of /proc/PID/status, the PID a
/// sender prints for itself, and the statuses of the members an init's kill(-1) reached.
final class InitActionTests: EndToEndTestCase {
    func testMaskAndDispositionsChangeInTheInitItself() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        ns init $ns block USR1 USR2
        \(statusLine("blocked", "SigBlk", pid: "$ns.init.pid"))
        ns init $ns unblock USR2
        \(statusLine("unblocked", "SigBlk", pid: "$ns.init.pid"))
        ns init $ns catch TERM,HUP
        \(statusLine("caught", "SigCgt", pid: "$ns.init.pid"))
        ns init $ns ignore INT
        \(statusLine("ignored", "SigIgn", pid: "$ns.init.pid"))
        ns init $ns default TERM INT
        \(statusLine("caught2", "SigCgt", pid: "$ns.init.pid"))
        \(statusLine("ignored2", "SigIgn", pid: "$ns.init.pid"))
        """))
        let low: UInt64 = 0x7fff_ffff
        XCTAssertEqual(mask(r.fields["blocked"]), bit(SIGUSR1) | bit(SIGUSR2), r.transcript)
        XCTAssertEqual(mask(r.fields["unblocked"]), bit(SIGUSR1), r.transcript)
        XCTAssertEqual(mask(r.fields["caught"]) & low, bit(SIGCHLD) | bit(SIGTERM) | bit(SIGHUP), r.transcript)
        // (Signals 32 and 33 are glibc's: the test runner may leave them ignored.)
        XCTAssertEqual(mask(r.fields["ignored"]) & low, bit(SIGINT), r.transcript)
        XCTAssertEqual(mask(r.fields["caught2"]) & low, bit(SIGCHLD) | bit(SIGHUP), r.transcript)
        XCTAssertEqual(mask(r.fields["ignored2"]) & low, 0, r.transcript)
    }

    /// LTP pidns20's rule: blocked in the init, a signal from the parent stays pending;
    /// once caught and unblocked, the handler runs and the init lives on.
    func testABlockedSignalPendsThenReachesTheHandlerWhenUnblocked() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        ns init $ns block USR1
        let v = kill -USR1 $ns.init
        \(statusLine("pending", "ShdPnd", pid: "$ns.init.pid"))
        echo "verdict=$v received=$ns.received.length"
        ns init $ns catch USR1
        ns init $ns unblock USR1
        \(statusLine("after", "ShdPnd", pid: "$ns.init.pid"))
        echo "got=$ns.received.last"
        echo "alive=$ns.alive"
        """))
        XCTAssertEqual(mask(r.fields["pending"]), bit(SIGUSR1), "queued, pending\n\(r.transcript)")
        XCTAssertEqual(r.fields["verdict"], "queued received=0", r.transcript)
        XCTAssertEqual(mask(r.fields["after"]), 0, r.transcript)
        XCTAssertEqual(r.fields["got"], "SIGUSR1 si_code=SI_USER si_pid=0 (the sender is in an ancestor namespace: it has no PID here) si_uid=0", r.transcript)
        XCTAssertEqual(r.fields["alive"], "true")
    }

    /// si_pid as the init's namespace numbers the sender: 0 from pidsh (an ancestor),
    /// the member's own PID from a member, 1 from the init itself (LTP pidns12, 16).
    func testSiPidIsZeroFromAnAncestorTheSendersPIDFromInsideAndOneFromItself() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new --catch USR1
        kill -USR1 $ns
        spawn --ns $ns --wait sh -c 'echo "member=$$"; kill -USR1 1'
        ns init $ns kill USR1 1
        signals received $ns
        echo "json=$(signals received $ns --json)"
        """))
        let lines = r.stdoutLines.filter { $0.hasPrefix("SIGUSR1") }
        let member = try XCTUnwrap(r.fields["member"])
        XCTAssertEqual(lines, ["SIGUSR1 si_code=SI_USER si_pid=0 (the sender is in an ancestor namespace: it has no PID here) si_uid=0",
                               "SIGUSR1 si_code=SI_USER si_pid=\(member) si_uid=0",
                               "SIGUSR1 si_code=SI_USER si_pid=1 (the init itself) si_uid=0"], r.transcript)
        let json = try XCTUnwrap(parseJSON(r.fields["json"] ?? "") as? [[String: Any]])
        XCTAssertEqual(json.compactMap { $0["pid"] as? Int }, [0, Int(member)!, 1])
        XCTAssertEqual(json.compactMap { $0["code"] as? String }, ["SI_USER", "SI_USER", "SI_USER"])
    }

    /// LTP pidns17: kill(-1) from the init reaches every member (here pidsh's children,
    /// whose statuses pidsh reads) but not the init.
    func testKillMinusOneFromTheInitReachesEveryOtherMember() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7803)
        let r = expectSuccess(pidsh("""
        let ns = ns new
        let members = []
        repeat 5 {
            let m = spawn --ns $ns sleep \(s)
            let members = $members + [$m]
        }
        let v = ns init $ns kill USR1 -1
        echo "verdicts=$v"
        for m in $members { let st = wait $m; echo "member=$st.signal" }
        echo "init=$ns.alive"
        try ns init $ns kill USR1 -1
        try ns init $ns kill KILL $$
        """))
        XCTAssertEqual(r.fields["verdicts"], "delivered delivered delivered delivered delivered", r.transcript)
        XCTAssertEqual(r.stdoutLines.filter { $0 == "member=SIGUSR1" }.count, 5, r.transcript)
        XCTAssertEqual(r.fields["init"], "true")
        // LTP pidns10 / 06: alone, kill(-1) finds nobody; a PID of pidsh's names nothing inside.
        assertContains(r.stderr, "kill(-1, SIGUSR1): ESRCH")
        assertContains(r.stderr, "the init is alone")
        assertContains(r.stderr, ", SIGKILL): ESRCH")
        assertContains(r.stderr, "names nothing there")
    }

    /// LTP pidns04: the init's SIGKILL to itself is discarded (it has no handler, and a
    /// sender inside its namespace is not forced through).
    func testTheInitCannotKillItselfWithSIGKILL() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        let v = ns init $ns kill KILL 1
        echo "verdict=$v alive=$ns.alive"
        \(statusLine("state", "State", pid: "$ns.init.pid"))
        """))
        XCTAssertEqual(r.fields["verdict"], "discarded alive=true", r.transcript)
        XCTAssertEqual(r.fields["state"]?.first, "S", r.transcript)
        assertContains(r.stderr, "from inside its namespace an init gets only the signals it catches, not even SIGKILL")
    }

    func testOnlyPidshsOwnLiveInitCanBeAsked() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = pidsh("""
        let p = spawn --newpid sleep 100
        try ns init $p block USR1
        try signals received $p
        let ns = ns new
        kill -STOP $ns.init
        try ns init $ns block USR1
        kill -CONT $ns.init
        ns init $ns block USR1
        try ns init $ns frobnicate USR1
        try ns init $ns catch STOP
        echo done
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "is `sleep`")
        assertContains(r.stderr, "not pidsh's init: pidsh steers only the inits it started")
        assertContains(r.stderr, "is stopped (SIGSTOP): it cannot act until a SIGCONT resumes it")
        assertContains(r.stderr, "unknown action `frobnicate`")
        assertContains(r.stderr, "SIGSTOP cannot be caught")
        XCTAssertEqual(r.stdoutLines.last, "done")
    }

    /// The inits of `nest` are pidsh's too: each level answers for its own namespace.
    func testNestLevelsAreDrivenLikeNsNew() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let levels = nest 3 --no-mount
        ns init $levels.first catch USR2
        for ns in $levels { if $ns != $levels.last { ns init $ns block USR1 } }
        kill -USR2 $levels.first
        echo "got=$levels.first.received.last"
        \(statusLine("outer", "SigBlk", pid: "$levels.first.init.pid"))
        """))
        XCTAssertEqual(r.fields["got"]?.hasPrefix("SIGUSR2 si_code=SI_USER si_pid=0"), true, r.transcript)
        XCTAssertEqual(mask(r.fields["outer"]), bit(SIGUSR1), r.transcript)
    }

    /// The JSON of `ns list` and `ns tree` carries `received`.
    func testReceivedIsInTheJSONOfNamespaces() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new --catch USR1 --name box
        kill -USR1 $ns
        ns list --mine --json
        """))
        let list = try XCTUnwrap(parseJSON(r.stdout) as? [[String: Any]])
        let box = try XCTUnwrap(list.first { ($0["label"] as? String) == "box" })
        let received = try XCTUnwrap(box["received"] as? [[String: Any]])
        XCTAssertEqual(received.first?["signal"] as? String, "SIGUSR1")
        XCTAssertEqual(received.first?["pid"] as? Int, 0)
        XCTAssertTrue(list.first { ($0["level"] as? Int) == 0 }?["received"] is NSNull)
    }
}
