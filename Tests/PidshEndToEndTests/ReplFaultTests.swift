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
}
