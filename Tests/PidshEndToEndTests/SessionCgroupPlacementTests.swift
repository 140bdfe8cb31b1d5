import Foundation
import Glibc
import XCTest

/// Where pidsh's processes are in the cgroup v2 tree (the witness: the `0::` line of
/// /proc/PID/cgroup). As root, every process pidsh starts is in its session's cgroup
/// `pidsh-PID`; pidsh itself joins it only for a script that names cgroups, and a
/// script that moves pidsh has its next children born where pidsh is.
final class SessionCgroupPlacementTests: ReliabilityTestCase {
    func cgroupLine(_ pid: Int32) -> String? {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
    }

    func requireCgroup2() throws {
        try requireRoot("a cgroup of pidsh's own")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")
                          || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.procs"), "no cgroup v2 hierarchy")
    }

    /// The cgroup v2 mount point (a hybrid host has it at /sys/fs/cgroup/unified).
    var cgroup2Mount: String {
        FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup"
    }

    func testChildrenAreBornInTheSessionCgroupWhilePidshStaysWhereItStarted() throws {
        try requireCgroup2()
        let a = marker(7731), b = marker(7732)
        guard let run = startPidsh("""
        let ns = ns new
        let s = spawn --ns $ns sh -c 'sleep \(a) & exec sleep \(b)'
        echo "child=$s.pid"
        echo READY
        sleep 100
        """), waitForOutput(run, "READY") else { return }
        defer { kill(run.pid, SIGTERM); _ = waitForExit(run) }
        let own = cgroupLine(getpid()) ?? "?"
        let session = (own == "/" ? "" : own) + "/pidsh-\(run.pid)"
        XCTAssertEqual(cgroupLine(run.pid), own, "pidsh stays in the cgroup it was started in")
        guard let child = run.fields["child"].flatMap({ Int32($0) }) else { return XCTFail(run.transcript) }
        XCTAssertEqual(cgroupLine(child), session, "a spawned program is born in the session's cgroup")
        XCTAssertTrue(waitUntil(timeout: 5) { self.stillRunningMarker(a) != nil }, "the grandchild started")
        if let grandchild = stillRunningMarker(a) {
            XCTAssertEqual(cgroupLine(grandchild), session, "and so is what it starts")
        }
        let procs = (try? String(contentsOfFile: cgroup2Mount + session + "/cgroup.procs", encoding: .utf8)) ?? ""
        XCTAssertFalse(procs.split(separator: "\n").contains(Substring(String(run.pid))), "pidsh is not among its members")
        kill(run.pid, SIGTERM)
        _ = waitForExit(run)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cgroup2Mount + session), "the cgroup is gone with pidsh")
        XCTAssertNil(stillRunningMarker(a), "its members too")
    }

    /// The janitor makes the session's cgroup while the script starts (asked at the
    /// session's start, taken at the first process). Another answer of the janitor read
    /// first (a mount point's directory) still gets its own; a session that starts no
    /// process leaves no cgroup behind; a SIGKILL before the first process neither.
    func testTheCgroupAskedAtTheStartIsTakenOrRemoved() throws {
        try requireCgroup2()
        let own = cgroupLine(getpid()) ?? "/"
        let base = cgroup2Mount + (own == "/" ? "" : own)
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("pidsh-") }
        let r = expectSuccess(pidsh("""
        mount proc \(tempDir)/p
        echo "mounted=$(ls \(tempDir)/p/self/ns | grep -c pid)"
        spawn --wait sh -c 'echo "child=$(grep ^0:: /proc/self/cgroup)"'
        echo "pidsh=$$"
        """))
        XCTAssertEqual(r.fields["mounted"], "2", r.transcript)
        XCTAssertEqual(r.fields["child"], "0::" + (own == "/" ? "" : own) + "/pidsh-" + (r.fields["pidsh"] ?? "?"), r.transcript)
        expectSuccess(pidsh("kill -0 $$"))
        if let run = startPidsh("echo READY\ntry wait --timeout 100"), waitForOutput(run, "READY") {
            kill(run.pid, SIGKILL)
            _ = waitForExit(run)
            XCTAssertTrue(waitUntil(timeout: 5) { !FileManager.default.fileExists(atPath: base + "/pidsh-\(run.pid)") },
                          "the janitor removes the cgroup of a pidsh killed before its first process")
        }
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("pidsh-") }
        XCTAssertEqual(after.subtracting(before), [], "no session cgroup is left")
    }

    /// A script that moves pidsh before its first process has the session's cgroup made
    /// where pidsh is then, as if it had not been asked for at the start.
    func testAMoveBeforeTheFirstProcessTakesTheSessionCgroupAlong() throws {
        try requireCgroup2()
        let own = cgroupLine(getpid()) ?? "/"
        let relative = (own == "/" ? "" : own) + "/pidsh-moved-\(getpid())"
        XCTAssertEqual(mkdir(cgroup2Mount + relative, 0o755), 0)
        defer { rmdir(cgroup2Mount + relative) }
        let r = expectSuccess(pidsh("""
        echo $$ > \(cgroup2Mount + relative)/cgroup.procs
        spawn --wait sh -c 'echo "child=$(grep ^0:: /proc/self/cgroup)"'
        echo "pidsh=$$"
        """))
        XCTAssertEqual(r.fields["child"], "0::" + relative + "/pidsh-" + (r.fields["pidsh"] ?? "?"), r.transcript)
    }

    func testAScriptThatMovesPidshHasItsNextChildBornWherePidshIs() throws {
        try requireCgroup2()
        let own = cgroupLine(getpid()) ?? "/"
        let elsewhere = cgroup2Mount + (own == "/" ? "" : own) + "/pidsh-test-\(getpid())"
        XCTAssertEqual(mkdir(elsewhere, 0o755), 0, "mkdir \(elsewhere)")
        defer { rmdir(elsewhere) }
        let a = marker(7733)
        // The path comes from the environment: the script's text names no cgroup.
        guard let run = start([Self.binary!, "-c", """
        spawn --wait true
        echo $$ > $TARGET
        let s = spawn sleep \(a)
        echo "child=$s.pid"
        echo READY
        sleep 100
        """], env: ["TARGET": elsewhere + "/cgroup.procs"]), waitForOutput(run, "READY") else { return }
        defer { kill(run.pid, SIGTERM); _ = waitForExit(run) }
        guard let child = run.fields["child"].flatMap({ Int32($0) }) else { return XCTFail(run.transcript) }
        let moved = (own == "/" ? "" : own) + "/pidsh-test-\(getpid())"
        XCTAssertEqual(cgroupLine(run.pid), moved, "the script moved pidsh")
        XCTAssertEqual(cgroupLine(child), moved, "its next child is born where pidsh is, as a shell's")
        kill(run.pid, SIGTERM)
        _ = waitForExit(run)
        let left = (try? String(contentsOfFile: elsewhere + "/cgroup.procs", encoding: .utf8)) ?? "?"
        XCTAssertEqual(left, "", "pidsh stepped out at the end, and its child is gone")
    }

    func testAScriptThatNamesCgroupsHasPidshJoinIt() throws {
        try requireCgroup2()
        let r = pidsh("""
        spawn --wait true
        echo "own=$(grep '^0::' /proc/$$/cgroup)"
        echo "pid=$$"
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.fields["own"]?.hasSuffix("/pidsh-\(r.fields["pid"] ?? "?")") ?? false, "pidsh is in its own cgroup: \(r.transcript)")
    }

    /// A process whose command line is `sleep MARKER`, if one runs.
    func stillRunningMarker(_ seconds: String) -> Int32? {
        allProcStats().first { p in
            ((try? String(contentsOfFile: "/proc/\(p.pid)/cmdline", encoding: .utf8)) ?? "") == "sleep\0\(seconds)\0"
        }?.pid
    }
}
