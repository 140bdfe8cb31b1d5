import Foundation
import Glibc
import XCTest

/// A SIGTERM to pidsh ends it, whenever it comes: here at 40 moments spread over its
/// start, the spawn of a foreground program and the start of the wait for it. Each
/// run must end within 5 s, leaving nothing (the leftover check of every test). The
/// gap where one used to get lost — between pidsh's look at its signals and the
/// wait's sleep, a few microseconds, after which pidsh waited for the program to end
/// (100 s here) — is too narrow to hit from outside: SignalBeforeWaitTests raises
/// the signal inside it.
final class SignalAtAnyMomentTests: EndToEndTestCase {
    func testSIGTERMEndsAForegroundWaitWheneverItComes() throws {
        let s = marker(7841)
        let outPath = tempDir + "/.term.out", errPath = tempDir + "/.term.err"
        var late: [String] = []
        for round in 0..<40 {
            // 0 to 7.8 ms after the start: pidsh -c takes about 3 ms to its first spawn.
            let delay = UInt32(round) * 200
            guard let pid = spawnWithOutputFiles([Self.binary!, "-c", "sleep \(s)"], env: environment(), stdout: outPath,
                                                 stderr: errPath, file: #filePath, line: #line) else { return }
            usleep(delay)
            kill(pid, SIGTERM)
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(5)
            var ended = false
            while Date() < deadline {
                if waitpid(pid, &status, WNOHANG) == pid { ended = true; break }
                usleep(2_000)
            }
            if !ended {
                late.append("round \(round) (\(delay) µs)")
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
            }
        }
        XCTAssertEqual(late, [], "pidsh did not end within 5 s of a SIGTERM")
    }
}
