import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// `nest N`: N nested PID namespaces, each level PID 1 of its own, held by pidfds sent
/// back over the report socket.
final class NestTests: SystemTestCase {
    func testNest32LevelsWorks() throws {
        try requireRoot("clone(CLONE_NEWPID) x 32")
        let namespaces = try session.nest(levels: 32, mountPattern: nil, path: nil, arguments: [])
        XCTAssertEqual(namespaces.count, 32)
        XCTAssertEqual(namespaces.map { $0.level }, (1...32).map { Optional($0) }, "outermost first")
        let innermost = try XCTUnwrap(namespaces.last?.initProcess)
        XCTAssertEqual(innermost.pids.count, 33)
        XCTAssertEqual(innermost.nspid, 1)
        XCTAssertEqual(innermost.name, "pidsh-init")
        for (i, ns) in namespaces.enumerated() {
            let p = try XCTUnwrap(ns.initProcess)
            XCTAssertTrue(p.isRunning)
            XCTAssertEqual(p.nspid, 1, "every level is PID 1 of its namespace")
            XCTAssertEqual(p.isChild, i == 0, "only the outermost is pidsh's child")
            XCTAssertEqual(Spawner.pidOfPidfd(p.pidfd), p.pid, "level \(i): the received pidfd is the level's process")
            if i > 0 {
                XCTAssertEqual(try ns.parent()?.inode, namespaces[i - 1].inode)
                XCTAssertEqual(p.ppid, namespaces[i - 1].initProcess?.pid)
            }
        }
    }

    func testNest33FailsWithENOSPCAndCleansUp() throws {
        try requireRoot("clone(CLONE_NEWPID) x 33")
        let start = Date()
        assertSystemError(ENOSPC, mentions: ["32"]) {
            try session.nest(levels: 33, mountPattern: nil, path: nil, arguments: [])
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(session.children.count, 0)
        XCTAssertEqual(session.namespaces.count, 0)
        XCTAssertEqual(descendants(of: getpid()), [], "every level made before the failure was killed and reaped")
    }

    func testNest33WithMountsLeavesNoMount() throws {
        try requireRoot("clone(CLONE_NEWPID) x 33 + mount proc")
        assertSystemError(ENOSPC, mentions: ["32"]) {
            try session.nest(levels: 33, mountPattern: path("proc{level}"), path: nil, arguments: [])
        }
        // The levels that did start mounted their procfs before the 33rd clone failed:
        // the session must still know them, so tear-down unmounts them.
        XCTAssertEqual(Set(mountPoints(under: tempDir)), Set(session.mounts.mountedPaths))
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertEqual(numericEntries(tempDir), [], "no directory of the pattern left")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tempDir), [])
    }

    func testNest5WithProcMounts() throws {
        try requireRoot("nested namespaces + mount proc")
        let pattern = path("proc{level}")
        let namespaces = try session.nest(levels: 5, mountPattern: pattern, path: "/bin/sleep", arguments: ["sleep", "1000"])
        XCTAssertEqual(namespaces.count, 5)
        let innermost = try XCTUnwrap(namespaces.last?.initProcess)
        XCTAssertEqual(innermost.pids.count, 6, "host PID and one per level")
        XCTAssertEqual(innermost.name, "sleep")
        XCTAssertEqual(innermost.command, ["sleep", "1000"])
        XCTAssertEqual(innermost.pids.dropFirst().map { $0 }, [5, 4, 3, 2, 1],
                       "level k's namespace numbers the innermost k+1")

        let expected = (0..<5).map { path("proc\($0)") }
        XCTAssertEqual(Set(mountPoints(under: tempDir)), Set(expected))
        XCTAssertEqual(Set(session.mounts.mountedPaths), Set(expected))
        for k in 0..<5 {
            XCTAssertEqual(numericEntries(path("proc\(k)")), Array(1...(k + 1)),
                           "the proc of level \(k) lists exactly \(k + 1) processes")
        }
        // Level 0's proc shows the program as PID 1.
        XCTAssertEqual(readCommandLineFrom(path("proc0/1/cmdline")), ["sleep", "1000"])
        // Level 4 (outermost) sees the innermost as PID 5.
        XCTAssertEqual(readCommandLineFrom(path("proc4/5/cmdline")), ["sleep", "1000"])
    }

    func testNestedProgramInheritsNoDescriptor() throws {
        try requireRoot("nested namespaces")
        let leaked = open("/dev/null", O_RDONLY)  // no O_CLOEXEC on purpose
        XCTAssertGreaterThan(leaked, 2)
        defer { close(leaked) }
        let report = path("fds")
        _ = try session.nest(levels: 2, mountPattern: nil, path: "/bin/sh",
                             arguments: ["sh", "-c", "if test -e /proc/self/fd/\(leaked); then echo leaked; else echo closed; fi > \(report); exec sleep 1000"])
        XCTAssertTrue(eventually { (try? String(contentsOfFile: report, encoding: .utf8)) != nil })
        XCTAssertTrue(eventually { (try? String(contentsOfFile: report, encoding: .utf8)) == "closed\n" },
                      "the innermost program must not inherit pidsh's descriptors")
    }

    func testNestOneLevel() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let namespaces = try session.nest(levels: 1, mountPattern: path("p{level}"), path: nil, arguments: [])
        XCTAssertEqual(namespaces.count, 1)
        let p = try XCTUnwrap(namespaces.first?.initProcess)
        XCTAssertTrue(p.isChild)
        XCTAssertEqual(p.nspid, 1)
        XCTAssertEqual(numericEntries(path("p0")), [1])
    }

    func testNestExecFailureReportsProgramAndCleansUp() throws {
        try requireRoot("nested namespaces")
        let start = Date()
        assertSystemError(ENOENT, mentions: ["/nonexistent/prog"]) {
            try session.nest(levels: 3, mountPattern: nil, path: "/nonexistent/prog", arguments: ["/nonexistent/prog"])
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(descendants(of: getpid()), [])
    }

    func testNestInsideAJoinedNamespace() throws {
        try requireRoot("setns + nested namespaces")
        let ns = try session.newNamespace()
        try session.setChildrenNamespace(ns)
        let namespaces = try session.nest(levels: 2, mountPattern: nil, path: nil, arguments: [])
        try session.setChildrenNamespaceToOwn()
        XCTAssertEqual(namespaces.map { $0.level }, [2, 3])
        XCTAssertEqual(try namespaces[0].parent()?.inode, ns.inode)
        XCTAssertEqual(namespaces.last?.initProcess?.pids.count, 4)
    }

    func testKillingOutermostLevelEndsAllLevels() throws {
        try requireRoot("nested namespaces")
        let namespaces = try session.nest(levels: 4, mountPattern: nil, path: nil, arguments: [])
        let handles = namespaces.compactMap { $0.initProcess }
        try handles[0].signal(SIGKILL)
        XCTAssertEqual(try handles[0].wait(interruptible: false), .signaled(SIGKILL))
        for h in handles { XCTAssertFalse(h.isRunning) }
        for ns in namespaces { XCTAssertFalse(ns.alive) }
    }

    private func readCommandLineFrom(_ file: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
