import Glibc
import PidshSystem
import XCTest

/// CreationOrder lists processes oldest first even when PIDs wrapped between them; the
/// witness is the kernel's own numbering of processes as they are made (pidfs inodes),
/// compared with the order this test made them in.
final class CreationOrderTests: SystemTestCase {
    func testAYoungerProcessWithASmallerPIDComesAfter() throws {
        try requireRoot("ns_last_pid")
        let pidMax = try XCTUnwrap(Int32(try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let last = try String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8)
        defer { try? last.write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8) }   // see GoldenExamplesTests
        try String(pidMax - 3).write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
        let older = try spawnSleep()
        let younger = try spawnSleep()
        let youngest = try spawnSleep()
        let made = [older.pid, younger.pid, youngest.pid]
        try XCTSkipUnless(made != made.sorted(), "the PIDs did not wrap between them: \(made)")
        XCTAssertEqual(CreationOrder.sorted(made.reversed()), made)
        XCTAssertEqual(CreationOrder.sorted(made.sorted()), made)
    }
}
