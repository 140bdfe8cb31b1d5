import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// Spawner.spawn / Session.spawn against the real kernel: where children land, what they
/// inherit, and how failures before exec are reported.
final class SpawnTests: SystemTestCase {
    func testNewPIDChildIsPID1InsideWithParentZero() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let p = try spawnSleep(newPID: true)
        XCTAssertTrue(p.isRunning)
        XCTAssertEqual(p.nspid, 1, "a --newpid child is PID 1 of its namespace")
        XCTAssertEqual(p.nsppid, 0, "its parent lives outside the namespace, so getppid() inside is 0")
        XCTAssertEqual(p.pids.count, 2, "NSpid: host PID and PID 1")
        XCTAssertEqual(p.pids.first, p.pid)
        XCTAssertEqual(Spawner.pidOfPidfd(p.pidfd), p.pid, "the pidfd names the same process")
        XCTAssertEqual(p.ppid, getpid(), "host side, the test process is its parent")
        XCTAssertTrue(p.isChild)
        XCTAssertEqual(p.name, "sleep")
        XCTAssertEqual(p.commandLine, ["sleep", "1000"])
        let ns = try p.namespace()
        XCTAssertNotEqual(ns.inode, Namespace.ownInode)
        XCTAssertEqual(ns.level, 1)
    }

    func testPlainSpawnStaysInOwnNamespace() throws {
        let p = try spawnSleep()
        XCTAssertEqual(p.pids, [p.pid])
        XCTAssertEqual(p.nspid, p.pid)
        XCTAssertEqual(p.nsppid, getpid(), "same namespace: the parent's PID is visible")
        XCTAssertEqual(try p.namespace().inode, Namespace.ownInode)
        XCTAssertEqual(Spawner.pidOfPidfd(p.pidfd), p.pid)
    }

    func testChildStartsWithDefaultSignalsAndEmptyMask() throws {
        // Block and ignore something in this thread: the child must not inherit it.
        var block = sigset_t(), saved = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &block, &saved)
        let oldUSR2 = signal(SIGUSR2, SIG_IGN)
        OwnSignals.dispositionsChanged()
        defer {
            pthread_sigmask(SIG_SETMASK, &saved, nil)
            signal(SIGUSR2, oldUSR2)
            OwnSignals.dispositionsChanged()
        }
        let p = try spawnSleep()
        let status = try XCTUnwrap(p.procStatus())
        // Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): glibc's sigaction
        // refuses to touch them, so what pidsh inherited for them passes through.
        let glibcInternal: UInt64 = 0b11 << 31
        XCTAssertEqual(status.sigBlocked & ~glibcInternal, 0, "signal mask reset before exec")
        XCTAssertEqual(status.sigIgnored & ~glibcInternal, 0, "dispositions reset before exec")
    }

    func testFileDescriptorWiringAndEnvironment() throws {
        let (out, status) = try run("/usr/bin/env", ["env"]) { $0.environment = ["PIDSH_TEST=yes", "A=b c"] }
        XCTAssertEqual(status, .exited(0))
        XCTAssertEqual(out, "PIDSH_TEST=yes\nA=b c\n")
    }

    func testFileDescriptorMapSwapsWithoutClobbering() throws {
        // Two pipes wired crosswise onto 1 and 2: each source must reach its target.
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
        XCTAssertEqual(cloexecPipe(&a), 0)
        XCTAssertEqual(cloexecPipe(&b), 0)
        defer { close(a[0]); close(b[0]) }
        var o = SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "echo out; echo err >&2"])
        o.fileDescriptors = [(1, b[1]), (2, a[1])]
        let p = try session.spawn(o)
        close(a[1]); close(b[1])
        XCTAssertEqual(try p.wait(interruptible: false), .exited(0))
        func drain(_ fd: Int32) -> String {
            var buf = [UInt8](repeating: 0, count: 256)
            let n = read(fd, &buf, buf.count)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
        }
        XCTAssertEqual(drain(b[0]), "out\n")
        XCTAssertEqual(drain(a[0]), "err\n")
    }

    func testNoInheritedDescriptorSurvivesExec() throws {
        // A descriptor opened without O_CLOEXEC must still not reach the program.
        let leaked = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThan(leaked, 2)
        defer { close(leaked) }
        let (out, status) = try run("/bin/sh", ["sh", "-c", "test -e /proc/self/fd/\(leaked) && echo leaked || echo closed"])
        XCTAssertEqual(status, .exited(0))
        XCTAssertEqual(out, "closed\n")
    }

    /// Above the line where pidsh keeps its long-lived descriptors (HighDescriptors): the
    /// child shares pidsh's table until its close_range(CLOSE_RANGE_UNSHARE), and neither
    /// a descriptor there nor a pidfd of a live process reaches the program.
    func testNoDescriptorAboveTheLineSurvivesExec() throws {
        let low = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThan(low, 2)
        let high = dup2(low, 2000)   // without O_CLOEXEC
        close(low)
        XCTAssertEqual(high, 2000)
        defer { close(high) }
        let alive = try session.spawn(sleepOptions())
        let (out, status) = try run("/bin/sh", ["sh", "-c", "test -e /proc/self/fd/2000 && echo leaked; ls /proc/self/fd | wc -l"])
        XCTAssertEqual(status, .exited(0))
        // 0, 1, 2 and the descriptor ls reads /proc/self/fd through.
        XCTAssertEqual(out, "4\n", "pidfd \(alive.pidfd) or descriptor 2000 reached the program")
    }

    func testNewProcessGroup() throws {
        var o = sleepOptions()
        o.newProcessGroup = true
        let p = try session.spawn(o)
        XCTAssertTrue(eventually { getpgid(p.pid) == p.pid }, "the child leads its own process group")
        let q = try spawnSleep()
        XCTAssertEqual(getpgid(q.pid), getpgid(0), "without the option it stays in pidsh's group")
    }

    func testRemountProcShowsTheChildsOwnNamespace() throws {
        try requireRoot("CLONE_NEWNS + mount proc")
        let (out, status) = try run("/bin/readlink", ["readlink", "/proc/self"]) {
            $0.newPIDNamespace = true
            $0.remountProc = true
        }
        XCTAssertEqual(status, .exited(0))
        XCTAssertEqual(out, "1\n", "inside, /proc is the new namespace's: the program is PID 1")
        XCTAssertEqual(mountPoints(under: "/proc").first, "/proc", "the host's /proc is untouched")
    }

    func testChildMountsItsOwnProcOnPreparedMountPoint() throws {
        try requireRoot("mount proc")
        let point = try session.mounts.prepareMountPoint(path("p"))
        defer { point.close() }
        var o = sleepOptions(newPID: true)
        o.procMountPoint = point
        let p = try session.spawn(o)
        XCTAssertEqual(session.mounts.entries, [.directory(path("p")), .mount(path("p"))], "the child's mount is recorded by handle")
        XCTAssertEqual(mountPoints(under: tempDir), [path("p")])
        XCTAssertEqual(numericEntries(path("p")), [1], "the procfs of the child's namespace holds only it")
        XCTAssertEqual(p.nspid, 1)
    }

    func testExecOfMissingProgramIsReportedWithoutHangingOrZombie() throws {
        let start = Date()
        let missing = path("no-such-program")
        let e = assertSystemError(ENOENT, mentions: [missing]) {
            try session.spawn(SpawnOptions(path: missing, arguments: ["no-such-program", "x"]))
        }
        XCTAssertTrue(e?.description.contains("no-such-program") ?? false, "the message names the program: \(String(describing: e))")
        XCTAssertTrue(e?.operation.hasPrefix("exec") ?? false)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "a failed exec must not hang")
        XCTAssertEqual(zombieChildren(), [], "the failed child was reaped")
        XCTAssertEqual(descendants(of: getpid()), [], "nothing of the failed spawn remains")
        XCTAssertEqual(session.children.count, 0, "a failed spawn is not tracked")
    }

    func testExecFailureAsPID1OfNewNamespace() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        assertSystemError(ENOENT, mentions: ["/nonexistent/prog"]) {
            try session.spawn({ var o = SpawnOptions(path: "/nonexistent/prog", arguments: ["prog"]); o.newPIDNamespace = true; return o }())
        }
        XCTAssertEqual(descendants(of: getpid()), [])
    }

    func testExecOfNonExecutableFileIsEACCES() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path("data"), contents: Data("hi\n".utf8)))
        chmod(path("data"), 0o644)
        assertSystemError(EACCES, mentions: ["not executable"]) {
            try session.spawn(SpawnOptions(path: path("data"), arguments: ["data"]))
        }
        XCTAssertEqual(descendants(of: getpid()), [])
    }

    func testManySpawnsLeaveNoZombies() throws {
        try requireRoot("clone(CLONE_NEWPID) for every other spawn")
        for i in 0..<50 {
            var o = SpawnOptions(path: "/bin/true", arguments: ["true"])
            o.newPIDNamespace = i % 2 == 0
            let p = try session.spawn(o)
            XCTAssertEqual(try p.wait(interruptible: false), .exited(0))
        }
        session.reapFinished()
        XCTAssertEqual(session.children.count, 0)
        XCTAssertEqual(zombieChildren(), [])
    }

    func testReapFinishedReapsWithoutWait() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/true", arguments: ["true"]))
        XCTAssertTrue(eventually { !p.isRunning })
        session.reapFinished()
        XCTAssertEqual(p.exitStatus, .exited(0))
        XCTAssertEqual(session.children.count, 0)
        XCTAssertEqual(zombieChildren(), [])
    }
}
