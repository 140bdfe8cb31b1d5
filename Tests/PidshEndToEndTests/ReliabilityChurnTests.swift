import Foundation
import Glibc
import XCTest

/// Churn in ONE session: 1,000 x (ns new, spawn into it, kill it) and 1,000 x
/// `spawn --newpid --wait /bin/true`. pidsh's open descriptors, mounts and memory are
/// measured by the script itself before and after: they stay flat, and no zombie child
/// is left.
final class ReliabilityChurnTests: ReliabilityTestCase {
    func testThousandsOfNamespacesAndSpawnsLeaveNothingBehind() throws {
        try requireRoot("ns new and spawn --newpid")
        let s = marker(7501)
        // One measurement of pidsh (PID $2) by a shell script, once pidsh waits for it (so
        // the pipe ends of the spawn are closed already): its fds, its mount table, its
        // resident memory (kB), and its zombie children (state Z, parent pidsh).
        let probe = tempDir + "/measure.sh"
        try #"""
        sleep 0.2
        fds=$(ls /proc/$2/fd | wc -l)
        mounts=$(wc -l < /proc/$2/mountinfo)
        rss=$(awk '/^VmRSS/ {print $2}' /proc/$2/status)
        zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^.*) //' | awk -v p=$2 '$1 == "Z" && $2 == p' | wc -l)
        echo "$1 fds=$fds mounts=$mounts rss=$rss zombies=$zombies"
        """#.write(toFile: probe, atomically: true, encoding: .utf8)
        let measure = "sh \(probe) NAME $$"
        let script = """
        def cycle {
            let ns = ns new
            let p = spawn --ns $ns sleep \(s)
            kill $ns
        }
        # Warm-up, so the allocator and the caches have their working size.
        repeat 20 { cycle }
        repeat 20 { spawn --newpid --wait /bin/true }
        \(measure.replacingOccurrences(of: "NAME", with: "before"))
        let t0 = $(date +%s%N)
        repeat 1000 { cycle }
        let t1 = $(date +%s%N)
        \(measure.replacingOccurrences(of: "NAME", with: "middle"))
        repeat 1000 { spawn --newpid --wait /bin/true }
        let t2 = $(date +%s%N)
        \(measure.replacingOccurrences(of: "NAME", with: "after"))
        echo "ms ns=${($t1 - $t0) / 1000000} spawn=${($t2 - $t1) / 1000000}"
        echo "pidsh=$$"
        """
        let start = Date()
        let r = pidsh(script, timeout: 80)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 0, r.transcript)
        func values(_ name: String) -> [String: Int] {
            guard let line = r.stdoutLines.first(where: { $0.hasPrefix(name + " ") }) else { return [:] }
            var out: [String: Int] = [:]
            for pair in line.split(separator: " ").dropFirst() {
                let kv = pair.split(separator: "=")
                if kv.count == 2, let v = Int(kv[1]) { out[String(kv[0])] = v }
            }
            return out
        }
        let before = values("before"), middle = values("middle"), after = values("after")
        let times = values("ms")
        print("reliability: churn of 1,000 ns new/spawn/kill + 1,000 spawn --newpid --wait in one session: \(String(format: "%.1f", elapsed)) s in all (ns cycles \(times["ns"] ?? -1) ms, spawns \(times["spawn"] ?? -1) ms); before \(before), after 1,000 ns cycles \(middle), after 1,000 spawns \(after)")
        for key in ["fds", "mounts", "rss", "zombies"] {
            XCTAssertNotNil(before[key], "\(key) measured\n\(r.transcript)")
            XCTAssertNotNil(after[key], "\(key) measured\n\(r.transcript)")
        }
        XCTAssertEqual(middle["fds"], before["fds"], "open descriptors after 1,000 namespaces")
        XCTAssertEqual(after["fds"], before["fds"], "open descriptors after 1,000 spawns")
        XCTAssertEqual(after["mounts"], before["mounts"], "mount table")
        XCTAssertEqual(before["zombies"], 0)
        XCTAssertEqual(middle["zombies"], 0)
        XCTAssertEqual(after["zombies"], 0)
        if let b = before["rss"], let m = middle["rss"], let a = after["rss"] {
            XCTAssertLessThan(max(m, a) - b, 2048, "resident memory grows by less than 2 MiB")
        }
        XCTAssertLessThan(elapsed, 40, "2,000 cycles should take seconds, not minutes")
        // And after pidsh: none of its processes (EndToEndTestCase's tear-down checks the rest).
        if let pid = r.fields["pidsh"].flatMap({ Int32($0) }) {
            XCTAssertEqual(allProcStats().filter { $0.ppid == pid }.map { $0.pid }, [], "no child of pidsh outlives it")
        }
    }
}
