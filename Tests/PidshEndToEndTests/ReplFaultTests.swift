import Foundation
import Glibc
import XCTest

/// The REPL under faults: a history file on a full disk or on a device, a missing or
/// unset HOME, and signals at an idle prompt. Same pty machinery as ReplPtyTests.
extension ReplPtyTests {
    /// Mounts a 64 KiB tmpfs at `path` and fills it; returns false (skip) without root.
    func mountFullDisk(_ path: String) throws {
        try requireRoot("mounts a small tmpfs to fill")
        XCTAssertEqual(mkdir(path, 0o755), 0)
        guard mount("tmpfs", path, "tmpfs", 0, "size=64k") == 0 else {
            throw XCTSkip("cannot mount a tmpfs: \(String(cString: strerror(errno)))")
        }
        let fd = open(path + "/filler", O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 0x41, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
    }

    /// Before: the new entries were lost without a word.
    func testHistoryOnAFullDiskIsReported() throws {
        let disk = tempDir + "/full"
        try mountFullDisk(disk)
        defer { _ = umount2(disk, Int32(MNT_DETACH)) }
        let t = try start("plain", environment: ["PIDSH_HISTFILE": disk + "/history"])
        defer { t.close() }
        t.expectPrompt()
        t.enter("echo kept_nowhere")
        t.expectLine("kept_nowhere")
        t.expectPrompt()
        t.send(Key.ctrlD)
        t.expect("pidsh: history not saved: write \(disk)/history: ENOSPC (No space left on device)")
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: disk)) ?? [], ["filler"], "no temporary file left")
    }

    /// Before: the REPL read /dev/zero (or /dev/full) as its history for ever, never
    /// prompting, and grew by gigabytes.
    func testAHistoryFileThatIsADeviceIsNotUsed() throws {
        for device in ["/dev/zero", "/dev/full"] {
            let t = try start("plain", environment: ["PIDSH_HISTFILE": device])
            defer { t.close() }
            t.expect("pidsh: no history this session: \(device) is a character device, not a regular file")
            t.expectPrompt(timeout: 5)
            t.enter("echo still_here")
            t.expectLine("still_here")
            t.expectPrompt()
            t.send(Key.ctrlD)
            XCTAssertEqual(t.waitForExit(), 0, t.dump)
            var info = stat()
            XCTAssertEqual(stat(device, &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "\(device) is still the device")
        }
    }

    /// Before: with HOME=/nonexistent the REPL made /nonexistent/.local/state/pidsh
    /// (as root) to save its history there.
    func testAMissingHomeIsNotCreated() throws {
        let home = tempDir + "/no-such-home"
        let t = try start("plain", environment: ["HOME": home, "PIDSH_HISTFILE": ""])
        defer { t.close() }
        t.expect("pidsh: no history this session: \(home) does not exist, and pidsh does not create a missing home directory")
        t.expectPrompt()
        t.enter("echo ok_home")
        t.expectLine("ok_home")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home), "the missing home was not created")
    }

    // MARK: signals at an idle prompt

    /// pidsh's PID in the terminal (setsid may have forked to start it).
    func pidshPid(_ t: PtyTerminal) -> Int32? {
        let root = t.process.processIdentifier
        if processName(root) == "pidsh" { return root }
        return PtyTerminal.children(of: root).first { processName($0) == "pidsh" }
    }

    /// Starts a session with a namespace and returns its init's PID.
    func sessionWithANamespace(_ t: PtyTerminal) -> Int32 {
        t.expectPrompt()
        t.enter("let n = ns new")
        t.expectPrompt()
        t.enter("echo \"init=$n.init.pid\"")
        t.expect("init=")
        t.expectPrompt()
        let line = t.screen.components(separatedBy: "\n").last { $0.hasPrefix("init=") } ?? ""
        return Int32(line.dropFirst(5).prefix { $0.isNumber }) ?? 0
    }

    /// Before: SIGHUP and SIGTERM at an idle prompt were ignored (the session and its
    /// namespaces lived on), and SIGQUIT/SIGUSR1/SIGUSR2/SIGALRM killed pidsh without a
    /// tear-down. Each now ends the session: `pidsh: interrupted by SIGNAME`, every
    /// namespace torn down, exit 128+N.
    func testSignalsAtAnIdlePromptEndTheSession() throws {
        try requireRoot("namespaces")
        let cases: [(Int32, String, String)] = [(SIGTERM, "SIGTERM", "libedit"), (SIGHUP, "SIGHUP", "readline"),
                                                (SIGTERM, "SIGTERM", "plain"), (SIGQUIT, "SIGQUIT", "libedit"),
                                                (SIGUSR1, "SIGUSR1", "plain"), (SIGUSR2, "SIGUSR2", "readline"),
                                                (SIGALRM, "SIGALRM", "plain")]
        for (signal, name, editor) in cases {
            let t = try start(editor)
            defer { t.close() }
            let initPid = sessionWithANamespace(t)
            XCTAssertEqual(processName(initPid), "pidsh-init", t.dump)
            guard let pid = pidshPid(t) else { XCTFail("no pidsh in the terminal"); continue }
            XCTAssertEqual(kill(pid, signal), 0)
            t.expect("pidsh: interrupted by \(name)")
            t.expect("tearing down 1 namespace")
            XCTAssertEqual(t.waitForExit(), 128 + signal, "\(name) with \(editor)\n\(t.dump)")
            XCTAssertNotEqual(processName(initPid), "pidsh-init", "\(name): the namespace's init is gone")
            XCTAssertTrue(waitUntil(3) { self.taggedProcesses().isEmpty }, "\(name): nothing of the session is left")
        }
    }

    /// A closed terminal (the master side closed: the kernel hangs it up, SIGHUP to pidsh)
    /// ends the session and tears everything down.
    func testAClosedTerminalEndsTheSession() throws {
        try requireRoot("namespaces")
        for editor in ["libedit", "plain"] {
            let t = try start(editor)
            let initPid = sessionWithANamespace(t)
            XCTAssertEqual(processName(initPid), "pidsh-init", t.dump)
            t.close()
            XCTAssertFalse(t.process.isRunning)
            XCTAssertEqual(t.process.terminationStatus, 129, editor)
            XCTAssertNotEqual(processName(initPid), "pidsh-init", "the namespace's init is gone")
            XCTAssertTrue(waitUntil(3) { self.taggedProcesses().isEmpty }, "nothing of the session is left")
        }
    }

    /// A ^\ that kills a foreground program belongs to that program: the session goes on.
    func testQuitDuringAForegroundProgramBelongsToIt() throws {
        let t = try start("plain")
        defer { t.close() }
        t.expectPrompt()
        t.enter("sh -c 'echo started; sleep 30'")
        t.expectLine("started")   // the program's line, not the typed command
        t.send("\u{1C}")   // ^\\ on the terminal: SIGQUIT to the foreground process group
        t.expectPrompt()
        t.enter("echo still_alive")
        t.expectLine("still_alive")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
    }
}
