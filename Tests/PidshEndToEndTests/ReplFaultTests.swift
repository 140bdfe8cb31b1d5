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
}
