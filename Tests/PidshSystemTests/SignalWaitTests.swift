import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// ProcessHandle: signals and waits through the pidfd.
final class SignalWaitTests: SystemTestCase {
    func testWaitReturnsExitCode() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "exit 3"]))
        let status = try p.wait(interruptible: false)
        XCTAssertEqual(status, .exited(3))
        XCTAssertEqual(status.shellCode, 3)
        XCTAssertFalse(status.succeeded)
        XCTAssertEqual(p.exitStatus, .exited(3))
        XCTAssertEqual(p.pidfd, -1, "the pidfd is closed once reaped")
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(zombieChildren(), [])
    }

    func testWaitReturnsSignal() throws {
        let p = try spawnSleep()
        XCTAssertTrue(p.isRunning)
        XCTAssertNil(p.poll(), "still running: nothing to reap")
        try p.signal(SIGTERM)
        let status = try p.wait(interruptible: false)
        XCTAssertEqual(status, .signaled(SIGTERM))
        XCTAssertEqual(status.shellCode, 128 + SIGTERM)
        XCTAssertEqual(status.description, "killed by SIGTERM")
    }

    func testWaitingTwiceReturnsTheSameStatus() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "exit 7"]))
        let first = try p.wait(interruptible: false)
        let second = try p.wait(interruptible: false)
        XCTAssertEqual(first, .exited(7))
        XCTAssertEqual(second, first)
        XCTAssertEqual(p.poll(), first)
    }

    func testSignallingAnEndedProcessThrowsESRCH() throws {
        let p = try spawnSleep()
        try p.signal(SIGKILL)
        XCTAssertEqual(try p.wait(interruptible: false), .signaled(SIGKILL))
        let e = assertSystemError(ESRCH, mentions: ["already ended", "nothing left to signal"]) { try p.signal(SIGTERM) }
        XCTAssertTrue(e?.description.contains("kill -TERM \(p.pid)") ?? false, String(describing: e))
    }

    func testSignallingAZombieThroughItsPidfdIsHarmless() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/true", arguments: ["true"]))
        XCTAssertTrue(eventually { !p.isRunning }, "a zombie counts as ended")
        XCTAssertEqual(ProcStatus.read(pid: p.pid)?.stateLetter, "Z")
        // Not yet reaped: the kernel either accepts or says ESRCH; never another process.
        do { try p.signal(SIGTERM) } catch let e as SystemError { XCTAssertEqual(e.errno.rawValue, ESRCH) }
        XCTAssertEqual(try p.wait(interruptible: false), .exited(0))
    }

    func testPollReapsWhenEnded() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "exit 2"]))
        XCTAssertTrue(eventually { p.poll() != nil })
        XCTAssertEqual(p.exitStatus, .exited(2))
        XCTAssertEqual(zombieChildren(), [])
        XCTAssertEqual(p.name, "sh", "fields captured on the way out still answer")
    }

    func testSignalZeroChecksExistence() throws {
        let p = try spawnSleep()
        XCTAssertNoThrow(try p.signal(0))
        XCTAssertTrue(p.isRunning)
    }

    func testStopAndContinue() throws {
        let p = try spawnSleep()
        try p.signal(SIGSTOP)
        XCTAssertTrue(eventually { p.procStatus()?.stateLetter == "T" })
        XCTAssertTrue(p.isRunning, "stopped is not ended")
        try p.signal(SIGCONT)
        XCTAssertTrue(eventually { p.procStatus()?.stateLetter == "S" })
    }

    func testObservedProcessCanBeSignalledButNotReaped() throws {
        let child = try spawnSleep()
        let observed = try ProcessHandle.observe(pid: child.pid)
        XCTAssertFalse(observed.isChild)
        XCTAssertEqual(observed.nspid, child.pid)
        try observed.signal(SIGKILL)
        assertSystemError(ECHILD, mentions: ["not pidsh's child"]) { try observed.wait(interruptible: false) }
        XCTAssertFalse(observed.isRunning)
        XCTAssertNil(observed.poll(), "only the parent learns the status")
        XCTAssertEqual(try child.wait(interruptible: false), .signaled(SIGKILL))
    }

    func testObserveMissingPID() throws {
        // PID numbers above pid_max never exist.
        assertSystemError(ESRCH, mentions: ["no process"]) { try ProcessHandle.observe(pid: 0x3fff_fff0) }
    }

    func testSignalToNamespaceInitFromInsideIsIgnoredButSIGKILLFromPidshWorks() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let initProcess = try XCTUnwrap(ns.initProcess)
        // pidsh is in the ancestor namespace: SIGTERM is dropped (init has no handler),
        // the init survives.
        try initProcess.signal(SIGTERM)
        usleep(50_000)
        XCTAssertTrue(initProcess.isRunning)
        try initProcess.signal(SIGKILL)
        XCTAssertEqual(try initProcess.wait(interruptible: false), .signaled(SIGKILL))
    }

    func testInitReapsOrphans() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        // A shell in the namespace leaves a short-lived orphan behind: init must reap it.
        var o = SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "(sleep 0.3 &) ; exit 0"])
        o.joinNamespace = ns
        let sh = try session.spawn(o)
        XCTAssertEqual(try sh.wait(interruptible: false), .exited(0))
        let initPid = try XCTUnwrap(ns.initProcess?.pid)
        XCTAssertTrue(eventually { self.descendants(of: initPid).map { $0.name } == ["sleep"] },
                      "the orphan was re-parented to the namespace's init")
        XCTAssertTrue(eventually(timeout: 5) { self.descendants(of: initPid).isEmpty },
                      "the orphan was reaped by the init (no zombie under it)")
    }
}
