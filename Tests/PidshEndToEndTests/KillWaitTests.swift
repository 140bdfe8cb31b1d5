import Foundation
import XCTest

/// `kill [-SIGNAL] PROCESS|NS` and `wait PROCESS`.
final class KillWaitTests: EndToEndTestCase {
    func testSignalSpellingsAndDefaultTerm() throws {
        let s = marker(7701)
        let r = expectSuccess(pidsh(#"""
        let a = spawn sleep \#(s)
        let b = spawn sleep \#(s)
        let c = spawn sleep \#(s)
        let d = spawn sleep \#(s)
        kill -KILL $a
        kill -9 $b
        kill -SIGKILL $c
        kill $d
        for p in [$a, $b, $c, $d] {
            let st = wait $p
            echo "$p.name $st.signal $st.code $st.exited"
        }
        let e = spawn sleep \#(s)
        let f = spawn sleep \#(s)
        kill -KILL $e $f
        let ste = wait $e
        let stf = wait $f
        echo "both=$ste.signal $stf.signal"
        let g = spawn sleep \#(s)
        kill -term $g
        let stg = wait $g
        echo "lower=$stg.signal"
        let h = spawn sleep \#(s)
        kill -15 $h.pid
        let sth = wait $h
        echo "bypid=$sth.signal"
        """#))
        XCTAssertEqual(Array(r.stdoutLines.prefix(4)), ["sleep SIGKILL 137 false", "sleep SIGKILL 137 false",
                                                        "sleep SIGKILL 137 false", "sleep SIGTERM 143 false"],
                       "-KILL, -9 and -SIGKILL all work; the default is TERM\n\(r.transcript)")
        XCTAssertEqual(r.fields["both"], "SIGKILL SIGKILL", "several targets at once")
        XCTAssertEqual(r.fields["lower"], "SIGTERM")
        XCTAssertEqual(r.fields["bypid"], "SIGTERM", "a PID works too")
    }

    func testWaitReturnsExitCodeOrSignal() throws {
        let r = expectSuccess(pidsh(#"""
        let p = spawn sh -c 'exit 4'
        let st = wait $p
        echo "code=$st.code"
        echo "exited=$st.exited"
        echo "signal=[$st.signal]"
        echo "status=$p.status"
        show $st
        let q = spawn sh -c 'kill -USR1 $$'
        let sq = wait $q
        echo "qsignal=$sq.signal"
        echo "qcode=$sq.code"
        let again = wait $p
        echo "again=$again.code"
        """#))
        let f = r.fields
        XCTAssertEqual(f["code"], "4", r.transcript)
        XCTAssertEqual(f["exited"], "true")
        XCTAssertEqual(f["signal"], "[]")
        XCTAssertEqual(f["status"], "4")
        assertContains(r.stdout, "status exited 4 (code 4)")
        XCTAssertEqual(f["qsignal"], "SIGUSR1")
        XCTAssertEqual(f["qcode"], "138")
        XCTAssertEqual(f["again"], "4", "waiting again for a process pidsh reaped gives the same status")
    }

    /// Children waited for at once (`spawn --wait`, a foreground program) are watched by
    /// their own pidfd only; children left running are in the reaper's epoll set. Both
    /// kinds end in any order and each status reaches its own handle; no zombie is left
    /// (the kernel's list of pidsh's children is the witness).
    func testForegroundAndBackgroundChildrenEachGetTheirStatus() throws {
        let r = expectSuccess(pidsh(#"""
        let slow = spawn sh -c 'sleep 0.3; exit 6'
        let quick = spawn sh -c 'exit 5'
        let n = 0
        repeat 12 {
            try spawn --wait sh -c 'exit 3'
            if $? == 3 { let n = $n + 1 }
            try /bin/sh -c 'exit 2'
            if $? == 2 { let n = $n + 1 }
        }
        echo "foreground=$n"
        try spawn --newpid --wait sh -c 'sleep 0.4; exit 7'
        echo "newpid=$?"
        let sq = wait $quick
        let ss = wait $slow
        echo "background=$sq.code $ss.code"
        echo "children=[$(cat /proc/$$/task/$$/children)]"
        """#))
        XCTAssertEqual(r.fields["foreground"], "24", r.transcript)
        XCTAssertEqual(r.fields["newpid"], "7", r.transcript)
        XCTAssertEqual(r.fields["background"], "5 6", r.transcript)
        // Only the janitor and the `cat` of the last line remain pidsh's children.
        let children = (r.fields["children"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: " ")
        XCTAssertLessThanOrEqual(children.count, 2, r.transcript)
    }

    func testKillNamespaceTearsItDown() throws {
        let s = marker(7702)
        let r = pidsh(#"""
        let ns = ns new
        let a = spawn --ns $ns sleep \#(s)
        let b = spawn --ns $ns sh -c 'sleep \#(s)'
        echo "before=$ns.alive"
        kill $ns
        echo "after=$ns.alive"
        echo "a=$a.status"
        echo "b=$b.status"
        echo "init=[$ns.init]"
        spawn --ns $ns sleep \#(s)
        """#)
        XCTAssertEqual(r.status, 1, "the last spawn fails\n\(r.transcript)")
        let f = r.fields
        XCTAssertEqual(f["before"], "true")
        XCTAssertEqual(f["after"], "false")
        XCTAssertEqual(f["a"], "137", "the kernel SIGKILLs every member when the init dies")
        XCTAssertEqual(f["b"], "137")
        XCTAssertEqual(f["init"], "[]")
        assertContains(r.stderr, "-c:10:12: error: spawn: fork for sleep: ENOMEM")
        assertContains(r.stderr, "has no init any more")
        assertContains(r.stderr, "once its PID 1 has exited the kernel lets no new process into it")
    }

    func testKillWithoutSignalToANamespaceInitTearsItDown() throws {
        let s = marker(7703)
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid sh -c 'sleep \#(s) & exec sleep \#(s)'
        spawn --wait sh -c 'while ! pgrep -f "^sleep \#(s)" -c | grep -q 2; do sleep 0.01; done'
        echo "members=$(ps --ns $c | grep -c sleep)"
        kill $c
        let st = wait $c
        echo "signal=$st.signal"
        echo "left=$(pgrep -fc '^sleep \#(s)' | cat)"
        """#))
        XCTAssertEqual(r.fields["members"], "2", r.transcript)
        XCTAssertEqual(r.fields["signal"], "SIGKILL", "PID 1 without handlers: plain kill tears the namespace down")
        XCTAssertEqual(r.fields["left"], "0", "its orphaned child died with it")
    }

    /// The kernel accepts a signal it then discards (kill(2) returns 0): so does `kill`,
    /// and its value and note say what became of it.
    func testTermToAnInitWithoutHandlerIsReportedDiscarded() throws {
        let s = marker(7704)
        let r = pidsh(#"""
        let c = spawn --newpid sleep \#(s)
        let v = kill -TERM $c
        echo "status=$? verdict=$v"
        echo "still=$c.status"
        let ns = ns new
        let w = kill -TERM $ns
        echo "nsstatus=$? nsverdict=$w"
        echo "nsalive=$ns.alive"
        let q = kill -q -USR1 $ns.init
        echo "usr1=$? quiet=$q"
        """#)
        XCTAssertEqual(r.status, 0, "a discarded signal was still accepted by the kernel\n\(r.transcript)")
        let f = r.fields
        XCTAssertEqual(f["status"], "0 verdict=discarded")
        XCTAssertEqual(f["still"], "running", "the kernel discarded it: the process lives")
        XCTAssertEqual(f["nsstatus"], "0 nsverdict=discarded")
        XCTAssertEqual(f["nsalive"], "true")
        XCTAssertEqual(f["usr1"], "0 quiet=discarded")
        assertContains(r.stderr, "discarded: PID 1 of its namespace")
        assertContains(r.stderr, "has no handler for SIGTERM (see SigCgt)")
        assertNotContains(r.stderr, "SIGUSR1")
    }

    func testTermToAnInitWithAHandlerArrives() throws {
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid sh -c 'trap "exit 3" TERM; while :; do sleep 0.02; done'
        spawn --wait sh -c 'until [ $(( 0x$(awk "/^SigCgt/ {print \$2}" /proc/$1/status) & 0x4000 )) -ne 0 ]; do sleep 0.01; done' sh $c.pid
        kill -TERM $c
        let st = wait $c
        echo "code=$st.code"
        """#))
        XCTAssertEqual(r.fields["code"], "3", "PID 1 catches TERM: the signal arrives, nothing is reported\n\(r.transcript)")
        // The shell blocks signals for the moment it forks each `sleep`: a TERM sent
        // then is queued (SigBlk), and kill says so, truly; otherwise it says nothing.
        if !r.stderr.isEmpty {
            XCTAssertTrue(r.stderr.hasPrefix("queued: PID 1 of its namespace") && r.stderr.contains("blocks SIGTERM (SigBlk)"), r.transcript)
        }
    }

    func testKillAndWaitOfAGoneProcess() throws {
        let r = pidsh(#"""
        let p = spawn sh -c 'exit 0'
        wait $p
        try kill $p
        try kill $p
        try kill -KILL $p
        try wait $p.pid
        try wait $p.pid
        try kill 999999999
        try wait 999999999
        try kill -BOGUS $p
        try kill -TRM $p
        try kill
        try kill -KILL
        try wait
        echo done
        """#)
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        let gone = r.stderr.components(separatedBy: "has already ended (exited 0): there is nothing left to signal").count - 1
        XCTAssertEqual(gone, 3, "kill of an ended process, every time\n\(r.stderr)")
        assertContains(r.stderr, "error: kill -TERM")
        assertNotContains(r.stderr, "kill: kill")
        assertContains(r.stderr, "ESRCH")
        XCTAssertEqual(r.stderr.components(separatedBy: "wait: pidfd_open(").count - 1, 3, "wait by PID of a reaped process, twice, and of no process")
        assertContains(r.stderr, "no process 999999999 in pidsh's PID namespace")
        assertContains(r.stderr, "unknown signal -BOGUS")
        assertContains(r.stderr, "did you mean -TERM?")
        assertContains(r.stderr, "kill needs a process or a namespace")
        assertContains(r.stderr, "wait needs one process")
    }

    func testKilledPidshLeavesNothingBehind() throws {
        try requireRoot("as root pidsh is the process the test kills; rootless the outer process is (ReliabilityRootlessTests covers that)")
        let s = marker(7705)
        let d = tempDir
        let r = pidsh(#"""
        let ns = ns new
        let a = spawn --ns $ns sleep \#(s)
        let b = spawn --newpid --mount-proc \#(d)/b sleep \#(s)
        let c = spawn sleep \#(s)
        let l = nest 3 --mount-proc \#(d)/n{level} sleep \#(s)
        mount proc \#(d)/m --ns $ns
        echo "count=$(pgrep -fc '^sleep \#(s)')"
        kill -KILL $$
        echo not-reached
        """#)
        XCTAssertEqual(r.status, 137, r.transcript)
        XCTAssertEqual(r.fields["count"], "4")
        assertNotContains(r.stdout, "not-reached")
        // Every process dies with pidsh (PR_SET_PDEATHSIG); tearDown checks that none of
        // them, pidsh's inits included, is left. The directories go too.
        var left: [String] = []
        for _ in 0 ..< 150 {
            left = ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []).filter { !$0.hasPrefix(".") }
            if left.isEmpty { break }
            usleep(20_000)
        }
        XCTAssertEqual(left, [], "directories pidsh made are removed even when it is SIGKILLed")
    }

    func testKillOfATornDownNamespace() throws {
        let r = pidsh(#"""
        let ns = ns new
        kill $ns
        try kill $ns
        echo "status=$?"
        """#)
        XCTAssertEqual(r.fields["status"], "1", r.transcript)
        assertContains(r.stderr, "has no live init: it is already torn down")
    }

    /// `kill -0` sends nothing (the kernel checks that the process exists and may be
    /// signalled): it succeeds on a live process, a namespace's init included, and the
    /// process runs on. It used to crash pidsh (a shift by -1 reading SigBlk).
    func testKillZeroChecksWithoutSignalling() throws {
        let s = marker(7561)
        let r = pidsh("""
        let p = spawn sleep \(s)
        let i = spawn --newpid sleep \(s)
        let v = kill -0 $p $i
        echo "v=$v p=$p.status i=$i.status"
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["v"], "delivered delivered p=running i=running", r.transcript)
        XCTAssertEqual(r.stderr, "", r.transcript)
    }
}
