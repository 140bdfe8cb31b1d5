import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// ProcTable: one snapshot of the host's /proc, viewed from any namespace below pidsh's.
final class ProcTableTests: SystemTestCase {
    func testViewFromNamespaceShowsOnlyItsMembersWithTheirPIDsThere() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let a = try session.newNamespace()
        let b = try session.newNamespace()
        let a2 = try spawnSleep(join: a)
        let b2 = try spawnSleep(join: b)
        let b3 = try spawnSleep(join: b)

        let table = ProcTable.snapshot()
        let level = try XCTUnwrap(a.level)
        let viewA = table.view(fromNamespace: a.inode, level: level)
        XCTAssertEqual(viewA.map { $0.pid }, [1, 2])
        XCTAssertEqual(viewA.map { $0.entry.pid }, [a.initProcess!.pid, a2.pid], "host PIDs behind them")
        XCTAssertEqual(viewA.map { $0.ppid }, [0, 0], "both parents (pidsh) are outside: PPID 0 across the boundary")
        XCTAssertEqual(viewA[1].entry.commandLine, ["sleep", "1000"])
        XCTAssertEqual(viewA[0].pids, [1])

        let viewB = table.view(fromNamespace: b.inode, level: try XCTUnwrap(b.level))
        XCTAssertEqual(viewB.map { $0.pid }, [1, 2, 3])
        XCTAssertEqual(viewB.map { $0.entry.pid }, [b.initProcess!.pid, b2.pid, b3.pid])
        let hostA = Set(viewA.map { $0.entry.pid }), hostB = Set(viewB.map { $0.entry.pid })
        XCTAssertTrue(hostA.isDisjoint(with: hostB), "sibling namespaces do not see each other")
    }

    func testOuterLevelSeesDescendantsWithItsOwnNumbers() throws {
        try requireRoot("nested namespaces")
        let namespaces = try session.nest(levels: 3, mountPattern: nil, path: nil, arguments: [])
        let table = ProcTable.snapshot()
        let outer = namespaces[0], middle = namespaces[1], inner = namespaces[2]

        let outerView = table.view(fromNamespace: outer.inode, level: 1)
        XCTAssertEqual(outerView.map { $0.pid }, [1, 2, 3])
        XCTAssertEqual(outerView.map { $0.ppid }, [0, 1, 2], "inside, each level's parent is visible")
        XCTAssertEqual(outerView.map { $0.entry.pid }, namespaces.map { $0.initProcess!.pid })
        XCTAssertEqual(outerView[2].pids, [3, 2, 1], "its PIDs from the viewing namespace inward")

        let middleView = table.view(fromNamespace: middle.inode, level: 2)
        XCTAssertEqual(middleView.map { $0.pid }, [1, 2])
        XCTAssertEqual(middleView.map { $0.ppid }, [0, 1], "the middle init's parent is in the outer namespace: 0")

        let innerView = table.view(fromNamespace: inner.inode, level: 3)
        XCTAssertEqual(innerView.map { $0.pid }, [1])
        XCTAssertEqual(innerView[0].ppid, 0)

        // From pidsh's own namespace everything is visible with host PIDs.
        let ownView = table.view(fromNamespace: Namespace.ownInode, level: 0)
        let me = try XCTUnwrap(ownView.first { $0.pid == getpid() })
        XCTAssertEqual(me.pids, [getpid()])
        for ns in namespaces {
            XCTAssertTrue(ownView.contains { $0.pid == ns.initProcess!.pid })
        }
        let outerInit = try XCTUnwrap(ownView.first { $0.pid == outer.initProcess!.pid })
        XCTAssertEqual(outerInit.ppid, getpid())
    }

    func testVisibilityIsByNamespaceNotByDepth() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let a = try session.newNamespace()
        let b = try session.newNamespace()
        let deepInA = try session.newNamespace(parent: a)
        let table = ProcTable.snapshot(commandLines: false)
        let deep = try XCTUnwrap(table.entries.first { $0.pid == deepInA.initProcess!.pid })
        XCTAssertEqual(deep.level, 2)
        XCTAssertEqual(deep.nsInode, deepInA.inode)
        XCTAssertTrue(table.isVisible(deep, fromNamespace: a.inode, level: 1))
        XCTAssertFalse(table.isVisible(deep, fromNamespace: b.inode, level: 1), "b is a sibling of a")
        XCTAssertFalse(table.isVisible(deep, fromNamespace: deepInA.inode, level: 1), "wrong level for that namespace")
        XCTAssertTrue(table.isVisible(deep, fromNamespace: Namespace.ownInode, level: 0))
        XCTAssertEqual(table.chains[deepInA.inode], [Namespace.ownInode, a.inode, deepInA.inode])
    }

    func testNamespacesListsTheTree() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let a = try session.newNamespace()
        let inner = try session.newNamespace(parent: a)
        let member = try spawnSleep(join: inner)
        let infos = ProcTable.snapshot(commandLines: false).namespaces()
        let own = try XCTUnwrap(infos.first { $0.inode == Namespace.ownInode })
        XCTAssertEqual(own.level, 0)
        XCTAssertNil(own.parent)
        let infoA = try XCTUnwrap(infos.first { $0.inode == a.inode })
        XCTAssertEqual(infoA.level, 1)
        XCTAssertEqual(infoA.parent, Namespace.ownInode)
        XCTAssertEqual(infoA.processes.map { $0.pid }, [a.initProcess!.pid])
        let infoInner = try XCTUnwrap(infos.first { $0.inode == inner.inode })
        XCTAssertEqual(infoInner.level, 2)
        XCTAssertEqual(infoInner.parent, a.inode)
        XCTAssertEqual(infoInner.processes.map { $0.pid }.sorted(), [inner.initProcess!.pid, member.pid].sorted())
        // Sorted by level: parents before children.
        let levels = infos.map { $0.level }
        XCTAssertEqual(levels, levels.sorted())
    }

    func testEndedProcessesDropOut() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let p = try spawnSleep(join: ns)
        XCTAssertEqual(ProcTable.snapshot(commandLines: false).view(fromNamespace: ns.inode, level: 1).count, 2)
        try p.signal(SIGKILL)
        _ = try p.wait(interruptible: false)
        XCTAssertEqual(ProcTable.snapshot(commandLines: false).view(fromNamespace: ns.inode, level: 1).map { $0.pid }, [1])
    }
}
