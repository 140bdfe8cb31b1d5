import Foundation
import Glibc
import XCTest

/// The Linux Test Project's pidns scenarios whose signals are sent or received by
/// processes pidsh controls, each written as a pidsh script from the kernel's rules
/// (pid_namespaces(7), kernel/signal.c), with nothing but pidsh and the usual shell
/// utilities: no strace, no C. Each script checks its claims with `expect` (a false
/// one exits 3); the test also reads what it printed.
final class LTPPidnsScenarioTests: EndToEndTestCase {
    func scenario(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> PidshRun {
        try requireRoot("the LTP scenarios create PID namespaces as root")
        return expectSuccess(pidsh(script, timeout: 30, file: file, line: line), file: file, line: line)
    }

    /// pidns01: a child cloned with CLONE_NEWPID is PID 1 with parent PID 0.
    func testPidns01ChildIsPID1WithParentZero() throws {
        let r = try scenario("""
        let c = spawn --newpid sleep 100
        expect $c.nspid == 1
        expect $c.nsppid == 0
        spawn --newpid --wait sh -c 'echo "getpid=$$ getppid=$PPID"'
        """)
        XCTAssertEqual(r.fields["getpid"], "1 getppid=0", r.transcript)
    }

    /// pidns02: after setsid, the init's session and process group are both 1.
    func testPidns02SessionAndGroupAreOne() throws {
        let r = try scenario("""
        let ids = $(spawn --newpid --mount-proc --wait setsid sh -c 'ps -o pgid=,sid= -p $$')
        echo "ids=$ids"
        expect $(echo $ids | awk '{print $1 " " $2}') == "1 1"
        """)
        XCTAssertEqual(r.fields["ids"]?.split(separator: " "), ["1", "1"], r.transcript)
    }

    /// pidns03: with a procfs of its own namespace, the parent's PID is nowhere in it.
    func testPidns03TheParentIsNotInTheChildsProcfs() throws {
        _ = try scenario("""
        let st = spawn --newpid --mount-proc --wait sh -c "test ! -e /proc/$$ && test -e /proc/1"
        expect $st.code == 0 "pidsh's PID is absent from the namespace's /proc"
        let ns = ns new
        let me = $$
        inside $ns {
            if test -e /proc/$me { exit 1 }
            expect $(ls -d /proc/[0-9]* | wc -l) == 2 "only the init and this pidsh"
        }
        """)
    }

    /// pidns04: the init's SIGKILL to itself, and a member's, are discarded.
    func testPidns04InitSurvivesSIGKILLFromItsOwnNamespace() throws {
        let r = try scenario("""
        let ns = ns new
        let v = ns init $ns kill KILL 1
        expect $v == discarded
        inside $ns {
            let v = kill -q -KILL 1
            expect $v == discarded
        }
        expect $ns.alive
        echo "alive=$ns.alive"
        """)
        XCTAssertEqual(r.fields["alive"], "true")
    }

    /// pidns05: killing a middle level's init from outside takes every level below.
    func testPidns05KillingANestedInitKillsTheLevelsBelow() throws {
        let r = try scenario("""
        let levels = nest 5 --no-mount
        let k = 0
        let third = ""
        for ns in $levels { let k = $k + 1; if $k == 3 { let third = $ns } }
        kill -KILL $third
        let k = 0
        for ns in $levels {
            let k = $k + 1
            echo "level$k=$ns.alive"
            if $k < 3 { expect $ns.alive } else { expect not $ns.alive }
        }
        """)
        XCTAssertEqual(["level1", "level2", "level3", "level4", "level5"].map { r.fields[$0] ?? "?" },
                       ["true", "true", "false", "false", "false"], r.transcript)
    }

    /// pidns06 and pidns10: the init cannot name pidsh's PID (ESRCH), and kill(-1) from
    /// an init alone in its namespace finds nobody (ESRCH).
    func testPidns06And10TheInitsKillFindsNothingOutside() throws {
        let r = try scenario("""
        let ns = ns new
        try ns init $ns kill KILL $$
        expect $? == 1
        try ns init $ns kill USR1 -1
        expect $? == 1
        expect $ns.alive
        """)
        assertContains(r.stderr, "names nothing there")
        XCTAssertEqual(r.stderr.components(separatedBy: "ESRCH (No such process)").count - 1, 2, r.transcript)
        assertContains(r.stderr, "the init is alone")
    }

    /// pidns12: the handler of the init sees si_pid 0 for a sender in the parent namespace.
    func testPidns12SiPidIsZeroForASenderOutside() throws {
        _ = try scenario("""
        let ns = ns new --catch USR1
        kill -USR1 $ns
        expect $ns.received.last == "SIGUSR1 si_code=SI_USER si_pid=0 (the sender is in an ancestor namespace: it has no PID here) si_uid=0"
        """)
    }

    /// pidns16: USR1 from the parent (si_pid 0), then from the init itself (si_pid 1);
    /// the init goes on after both.
    func testPidns16HandlerSeesTheParentThenItself() throws {
        let r = try scenario("""
        let ns = ns new --catch USR1
        kill -USR1 $ns.init
        ns init $ns kill USR1 1
        signals received $ns
        expect $ns.received.length == 2
        expect $ns.alive
        """)
        XCTAssertEqual(r.stdoutLines.map { String($0.prefix(36)) },
                       ["SIGUSR1 si_code=SI_USER si_pid=0 (th", "SIGUSR1 si_code=SI_USER si_pid=1 (th"], r.transcript)
    }

    /// pidns17: kill(-1, SIGUSR1) from the init terminates every other member.
    func testPidns17KillMinusOneFromInitTerminatesEveryMember() throws {
        let s = marker(7820)
        let r = try scenario("""
        let ns = ns new
        let children = []
        repeat 10 {
            let c = spawn --ns $ns sleep \(s)
            let children = $children + [$c]
        }
        ns init $ns kill USR1 -1
        for c in $children {
            let st = wait $c
            expect $st.signal == SIGUSR1
        }
        echo "members=$children.length init=$ns.alive"
        """)
        XCTAssertEqual(r.fields["members"], "10 init=true", r.transcript)
    }

    /// pidns20: USR1 blocked in the init is queued; a handler set, then unblocked, it
    /// runs, and the init is not terminated.
    func testPidns20ABlockedSignalReachesTheHandlerOnceUnblocked() throws {
        _ = try scenario("""
        let ns = ns new
        ns init $ns block USR1
        let v = kill -q -USR1 $ns.init
        expect $v == queued
        expect $(awk '/^ShdPnd/ {print $2}' /proc/$ns.init.pid/status) == 0000000000000200
        ns init $ns catch USR1
        ns init $ns unblock USR1
        expect $ns.received.length == 1
        expect $ns.alive
        """)
    }

    /// pidns32: 32 nested PID namespaces can be made.
    func testPidns32ThirtyTwoLevels() throws {
        let r = try scenario("""
        let levels = nest 32 --no-mount
        expect $levels.length == 32
        expect $levels.last.init.pids.length == 33
        echo "deepest=$levels.last.level"
        """)
        XCTAssertEqual(r.fields["deepest"], "32", r.transcript)
    }
}
