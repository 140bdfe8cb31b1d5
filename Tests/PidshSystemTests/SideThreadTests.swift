import Glibc
import XCTest
@testable import PidshSystem

/// SideThread runs half of a listing's reads on a second thread: both halves' results
/// come back, and the thread has left the process when `both` returns (no thread is in
/// /proc/self/task that was not there before; the test runner's own threads may come
/// and go meanwhile), so a namespace call that needs a single-threaded process may
/// follow at once.
final class SideThreadTests: XCTestCase {
    func testBothHalvesRunAndTheThreadIsGoneOnReturn() {
        for round in 0..<1000 {
            let before = tasks()
            var mine: Int32 = 0
            let (here, there) = SideThread.both({ () -> Int in
                mine = getpid()
                return (0..<1000).reduce(0, +)
            }, { () -> (Int, pthread_t) in
                ((1000..<2000).reduce(0, +), pthread_self())
            })
            XCTAssertEqual(here, 499_500)
            XCTAssertEqual(there.0, 1_499_500)
            XCTAssertEqual(mine, getpid())
            XCTAssertEqual(pthread_equal(there.1, pthread_self()), 0, "the other half ran on another thread (round \(round))")
            XCTAssertEqual(tasks().subtracting(before), [], "the thread is gone from /proc/self/task on return (round \(round))")
        }
    }

    /// The kernel's threads of this process, by thread ID.
    private func tasks() -> Set<String> {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        var ids: Set<String> = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { ids.insert(name) }
        }
        return ids
    }
}
