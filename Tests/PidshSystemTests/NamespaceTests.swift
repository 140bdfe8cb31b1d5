import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// `ns new`, joining, unshare/setns of pid_for_children, and the death of a namespace.
final class NamespaceTests: SystemTestCase {
    func testNewNamespaceHasInitAsPID1() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace(name: "web")
        let initProcess = try XCTUnwrap(ns.initProcess)
        XCTAssertEqual(initProcess.nspid, 1)
        XCTAssertEqual(initProcess.nsppid, 0)
        XCTAssertEqual(initProcess.name, "pidsh-init")
        XCTAssertEqual(ns.name, "web")
        XCTAssertTrue(ns.alive)
        XCTAssertEqual(ns.level, 1)
        XCTAssertEqual(ns.id, "pid:[\(ns.inode)]")
        XCTAssertEqual(ProcFiles.readLink("/proc/\(initProcess.pid)/ns/pid"), ns.id)
        XCTAssertEqual(try ns.parent()?.inode, Namespace.ownInode)
        XCTAssertNil(try Namespace.own().parent(), "pidsh cannot see above its own namespace")
        XCTAssertEqual(ns.findInit()?.pid, initProcess.pid)
        XCTAssertTrue(session.namespaces.contains(ns))
        // The init catches SIGCHLD only (to reap), so the kernel drops every other
        // signal sent from outside but SIGKILL/SIGSTOP.
        let status = try XCTUnwrap(initProcess.procStatus())
        XCTAssertEqual(status.sigCaught & 0xffff_ffff, 1 << (SIGCHLD - 1))
    }

    func testFindInitFromProcWhenNotStartedByPidsh() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let initPid = try XCTUnwrap(ns.initProcess?.pid)
        let other = try Namespace.of(pid: initPid)
        XCTAssertNil(other.initProcess)
        XCTAssertEqual(other, ns)
        XCTAssertTrue(other.alive, "found alive through /proc")
        let found = try XCTUnwrap(other.findInit())
        XCTAssertEqual(found.pid, initPid)
        XCTAssertFalse(found.isChild)
    }

    func testJoinedProcessesAreNumberedAfterInit() throws {
        try requireRoot("setns(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let second = try spawnSleep(join: ns)
        let third = try spawnSleep(join: ns)
        XCTAssertEqual(second.nspid, 2, "`ns new` made PID 1 (the init): the first joined process is 2")
        XCTAssertEqual(third.nspid, 3)
        XCTAssertEqual(second.nsppid, 0, "its parent (pidsh) is outside the namespace")
        XCTAssertEqual(second.ppid, getpid(), "joined processes are pidsh's children")
        XCTAssertEqual(try second.namespace(), ns)
        XCTAssertEqual(try Namespace.own().inode, Namespace.ownInode, "joining does not move pidsh itself")
        // Spawning with --ns does not change where later plain children go.
        let plain = try spawnSleep()
        XCTAssertEqual(plain.pids, [plain.pid])
        XCTAssertEqual(session.childrenTarget, .own)
    }

    func testNamespaceInsideNamespace() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let outer = try session.newNamespace()
        let inner = try session.newNamespace(parent: outer)
        XCTAssertEqual(inner.level, 2)
        XCTAssertEqual(try inner.parent()?.inode, outer.inode)
        XCTAssertEqual(inner.ancestorInodes(), [outer.inode, Namespace.ownInode])
        let innerInit = try XCTUnwrap(inner.initProcess)
        XCTAssertTrue(innerInit.isChild, "still pidsh's child (made with CLONE_PARENT by the helper)")
        XCTAssertEqual(innerInit.ppid, getpid())
        XCTAssertEqual(innerInit.pids.count, 3)
        XCTAssertEqual(innerInit.nspid, 1)
        // In the outer namespace: its init is 1, the short-lived helper that made the
        // clone took 2, so inner's init is 3.
        XCTAssertEqual(innerInit.pids[1], 3)
        let p = try spawnSleep(join: inner)
        XCTAssertEqual(p.pids.count, 3)
        XCTAssertEqual(p.nspid, 2)
        XCTAssertEqual(p.pids[1], 4)
        XCTAssertEqual(zombieChildren(), [], "the helper was reaped")
    }

    func testUnsharePIDSemantics() throws {
        try requireRoot("unshare(CLONE_NEWPID)")
        let me = getpid()
        try session.unsharePID()
        XCTAssertEqual(session.childrenTarget, .unshared)
        XCTAssertNil(session.unsharedNamespace, "no handle before its first process")
        XCTAssertEqual(getpid(), me, "unshare does not move the caller")

        let first = try spawnSleep()
        XCTAssertEqual(first.nspid, 1, "the next child is PID 1 of the new namespace")
        XCTAssertEqual(first.nsppid, 0)
        let unshared = try XCTUnwrap(session.unsharedNamespace)
        XCTAssertEqual(unshared.initProcess?.pid, first.pid)
        XCTAssertEqual(try first.namespace(), unshared)

        let second = try spawnSleep()
        XCTAssertEqual(second.nspid, 2)
        XCTAssertEqual(try second.namespace(), unshared)
        XCTAssertEqual(getpid(), me)
        XCTAssertEqual(try Namespace.own().inode, Namespace.ownInode)

        assertSystemError(EINVAL, mentions: ["setns --self"]) { try session.unsharePID() }

        try session.setChildrenNamespaceToOwn()
        XCTAssertEqual(session.childrenTarget, .own)
        let back = try spawnSleep()
        XCTAssertEqual(back.pids, [back.pid], "after setns to the own namespace children are host-side again")

        // And a new unshare is allowed again from there.
        try session.unsharePID()
        let again = try spawnSleep()
        XCTAssertEqual(again.nspid, 1)
        XCTAssertNotEqual(try again.namespace(), unshared)
    }

    func testKernelItselfRefusesSecondUnshare() throws {
        try requireRoot("unshare(CLONE_NEWPID)")
        try session.unsharePID()
        _ = try spawnSleep()
        // Bypass the session's own check: the kernel's answer is the same.
        XCTAssertEqual(pidsh_unshare(PIDSH_CLONE_NEWPID, nil), -1)
        XCTAssertEqual(errno, EINVAL)
    }

    func testJoinWhileUnsharePendingExplainsSetnsSelf() throws {
        try requireRoot("unshare + setns")
        let ns = try session.newNamespace()
        try session.unsharePID()
        // No first process yet: pid_for_children cannot be opened to come back to.
        assertSystemError(ENOENT, mentions: ["setns --self"]) { try spawnSleep(join: ns) }
        XCTAssertEqual(zombieChildren(), [])
    }

    func testSetChildrenNamespaceSendsPlainChildrenThere() throws {
        try requireRoot("setns(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        try session.setChildrenNamespace(ns)
        XCTAssertEqual(session.childrenTarget, .joined(inode: ns.inode))
        XCTAssertEqual(session.childrenNamespace, ns)
        let a = try spawnSleep()
        let b = try spawnSleep()
        XCTAssertEqual([a.nspid, b.nspid], [2, 3])
        XCTAssertEqual(try a.namespace(), ns)
        try session.setChildrenNamespaceToOwn()
        XCTAssertEqual(try spawnSleep().pids.count, 1)
    }

    func testNewPIDChildInsideAJoinedNamespace() throws {
        try requireRoot("setns + clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        // With --ns: the kernel refuses CLONE_NEWPID once pid_for_children is not the
        // caller's own namespace, so CPidsh forks a helper into ns that makes the clone.
        let p = try spawnSleep(newPID: true, join: ns)
        XCTAssertEqual(p.nspid, 1)
        XCTAssertEqual(p.nsppid, 0)
        XCTAssertEqual(p.pids.count, 3)
        XCTAssertTrue(p.isChild)
        XCTAssertEqual(p.ppid, getpid())
        XCTAssertEqual(Spawner.pidOfPidfd(p.pidfd), p.pid)
        XCTAssertEqual(try p.namespace().parent()?.inode, ns.inode)
        // After setns: a plain --newpid spawn goes the same way.
        try session.setChildrenNamespace(ns)
        let q = try spawnSleep(newPID: true)
        XCTAssertEqual(q.nspid, 1)
        XCTAssertEqual(try q.namespace().parent()?.inode, ns.inode)
        try session.setChildrenNamespaceToOwn()
        XCTAssertEqual(zombieChildren(), [], "helpers reaped")
        // Exec failure through the helper is still reported and leaves nothing behind.
        assertSystemError(ENOENT, mentions: ["/nonexistent/prog"]) {
            try session.spawn({ var o = SpawnOptions(path: "/nonexistent/prog", arguments: ["prog"]); o.newPIDNamespace = true; o.joinNamespace = ns; return o }())
        }
        XCTAssertEqual(zombieChildren(), [])
    }

    func testNewPIDChildAfterUnshare() throws {
        try requireRoot("unshare + clone(CLONE_NEWPID)")
        try session.unsharePID()
        let first = try spawnSleep()
        let unshared = try XCTUnwrap(session.unsharedNamespace)
        let inner = try spawnSleep(newPID: true)
        XCTAssertEqual(inner.nspid, 1)
        XCTAssertEqual(inner.pids.count, 3)
        XCTAssertEqual(try inner.namespace().parent()?.inode, unshared.inode)
        XCTAssertEqual(first.nspid, 1)
        try session.setChildrenNamespaceToOwn()
    }

    func testKillingInitKillsEveryMemberAndClosesTheNamespace() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let initProcess = try XCTUnwrap(ns.initProcess)
        let members = try (0..<3).map { _ in try spawnSleep(join: ns) }
        // A grandchild too: a shell in the namespace that started a sleep of its own.
        var o = SpawnOptions(path: "/bin/sh", arguments: ["sh", "-c", "sleep 1000 & wait"])
        o.joinNamespace = ns
        let shell = try session.spawn(o)
        XCTAssertTrue(eventually { self.descendants(of: shell.pid).count == 1 })
        let grandchild = try XCTUnwrap(descendants(of: shell.pid).first)

        try initProcess.signal(SIGKILL)
        // The members are pidsh's own children: reap them first. (The dying init waits
        // for every zombie of its namespace to be reaped before it can end.)
        for m in members + [shell] {
            XCTAssertEqual(try m.wait(interruptible: false), .signaled(SIGKILL), "member \(m.pid) killed with its namespace")
        }
        XCTAssertEqual(try initProcess.wait(interruptible: false), .signaled(SIGKILL))
        XCTAssertTrue(eventually { ProcStatus.read(pid: grandchild.pid) == nil }, "grandchild gone too")
        XCTAssertFalse(ns.alive)

        let start = Date()
        assertSystemError(ENOMEM, mentions: ["init", "PID 1 has exited"]) { try spawnSleep(join: ns) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(session.childrenTarget, .own)
        // pidsh's own children still go to the host namespace afterwards.
        XCTAssertEqual(try spawnSleep().pids.count, 1)
        // Also setns into the dead namespace works, but the next fork fails ENOMEM.
        try session.setChildrenNamespace(ns)
        assertSystemError(ENOMEM, mentions: ["no init"]) { try spawnSleep() }
        try session.setChildrenNamespaceToOwn()
    }

    func testNamespaceOfEndedProcessFails() throws {
        let p = try session.spawn(SpawnOptions(path: "/bin/true", arguments: ["true"]))
        _ = try p.wait(interruptible: false)
        assertSystemError(ESRCH, mentions: ["ended"]) { try p.namespace() }
        assertSystemError(ESRCH, mentions: ["has ended"]) { try Namespace.of(pid: p.pid) }
    }
}
