import Foundation
import Glibc
import XCTest

/// Faults: pidsh SIGKILLed with namespaces, a nest and a --newpid process alive;
/// SIGINT/SIGTERM/SIGHUP in the middle of a script; a script error half-way. In each
/// case nothing of the run may remain: no process, no mount, no directory it made.
final class ReliabilityFaultTests: ReliabilityTestCase {
    /// The script of the SIGKILL tests: two `ns new`, a `--newpid` process, `nest 5`,
    /// a procfs mount and a directory, then it waits in `sleep`.
    func busyScript(_ d: String, sleep s: String) -> String {
        """
        let a = ns new
        let b = ns new
        let c = spawn --newpid --mount-proc \(d)/c sleep \(s)
        let n = nest 5 --mount-proc \(d)/n{level}
        mount proc \(d)/a --ns $a
        echo "pidsh=$$"
        echo "pids=$a.init.pid $b.init.pid $c.pid $n.first.init.pid $n.last.init.pid"
        echo "inodes=$a.inode $b.inode $c.ns.inode $n.first.inode $n.last.inode"
        echo READY
        sleep \(s)
        """
    }

    var busyPaths: [String] { ["/c", "/a", "/n0", "/n1", "/n2", "/n3", "/n4"].map { tempDir + $0 } }

    func testSigkillOfPidshLeavesNoProcessMountOrDirectory() throws {
        try requireRoot("ns new, nest and procfs mounts")
        let d = tempDir
        guard let run = startPidsh(busyScript(d, sleep: marker(7301))), waitForOutput(run, "READY") else { return }
        let f = run.fields
        guard let pidshPid = f["pidsh"].flatMap({ Int32($0) }) else { return XCTFail(run.transcript) }
        XCTAssertEqual(pidshPid, run.pid, "as root, $$ is the process the test started")
        let printed = (f["pids"] ?? "").split(separator: " ").compactMap { Int32($0) }
        let inodes = Set((f["inodes"] ?? "").split(separator: " ").compactMap { UInt64($0) })
        XCTAssertEqual(printed.count, 5, run.transcript)
        XCTAssertEqual(inodes.count, 5, run.transcript)
        // The script's last `sleep` starts just after READY: wait for it (at most 5 s).
        var before = tree(of: pidshPid)
        for _ in 0 ..< 250 where before.count < 11 {
            usleep(20_000)
            before = tree(of: pidshPid)
        }
        for pid in printed { XCTAssertTrue(before.contains { $0.pid == pid }, "\(pid) is below pidsh") }
        XCTAssertTrue(before.contains { procName($0.pid) == "pidsh-janitor" }, "the janitor is pidsh's child")
        // 1 pidsh + janitor + 2 inits + the --newpid sleep + 5 nest levels + the script's sleep.
        XCTAssertGreaterThanOrEqual(before.count, 11, "\(before)")
        for p in busyPaths { XCTAssertTrue(exists(p), "\(p) was made") }
        XCTAssertFalse(members(of: inodes).isEmpty)

        let t0 = Date()
        kill(pidshPid, SIGKILL)
        let clean = waitUntil(timeout: 1.0) {
            !before.contains(where: isAlive) && members(of: inodes).isEmpty && !busyPaths.contains(where: exists)
        }
        let elapsed = Date().timeIntervalSince(t0)
        print("reliability: SIGKILL of pidsh with \(before.count) processes: all gone, directories removed in \(String(format: "%.3f", elapsed)) s")
        XCTAssertTrue(clean, "within 1 s of SIGKILL")
        XCTAssertEqual(before.filter(isAlive).map { "\($0.pid) \(procName($0.pid))" }, [], "processes of the killed pidsh")
        XCTAssertEqual(members(of: inodes), [], "processes in its namespaces")
        XCTAssertEqual(busyPaths.filter(exists), [], "directories it created")
        XCTAssertEqual(hostMountPoints().filter { $0.hasPrefix(d) }, [], "no mount of it is visible")
        XCTAssertEqual(waitForExit(run), 137)
    }

    func procName(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the busy script with a procfs mount, sends `signal` (to pidsh, or as a
    /// terminal's ^C to its whole process group) while the script is at `waitingIn`,
    /// and checks the exit status, the message and that clean-up ran.
    /// `blockedAtStart`: signals pidsh is started with blocked (its parent's mask).
    func interrupt(_ signal: Int32, toGroup: Bool = false, waitingIn statement: String, flags: [String] = [],
                   blockedAtStart: [Int32] = [], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) {
        let d = tempDir
        let s = marker(7310 + Int(signal) * 10 + markers.count)
        let script = """
        let a = ns new
        let c = spawn --newpid sleep \(s)
        mount proc \(d)/sig --ns $a
        echo "pidsh=$$"
        echo "inodes=$a.inode $c.ns.inode"
        echo READY
        \(statement.replacingOccurrences(of: "SECONDS", with: s))
        echo "not reached"
        """
        guard let run = startPidsh(script, flags: flags, ownProcessGroup: toGroup, blockedSignals: blockedAtStart,
                                   file: file, line: line),
              waitForOutput(run, "READY", file: file, line: line) else { return }
        usleep(200_000)   // let it block in the statement
        if !blockedAtStart.isEmpty {
            // The kernel's word: none of them is blocked in pidsh any more.
            let blocked = mask(statusField("/proc/\(run.pid)/status", "SigBlk"), file: file, line: line)
            for s in blockedAtStart {
                XCTAssertEqual(blocked & bit(s), 0, "signal \(s) still blocked in pidsh (SigBlk)", file: file, line: line)
            }
        }
        let before = tree(of: run.pid)
        let inodes = Set((run.fields["inodes"] ?? "").split(separator: " ").compactMap { UInt64($0) })
        if !flags.contains("--shared-mounts") {
            XCTAssertFalse(hostMountPoints().contains(d + "/sig"), "private mount namespace", file: file, line: line)
        } else {
            XCTAssertTrue(hostMountPoints().contains(d + "/sig"), "--shared-mounts: visible on the host", file: file, line: line)
        }
        let t0 = Date()
        kill(toGroup ? -run.pid : run.pid, signal)
        let code = waitForExit(run, timeout: 5, file: file, line: line)
        let elapsed = Date().timeIntervalSince(t0)
        let name = Self.signalNames[signal] ?? "signal \(signal)"
        print("reliability: \(toGroup ? "\(name) to the group" : "\(name) to pidsh") during `\(statement)`\(flags.isEmpty ? "" : " " + flags.joined(separator: " ")): exit \(code.map(String.init) ?? "?") after \(String(format: "%.3f", elapsed)) s")
        XCTAssertEqual(code, status, run.transcript, file: file, line: line)
        XCTAssertLessThan(elapsed, 2.0, "pidsh stops promptly", file: file, line: line)
        assertContains(run.stderr, "interrupted by \(name)", file: file, line: line)
        assertNotContains(run.stdout, "not reached", file: file, line: line)
        // Clean-up ran before pidsh exited: nothing to wait for.
        XCTAssertFalse(exists(d + "/sig"), "the directory is removed", file: file, line: line)
        XCTAssertFalse(hostMountPoints().contains(d + "/sig"), "the mount is undone", file: file, line: line)
        XCTAssertTrue(waitUntil(timeout: 1) { !before.contains(where: isAlive) && members(of: inodes).isEmpty },
                      "processes left: \(before.filter(isAlive))", file: file, line: line)
    }

    static let signalNames: [Int32: String] = [
        SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP", SIGQUIT: "SIGQUIT", SIGUSR1: "SIGUSR1",
        SIGUSR2: "SIGUSR2", SIGALRM: "SIGALRM", SIGXCPU: "SIGXCPU",
    ]

    func testSigtermDuringAForegroundCommand() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGTERM, waitingIn: "sleep SECONDS", expect: 143)
    }

    func testSigtermDuringAnEmptyLoop() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGTERM, waitingIn: "while true {}", expect: 143)
    }

    /// A def blocked writing into a pipe nobody reads (SIGTERM interrupts the write).
    func testSigtermDuringABlockedWriteOfADef() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGTERM, waitingIn: "def gen { while true { echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx } }\ngen | sleep SECONDS", expect: 143)
    }

    /// The same with a def after the program, whose input pidsh holds for it: it never
    /// runs, and the program gets the signal before pidsh waits for its output.
    func testSigtermDuringABlockedWriteBeforeAHeldInput() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGTERM, waitingIn: "def gen { while true { echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx } }\ndef count { wc -l }\ngen | sleep SECONDS | count", expect: 143)
    }

    /// A mask survives exec: a pidsh whose parent had its signals blocked (a Python
    /// program, a thread that blocked them for a moment) still stops on them. Before,
    /// the SIGTERM stayed pending for ever and `while true {}` never ended. Witnesses:
    /// SigBlk of /proc/PID/status, and pidsh's end.
    func testSigtermReachesAPidshStartedWithItBlocked() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGTERM, waitingIn: "while true {}", blockedAtStart: [SIGTERM, SIGINT, SIGHUP, SIGCHLD], expect: 143)
        interrupt(SIGTERM, waitingIn: "sleep SECONDS", blockedAtStart: [SIGTERM, SIGCHLD], expect: 143)
    }

    func testSigintDuringAnEmptyLoop() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGINT, waitingIn: "while true {}", expect: 130)
    }

    func testTerminalCtrlCDuringAForegroundCommand() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGINT, toGroup: true, waitingIn: "sleep SECONDS", expect: 130)
    }

    /// The kernel drops a ^C to a namespace's PID 1 that does not catch SIGINT: pidsh
    /// ends such a foreground job itself, as the ^C meant.
    func testTerminalCtrlCDuringSpawnNewpidWait() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGINT, toGroup: true, waitingIn: "spawn --newpid --wait sleep SECONDS", expect: 130)
    }

    func testSigintDuringWait() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGINT, waitingIn: "let p = spawn sleep SECONDS\nwait $p", expect: 130)
    }

    func testSighupDuringACommandSubstitution() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGHUP, waitingIn: "let x = $(sleep SECONDS)", expect: 129)
    }

    func testSigtermDuringAPipelineWithSharedMounts() throws {
        try requireRoot("--shared-mounts")
        interrupt(SIGTERM, waitingIn: "sleep SECONDS | cat", flags: ["--shared-mounts"], expect: 143)
    }

    /// A script that fails half-way undoes what it made, in both mount modes.
    func testAScriptErrorHalfWayUndoesEverything() throws {
        try requireRoot("ns new, nest and procfs mounts")
        let d = tempDir
        for (mode, flags) in [("private", [String]()), ("shared", ["--shared-mounts"])] {
            for (failure, status, column, message) in [("spawn /no/such/program", Int32(1), 7, "no such program"),
                                                       ("expect 1 == 2", Int32(3), 1, "expectation failed"),
                                                       ("false", Int32(1), 1, "`false` failed")] {
                let s = marker(7350 + markers.count)
                let r = pidsh("""
                let a = ns new
                let c = spawn --newpid --mount-proc \(d)/\(mode)-c sleep \(s)
                nest 3 --mount-proc \(d)/\(mode)-n{level}
                mount proc \(d)/\(mode)-a --ns $a
                let p = spawn --ns $a sleep \(s)
                echo "pidsh=$$"
                \(failure)
                echo "not reached"
                """, flags: flags)
                XCTAssertEqual(r.status, status, "\(mode): \(failure)\n\(r.transcript)")
                assertLocatedError(r.stderr, at: "-c:7:\(column)", message)
                assertNotContains(r.stdout, "not reached")
                for p in ["c", "n0", "n1", "n2", "a"].map({ "\(d)/\(mode)-\($0)" }) {
                    XCTAssertFalse(exists(p), "\(mode) \(failure): \(p) removed")
                }
                XCTAssertEqual(hostMountPoints().filter { $0.hasPrefix(d) }, [], "\(mode) \(failure): mounts undone")
                if let pid = r.fields["pidsh"].flatMap({ Int32($0) }) {
                    XCTAssertFalse(exists("/run/pidsh/\(pid).journal"), "the journal is removed")
                }
            }
        }
    }
}
