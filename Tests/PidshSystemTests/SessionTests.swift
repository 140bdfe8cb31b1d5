import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// Session: the bookkeeping of everything made, the tracer's view of it, and tear-down.
final class SessionTests: SystemTestCase {
    final class RecordingTracer: Tracer {
        var lines: [String] = []
        func call(_ line: String) { lines.append("call " + line) }
        func spawned(_ options: SpawnOptions, process: ProcessHandle) { lines.append("spawned \(options.arguments.first ?? "?")") }
        func failed(_ options: SpawnOptions, error: Error) { lines.append("failed \(options.arguments.first ?? "?")") }
        func nested(levels: Int, processes: [ProcessHandle]) { lines.append("nested \(levels) \(processes.count)") }
    }

    func testTearDownKillsReapsAndUndoesEverything() throws {
        try requireRoot("namespaces + mounts")
        let local = Session()
        let ns = try local.newNamespace()
        let member = try local.spawn(sleepOptions(join: ns))
        let plain = try local.spawn(sleepOptions())
        let nested = try local.nest(levels: 3, mountPattern: path("n{level}"), path: nil, arguments: [])
        try local.mounts.mountProc(at: path("m"), namespace: ns)
        XCTAssertEqual(local.liveSummary.count, 3, "namespaces, processes, mounts: \(local.liveSummary)")

        // Tear-down may not wait on the killed init before its members (the init cannot
        // finish dying while a zombie of its namespace is unreaped): this must not hang.
        let start = Date()
        XCTAssertEqual(local.tearDown(), [])
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        for p in [ns.initProcess, member, plain].compactMap({ $0 }) + nested.compactMap({ $0.initProcess }) {
            XCTAssertFalse(p.isRunning)
        }
        XCTAssertEqual(member.exitStatus, .signaled(SIGKILL))
        XCTAssertEqual(local.children.count, 0)
        XCTAssertEqual(local.namespaces.count, 0)
        XCTAssertEqual(local.liveSummary, [])
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tempDir), [], "every directory it made is gone")
        XCTAssertEqual(descendants(of: getpid()), [])
        XCTAssertEqual(local.tearDown(), [], "a second tear-down has nothing left to do")
    }

    func testCallbacksSeeEveryProcessAndNamespace() throws {
        try requireRoot("namespaces")
        var namespaces: [UInt64] = []
        session.onNewNamespace = { namespaces.append($0.inode) }
        let ns = try session.newNamespace()
        _ = try spawnSleep(join: ns)
        let nested = try session.nest(levels: 2, mountPattern: nil, path: nil, arguments: [])
        XCTAssertEqual(namespaces, [ns.inode] + nested.map { $0.inode })
        XCTAssertEqual(started.count, 4, "init, member, two nest levels")
        XCTAssertEqual(session.children.count, 4)
    }

    func testTracerRecordsCallsInOrder() throws {
        try requireRoot("namespaces")
        let tracer = RecordingTracer()
        session.tracer = tracer
        let ns = try session.newNamespace()
        try session.setChildrenNamespace(ns)
        _ = try spawnSleep()
        try session.setChildrenNamespaceToOwn()
        _ = try? session.spawn(SpawnOptions(path: "/nonexistent", arguments: ["nothing"]))
        _ = try session.nest(levels: 2, mountPattern: nil, path: nil, arguments: [])
        XCTAssertEqual(tracer.lines.count, 6, "\(tracer.lines)")
        XCTAssertEqual(tracer.lines[0], "spawned pidsh-init")
        XCTAssertEqual(tracer.lines[1], "call setns(\(ns.id), CLONE_NEWPID) = 0")
        XCTAssertEqual(tracer.lines[2], "spawned sleep")
        XCTAssertTrue(tracer.lines[3].hasPrefix("call setns(pid:[\(Namespace.ownInode)]"))
        XCTAssertEqual(tracer.lines[4], "failed nothing")
        XCTAssertEqual(tracer.lines[5], "nested 2 2")
    }

    func testChildrenNamespaceFollowsTheTarget() throws {
        try requireRoot("unshare + setns")
        XCTAssertEqual(session.childrenNamespace?.inode, Namespace.ownInode)
        let ns = try session.newNamespace()
        try session.setChildrenNamespace(ns)
        XCTAssertEqual(session.childrenNamespace, ns)
        try session.setChildrenNamespaceToOwn()
        try session.unsharePID()
        XCTAssertNil(session.childrenNamespace, "no handle until the first process exists")
        let first = try spawnSleep()
        XCTAssertEqual(session.childrenNamespace, try first.namespace())
        try session.setChildrenNamespaceToOwn()
        XCTAssertEqual(session.childrenNamespace?.inode, Namespace.ownInode)
    }

    func testSettingChildrenNamespaceToOwnIsAccepted() throws {
        try requireRoot("setns")
        try session.setChildrenNamespace(try Namespace.own())
        XCTAssertEqual(session.childrenTarget, .own, "setns to the own namespace is `setns --self`")
        XCTAssertEqual(try spawnSleep().pids.count, 1)
    }
}
