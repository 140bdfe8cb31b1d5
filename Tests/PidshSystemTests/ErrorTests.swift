import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// Errors that explain the kernel's rules: the words users read, and that the real
/// kernel produces the errno each rule is written for.
final class ErrorTests: SystemTestCase {
    // MARK: wording (no kernel needed)

    func testDescriptionHasOperationErrnoNameAndExplanation() {
        let e = SystemError(errnoValue: ENOMEM, "clone(CLONE_NEWPID)", explanation: "because")
        XCTAssertEqual(e.errnoName, "ENOMEM")
        XCTAssertEqual(e.description, "clone(CLONE_NEWPID): ENOMEM (Cannot allocate memory)\n  because")
        let bare = SystemError(errnoValue: EPERM, "setns")
        XCTAssertEqual(bare.description, "setns: EPERM (Operation not permitted)")
        XCTAssertEqual(errnoName(ENOSPC), "ENOSPC")
        XCTAssertEqual(errnoName(4095), "errno 4095")
    }

    func testCloneErrorsExplainTheRules() {
        XCTAssertTrue(KernelRules.cloneError(ENOMEM, what: "fork").explanation?.contains("PID 1 has exited") ?? false)
        let nospc = KernelRules.cloneError(ENOSPC, what: "nest", depth: 33)
        XCTAssertTrue(nospc.explanation?.contains("\(KernelRules.maxNestingDepth) levels") ?? false)
        // The level is the operation's to name (`nest 40: clone(CLONE_NEWPID) for level 33
        // below the root namespace`): the explanation does not number it a second time.
        XCTAssertFalse(nospc.explanation?.contains("level 33") ?? true)
        XCTAssertEqual(KernelRules.maxNestingDepth, 32)
        XCTAssertTrue(KernelRules.cloneError(EPERM, what: "x").explanation?.contains("CAP_SYS_ADMIN") ?? false)
        XCTAssertTrue(KernelRules.cloneError(EAGAIN, what: "x").explanation?.contains("limit") ?? false)
        XCTAssertNil(KernelRules.cloneError(EIO, what: "x").explanation)
    }

    func testUnshareAndSetnsErrorsExplainTheRules() {
        let unshare = KernelRules.unshareError(EINVAL)
        XCTAssertEqual(unshare.errno.rawValue, EINVAL)
        XCTAssertTrue(unshare.explanation?.contains("setns --self") ?? false)
        XCTAssertTrue(KernelRules.setnsError(EINVAL, namespace: nil).explanation?.contains("descendants") ?? false)
        XCTAssertTrue(KernelRules.pendingUnshareError(ENOENT, what: "spawn").explanation?.contains("setns --self") ?? false)
    }

    func testExitStatusAndSignalNames() {
        XCTAssertEqual(ExitStatus.exited(0).shellCode, 0)
        XCTAssertTrue(ExitStatus.exited(0).succeeded)
        XCTAssertEqual(ExitStatus.signaled(SIGKILL).shellCode, 137)
        XCTAssertEqual(ExitStatus.signaled(SIGKILL).description, "killed by SIGKILL")
        XCTAssertEqual(ExitStatus.exited(4).description, "exited 4")
        XCTAssertEqual(Signals.number(of: "KILL"), SIGKILL)
        XCTAssertEqual(Signals.number(of: "sigterm"), SIGTERM)
        XCTAssertEqual(Signals.number(of: "9"), 9)
        XCTAssertEqual(Signals.number(of: "RTMIN+2"), 36)
        XCTAssertNil(Signals.number(of: "NOPE"))
        XCTAssertNil(Signals.number(of: "99"))
        XCTAssertEqual(Signals.name(of: SIGCHLD), "SIGCHLD")
        XCTAssertEqual(Signals.name(of: 35), "SIGRTMIN+1")
    }

    func testProcStatusParse() {
        let text = "Name:\tsleep\nState:\tS (sleeping)\nPid:\t42\nPPid:\t7\nNSpid:\t42\t3\t1\nSigBlk:\t0000000000010000\nSigCgt:\t0000000000000002\n"
        let s = ProcStatus.parse(Array(text.utf8))
        XCTAssertEqual(s.name, "sleep")
        XCTAssertEqual(s.stateLetter, "S")
        XCTAssertEqual(s.pid, 42)
        XCTAssertEqual(s.ppid, 7)
        XCTAssertEqual(s.nspid, [42, 3, 1])
        XCTAssertEqual(s.sigBlocked, 0x10000)
        XCTAssertTrue(s.catches(signal: SIGINT))
        XCTAssertFalse(s.catches(signal: SIGTERM))
        XCTAssertEqual(ProcFiles.inode(fromLink: "pid:[4026531836]"), 4026531836)
    }

    // MARK: the kernel produces what the rules say

    func testENOMEMFromDeadNamespace() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let ns = try session.newNamespace()
        let i = try XCTUnwrap(ns.initProcess)
        try i.signal(SIGKILL)
        _ = try i.wait(interruptible: false)
        let e = assertSystemError(ENOMEM, mentions: ["PID 1 has exited", ns.id]) { try spawnSleep(join: ns) }
        XCTAssertTrue(e?.operation.contains("sleep") ?? false, "names the program: \(String(describing: e))")
        // A new namespace inside the dead one fails the same way.
        assertSystemError(ENOMEM, mentions: ["no init"]) { try session.newNamespace(parent: ns) }
        XCTAssertEqual(descendants(of: getpid()), [])
    }

    func testENOSPCNamesTheLimit() throws {
        try requireRoot("clone(CLONE_NEWPID) x 33")
        let e = assertSystemError(ENOSPC, mentions: ["at most 32 levels"]) {
            try session.nest(levels: 33, mountPattern: nil, path: nil, arguments: [])
        }
        XCTAssertEqual(e?.operation, "nest 33: clone(CLONE_NEWPID) for level 33 below the root namespace")
    }

    func testENOSPCWhenSpawningBelowTheDeepestLevel() throws {
        try requireRoot("clone(CLONE_NEWPID) x 33")
        let namespaces = try session.nest(levels: 32, mountPattern: nil, path: nil, arguments: [])
        let deepest = try XCTUnwrap(namespaces.last)
        // Joining the 32nd level works; a new namespace below it does not.
        XCTAssertEqual(try spawnSleep(join: deepest).pids.count, 33)
        assertSystemError(ENOSPC, mentions: ["32"]) { try session.newNamespace(parent: deepest) }
    }

    func testUnshareTwiceIsEINVALWithSetnsSelf() throws {
        try requireRoot("unshare(CLONE_NEWPID)")
        try session.unsharePID()
        let e = assertSystemError(EINVAL, mentions: ["setns --self"]) { try session.unsharePID() }
        XCTAssertEqual(e?.operation, "unshare(CLONE_NEWPID)")
        try session.setChildrenNamespaceToOwn()
    }

    /// `setns` of another type moves no thread of pidsh's: each child joins it.
    func testSetnsOfAnotherTypeIsJoinedByEachChild() throws {
        try requireRoot("a UTS namespace")
        var o = NamespaceSpawnOptions()
        o.new = [.uts]
        let uts = try session.newNamespace(of: .uts, options: o)
        let mine = ProcFiles.readLink("/proc/self/ns/uts")
        try session.setChildrenNamespace(uts)
        XCTAssertEqual(session.childrenTarget, .own, "the PID namespace children go to is unchanged")
        let p = try spawnSleep()
        XCTAssertEqual(ProcFiles.readLink("/proc/\(p.pid)/ns/uts"), uts.id, "the child joined it")
        XCTAssertEqual(ProcFiles.readLink("/proc/self/ns/uts"), mine, "pidsh itself did not move")
        try session.setChildrenNamespaceToOwn()
        let q = try spawnSleep()
        XCTAssertEqual(ProcFiles.readLink("/proc/\(q.pid)/ns/uts"), mine, "back with setns --self")
    }
}
