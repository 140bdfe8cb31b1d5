import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// Session: the bookkeeping of everything made, the tracer's view of it, and tear-down.
final class SessionTests: SystemTestCase {
    final class RecordingTracer: Tracer {
        var calls: [SystemCall] = []
        func trace(_ calls: [SystemCall], context: TraceContext, lost: Int) { self.calls += calls }
        var names: [String] { calls.map { $0.name } }
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
        // What the C layer did, in order: the init (a fork: it never execs) and its
        // SIGCHLD handler, setns, the sleep (vfork-style: it execs), setns back, a failed
        // exec and its reaping, the outermost nest level (a fork) and the level it clones
        // (CLONE_VM).
        XCTAssertEqual(tracer.names, ["clone3", "rt_sigaction", "setns", "clone", "execve", "setns", "clone", "execve", "waitid", "clone3", "clone"],
                       tracer.calls.map { $0.line() }.joined(separator: "\n"))
        XCTAssertEqual(tracer.calls[1].line(), "rt_sigaction(SIGCHLD, {sa_handler=<logs the siginfo>, sa_mask=[], sa_flags=SA_RESTART|SA_SIGINFO}, NULL, 8) = 0   # in the child \(tracer.calls[0].result)")
        XCTAssertEqual(tracer.calls[2].line(), "setns(\(ns.fd)<\(ns.id)>, CLONE_NEWPID) = 0")
        XCTAssertTrue(tracer.calls[3].line().hasPrefix("clone(flags=CLONE_VM|CLONE_FILES|CLONE_PIDFD|CLONE_VFORK|SIGCHLD) = "), tracer.calls[3].line())
        XCTAssertEqual(tracer.calls[7].line(), "execve(\"/nonexistent\", []) = -1 ENOENT (No such file or directory)   # in the child \(tracer.calls[7].actorPID)")
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
