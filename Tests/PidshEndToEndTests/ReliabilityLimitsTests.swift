import Foundation
import Glibc
import XCTest

/// pidsh under resource limits: few descriptors (`ulimit -n`), a low soft limit it may
/// raise, few processes (`ulimit -u`), little address space (`ulimit -v`). Each limit
/// that is hit is named with its value and how to raise it; nothing is lost or left.
final class ReliabilityLimitsTests: ReliabilityTestCase {
    /// argv under `prlimit OPTIONS` (util-linux), as `user` (setpriv) when given.
    func limited(_ limits: [String], user: Int? = nil, _ argv: [String]) -> [String] {
        var out = ["/usr/bin/prlimit"] + limits
        if let user { out += ["/usr/bin/setpriv", "--reuid=\(user)", "--regid=\(user)", "--clear-groups"] }
        return out + argv
    }

    func requirePrlimit() throws {
        try XCTSkipUnless(access("/usr/bin/prlimit", X_OK) == 0, "needs /usr/bin/prlimit (util-linux)")
    }

    /// Before: at 15..22 descriptors `nest 5 --mount-proc` lost the descriptors passed
    /// over SCM_RIGHTS (MSG_CTRUNC was not checked) and said "process -1 has ended" or
    /// "(stage 9, level -1)".
    func testNestUnderFewDescriptorsSaysWhichLimit() throws {
        try requirePrlimit()
        var outcomes: [String] = []
        for n in 15...22 {
            let dir = tempDir + "/n\(n)"
            let r = run(limited(["--nofile=\(n)"], [Self.binary!, "-c", "nest 5 --mount-proc \(dir)-{level} sleep 0.1"]))
            assertNoCrash(r.status, r.stderr, "ulimit -n \(n)")
            outcomes.append("\(n): exit \(r.status)")
            XCTAssertTrue([0, 1].contains(r.status), r.transcript)
            if r.status == 1 {
                assertLocatedError(r.stderr, at: "-c:1:1", "EMFILE")
                assertContains(r.stderr, "as many descriptors open as RLIMIT_NOFILE allows: \(n) (`ulimit -n`")
                for word in ["stage", "level -1", "process -1", "-1 has"] { assertNotContains(r.stderr, word) }
            }
            for level in 0..<5 { XCTAssertFalse(exists("\(dir)-\(level)"), "ulimit -n \(n): directory \(level) left") }
        }
        print("reliability: nest 5 --mount-proc under ulimit -n 15..22: \(outcomes.joined(separator: ", "))")
    }

    /// pidsh holds a pidfd per live process. Before: with a soft limit of 64 it failed
    /// after about 55 `spawn`s. It raises the soft limit to the hard one at start, and
    /// gives its programs the limit it was started with.
    func testTheSoftDescriptorLimitIsRaisedAndRestoredForPrograms() throws {
        try requirePrlimit()
        var own = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &own)
        try XCTSkipIf(own.rlim_max < 1000, "the hard RLIMIT_NOFILE here is \(own.rlim_max)")
        let s = marker(7711)
        let code = """
        repeat 200 { spawn sleep \(s) }
        echo "spawned=$(ps --mine -C sleep -o pid | tail -n +2 | wc -l)"
        grep 'Max open files' /proc/$$/limits
        grep 'Max open files' /proc/self/limits
        """
        let r = run(limited(["--nofile=64:\(own.rlim_max)"], [Self.binary!, "-c", code]))
        XCTAssertEqual(r.status, 0, r.transcript)
        let lines = r.stdoutLines
        XCTAssertEqual(lines.first, "spawned=200", r.transcript)
        let fields = lines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertEqual(fields.count, 2, r.transcript)
        guard fields.count == 2, fields[0].count >= 5, fields[1].count >= 5 else { return }
        XCTAssertEqual(fields[0][3], "\(own.rlim_max)", "pidsh's own soft limit is the hard one")
        XCTAssertEqual(fields[1][3], "64", "a program gets the limit pidsh was started with")
        XCTAssertEqual(fields[1][4], "\(own.rlim_max)")
    }

    /// Before: "a process limit was hit", without which or how much.
    func testEagainNamesTheProcessLimitAndItsValue() throws {
        try requirePrlimit()
        try requireSetpriv()
        try requireRoot("switches to uid 65534 for RLIMIT_NPROC (root is exempt)")
        let s = marker(7712)
        let r = run(limited(["--nproc=12"], user: 65534, [Self.binary!, "-c", "repeat 40 { spawn sleep \(s) }"]))
        assertNoCrash(r.status, r.stderr, "ulimit -u 12")
        // Another run as uid 65534 at the same time can use up the limit before pidsh
        // starts (exit 70): the reason is the same.
        XCTAssertTrue([1, 70].contains(r.status), r.transcript)
        assertContains(r.stderr, "EAGAIN")
        assertContains(r.stderr, "RLIMIT_NPROC (`ulimit -u`) allows this user 12 processes")
        assertContains(r.stderr, "kernel.pid_max is")
    }

    /// Before: under `ulimit -v` a large `$(...)` aborted pidsh in the Swift runtime
    /// ("Fatal error: failed to allocate", SIGABRT), without a tear-down.
    func testCapturesAreBoundedAlsoUnderUlimitV() throws {
        let big = pidsh("let x = $(head -c 100000000 /dev/zero)\necho not reached")
        XCTAssertEqual(big.status, 1, big.transcript)
        assertLocatedError(big.stderr, at: "-c:1:11", "output larger than 64 MiB, more than `$(...)` or `let` captures")
        let let_ = pidsh("let x = cat /dev/zero")
        XCTAssertEqual(let_.status, 1, let_.transcript)
        assertLocatedError(let_.stderr, at: "-c:1:9", "output larger than 64 MiB")
        try requirePrlimit()
        let dir = tempDir + "/v"
        let code = "let n = ns new\nmount proc \(dir) --ns $n\nlet x = $(head -c 60000000 /dev/zero)\necho not reached"
        let v = run(limited(["--as=\(150 << 20)"], [Self.binary!, "-c", code]))
        assertNoCrash(v.status, v.stderr, "ulimit -v 150 MiB")
        XCTAssertEqual(v.status, 1, v.transcript)
        assertLocatedError(v.stderr, at: "-c:3:11", "output larger than 18 MiB (an eighth of `ulimit -v`)")
        XCTAssertFalse(exists(dir), "torn down")
    }
}
