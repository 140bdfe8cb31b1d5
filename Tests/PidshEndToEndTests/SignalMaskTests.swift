import Foundation
import Glibc
import XCTest

/// Item 4 of the signals issue: `signals PROCESS` decodes /proc/PID/status; `spawn
/// --block/--ignore` set a mask and dispositions that survive exec; `kill --explain`
/// gives the verdict `kill` gives after sending, without sending.
final class SignalMaskTests: EndToEndTestCase {
    func testSignalsDecodesWhatProcShows() throws {
        let r = expectSuccess(pidsh("""
        let p = spawn --block USR1,HUP --ignore TERM sleep 100
        kill -USR1 $p
        signals $p
        echo "json=$(signals $p --json)"
        \(statusLine("blk", "SigBlk", pid: "$p.pid"))
        \(statusLine("ign", "SigIgn", pid: "$p.pid"))
        \(statusLine("pnd", "ShdPnd", pid: "$p.pid"))
        """))
        let low: UInt64 = 0x7fff_ffff
        XCTAssertEqual(mask(r.fields["blk"]) & low, bit(SIGHUP) | bit(SIGUSR1), r.transcript)
        XCTAssertEqual(mask(r.fields["ign"]) & low, bit(SIGTERM), r.transcript)
        XCTAssertEqual(mask(r.fields["pnd"]), bit(SIGUSR1), r.transcript)
        assertContains(r.stdout, "blocked:          SIGHUP SIGUSR1   (SigBlk)")
        assertContains(r.stdout, "ignored:          SIGTERM")
        assertContains(r.stdout, "pending (shared): SIGUSR1   (ShdPnd)")
        let json = try XCTUnwrap(parseJSON(r.fields["json"] ?? "") as? [String: [String]])
        XCTAssertEqual(json["blocked"]?.filter { $0.hasPrefix("SIG") }, ["SIGHUP", "SIGUSR1"])
        XCTAssertEqual(json["pending_shared"], ["SIGUSR1"])
    }

    /// The mask and SIG_IGN are set before exec and survive it: the program (sleep, which
    /// touches neither) runs with them; a blocked signal pends, an ignored one is dropped.
    func testBlockAndIgnoreSurviveExec() throws {
        let s = marker(7804)
        let r = expectSuccess(pidsh("""
        let p = spawn --block USR1 --ignore TERM sleep \(s)
        \(statusLine("name", "Name", pid: "$p.pid"))
        echo "cmd=$(tr '\\0' ' ' < /proc/$p.pid/cmdline)"
        let v1 = kill -USR1 $p
        let v2 = kill -TERM $p
        echo "verdicts=$v1 $v2 running=$p.status"
        \(statusLine("pnd", "ShdPnd", pid: "$p.pid"))
        """))
        XCTAssertEqual(r.fields["name"], "sleep", "exec'd\n\(r.transcript)")
        XCTAssertEqual(r.fields["cmd"], "sleep \(s) ", r.transcript)
        XCTAssertEqual(r.fields["verdicts"], "queued discarded running=running", r.transcript)
        XCTAssertEqual(mask(r.fields["pnd"]), bit(SIGUSR1), r.transcript)
        assertContains(r.stderr, "discarded: process")
        assertContains(r.stderr, "ignores SIGTERM (SigIgn)")
    }

    /// "Blocked in init, sent by the parent, pending": the PID 1 of a new namespace
    /// started with USR1 blocked.
    func testABlockedSignalPendsInAnInitThatPidshStartedBlocked() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let p = spawn --newpid --block USR1 sleep 100
        let v = kill -USR1 $p
        echo "verdict=$v"
        \(statusLine("pnd", "ShdPnd", pid: "$p.pid"))
        """))
        XCTAssertEqual(r.fields["verdict"], "queued", r.transcript)
        XCTAssertEqual(mask(r.fields["pnd"]), bit(SIGUSR1), r.transcript)
    }

    func testKillOrIgnoreOfKillIsRefused() throws {
        let r = pidsh("try spawn --block KILL sleep 1\ntry spawn --ignore STOP,TERM sleep 1\ntry spawn --block BOGUS sleep 1")
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "SIGKILL cannot be blocked")
        assertContains(r.stderr, "SIGSTOP cannot be ignored")
        assertContains(r.stderr, "unknown signal `BOGUS`")
    }

    /// `kill --explain` says, before sending, what `kill` says after: the same verdict,
    /// for every case of the kernel's rules met here. It sends nothing (the targets live
    /// on, nothing pends).
    func testExplainGivesTheVerdictKillReportsWithoutSending() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let cases: [(setup: String, signal: String)] = [
            ("spawn --newpid sleep 100", "USR1"),                       // init without handler: discarded
            ("spawn --newpid sleep 100", "KILL"),                       // ancestor's SIGKILL: delivered
            ("spawn --newpid --block USR1 sleep 100", "USR1"),          // blocked: queued
            ("spawn --ignore USR2 sleep 100", "USR2"),                  // ignored: discarded
            ("spawn sleep 100", "TERM"),                                // default: delivered
            ("spawn sleep 100", "WINCH"),                               // default ignore: discarded
            ("ns new --catch USR1", "USR1"),                            // caught: delivered
        ]
        var script = ""
        for (i, c) in cases.enumerated() {
            script += """
            let t\(i) = \(c.setup)
            let e\(i) = kill --explain \(c.signal) $t\(i)
            \(statusLine("pnd\(i)", "ShdPnd", pid: c.setup.hasPrefix("ns") ? "$t\(i).init.pid" : "$t\(i).pid"))
            echo "alive\(i)=$t\(i)"
            let k\(i) = kill -q -\(c.signal) $t\(i)
            echo "case\(i)=$e\(i) $k\(i)"

            """
        }
        let r = expectSuccess(pidsh(script))
        let expected = ["discarded", "delivered", "queued", "discarded", "delivered", "discarded", "delivered"]
        for i in cases.indices {
            XCTAssertEqual(r.fields["case\(i)"], "\(expected[i]) \(expected[i])", "case \(i): \(cases[i])\n\(r.transcript)")
            XCTAssertEqual(mask(r.fields["pnd\(i)"]), 0, "explain sent nothing (case \(i))")
        }
        assertContains(r.stdout, "discarded: PID 1 of its namespace")
        assertContains(r.stdout, "delivered: SIGKILL from an ancestor namespace always acts")
        assertContains(r.stdout, "delivered: process")
        assertContains(r.stdout, "its default action happens, it is terminated")
    }

    /// `--from`: the same SIGKILL to an init is forced from pidsh (an ancestor) and
    /// discarded from a member; a process in a sibling namespace cannot even see it.
    func testExplainFromAnotherSender() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let r = expectSuccess(pidsh("""
        let ns = ns new
        let member = spawn --ns $ns sleep 100
        let other = spawn --newpid sleep 100
        echo "pidsh=$(kill --explain KILL $ns.init)"
        echo "member=$(kill --explain KILL $ns.init --from $member)"
        echo "sibling=$(kill --explain USR1 $member --from $other)"
        let v = kill --explain TERM $member --from $member
        echo "self=$v"
        """))
        XCTAssertEqual(r.fields["pidsh"]?.hasPrefix("delivered: SIGKILL from an ancestor namespace always acts"), true, r.transcript)
        XCTAssertEqual(r.fields["member"]?.hasPrefix("discarded: PID 1 of its namespace"), true, r.transcript)
        XCTAssertEqual(r.fields["sibling"]?.hasPrefix("refused: ESRCH: the sender cannot see process"), true, r.transcript)
        XCTAssertEqual(r.fields["self"], "delivered", r.transcript)
    }
}
