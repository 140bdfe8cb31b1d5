import CPidsh
import Foundation
import Glibc
@testable import PidshSystem
import XCTest

/// MountLog: procfs mounts of a namespace, mount points that never follow a symlink,
/// and clean-up that undoes everything in reverse.
final class MountTests: SystemTestCase {
    func testMountProcOfNamespaceShowsItsPIDs() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let member = try spawnSleep(join: ns)
        let mountPoint = path("nsproc")
        try session.mounts.mountProc(at: mountPoint, namespace: ns)
        XCTAssertEqual(mountPoints(under: tempDir), [mountPoint])
        XCTAssertEqual(numericEntries(mountPoint), [1, 2], "init and the member; the mount helper has already gone")
        XCTAssertEqual(try String(contentsOfFile: mountPoint + "/2/comm", encoding: .utf8), "sleep\n")
        XCTAssertEqual(member.nspid, 2)
        XCTAssertEqual(session.mounts.entries, [.directory(mountPoint), .mount(mountPoint)])
        XCTAssertEqual(zombieChildren(), [], "the helper that mounted was reaped")

        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertEqual(mountPoints(under: tempDir), [], "unmounted")
        XCTAssertFalse(exists(mountPoint), "the directory pidsh created is removed")
        XCTAssertEqual(session.mounts.entries, [])
    }

    func testMountProcOfOwnNamespace() throws {
        try requireRoot("mount proc")
        let mountPoint = path("own")
        try session.mounts.mountProc(at: mountPoint, namespace: nil)
        XCTAssertTrue(numericEntries(mountPoint).contains(Int(getpid())), "pidsh's own namespace: pidsh is in it")
    }

    func testMountOnExistingDirectoryKeepsTheDirectory() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let dir = path("existing")
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        try session.mounts.mountProc(at: dir, namespace: ns)
        XCTAssertEqual(numericEntries(dir), [1])
        XCTAssertEqual(session.mounts.entries, [.mount(dir)], "no directory recorded: pidsh did not make it")
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertTrue(exists(dir), "a directory pidsh did not create is left alone")
    }

    func testRelativeMountPoint() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let old = FileManager.default.currentDirectoryPath
        XCTAssertEqual(chdir(tempDir), 0)
        defer { chdir(old) }
        try session.mounts.mountProc(at: "rel", namespace: ns)
        XCTAssertEqual(mountPoints(under: tempDir), [path("rel")])
        XCTAssertEqual(session.mounts.mountedPaths, [path("rel")], "recorded as an absolute path")
    }

    func testSymlinkAtMountPointIsRefusedNotFollowed() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let target = path("target")
        XCTAssertEqual(mkdir(target, 0o755), 0)
        XCTAssertEqual(symlink(target, path("link")), 0)
        assertUsageError(mentions: ["symbolic link"]) { try session.mounts.mountProc(at: path("link"), namespace: ns) }
        XCTAssertEqual(mountPoints(under: tempDir), [], "nothing mounted, least of all at the link's target")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), [])
        XCTAssertEqual(session.mounts.entries, [])
    }

    func testDanglingSymlinkIsNotFollowedToCreateItsTarget() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let target = path("would-be-created")
        XCTAssertEqual(symlink(target, path("dangling")), 0)
        assertUsageError(mentions: ["symbolic link"]) { try session.mounts.mountProc(at: path("dangling"), namespace: ns) }
        XCTAssertFalse(exists(target), "mkdir must not go through the link")
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testSymlinkInTheMiddleOfThePathIsRefused() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let real = path("real")
        XCTAssertEqual(mkdir(real, 0o755), 0)
        XCTAssertEqual(symlink(real, path("via")), 0)
        assertUsageError(mentions: ["symbolic link", "via"]) { try session.mounts.mountProc(at: path("via/p"), namespace: ns) }
        XCTAssertFalse(exists(real + "/p"), "no directory made through the link")
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testDotDotIsRefused() throws {
        try requireRoot("mount proc")
        XCTAssertEqual(mkdir(path("a"), 0o755), 0)
        assertUsageError(mentions: ["`..`"]) { try session.mounts.mountProc(at: path("a/../p"), namespace: nil) }
        assertUsageError(mentions: ["`..`"]) { try session.mounts.prepareMountPoint(path("..")) }
        XCTAssertFalse(exists(path("p")))
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testMissingParentIsRefused() throws {
        try requireRoot("mount proc")
        assertUsageError(mentions: ["does not exist", "missing"]) {
            try session.mounts.mountProc(at: path("missing/p"), namespace: nil)
        }
        XCTAssertFalse(exists(path("missing")), "only the last component is ever created")
        XCTAssertEqual(session.mounts.entries, [])
    }

    func testFileAsMountPointIsRefused() throws {
        try requireRoot("mount proc")
        XCTAssertTrue(FileManager.default.createFile(atPath: path("file"), contents: Data()))
        assertUsageError(mentions: ["not a directory"]) { try session.mounts.mountProc(at: path("file"), namespace: nil) }
        assertUsageError(mentions: ["not a directory"]) { try session.mounts.mountProc(at: path("file/p"), namespace: nil) }
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testMountPointOwnedBySomeoneElseIsRefused() throws {
        try requireRoot("chown")
        let dir = path("theirs")
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        XCTAssertEqual(chown(dir, 65534, 65534), 0)
        assertUsageError(mentions: ["belongs to uid 65534"]) { try session.mounts.mountProc(at: dir, namespace: nil) }
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testEmptyAndRootAreRefused() throws {
        assertUsageError(mentions: ["empty"]) { try MountLog().prepareMountPoint("") }
        assertUsageError(mentions: ["/"]) { try MountLog().prepareMountPoint("/") }
        assertUsageError(mentions: ["NUL"]) { try MountLog().prepareMountPoint("/tmp/a\u{0}b") }
    }

    func testHostProcIsRefusedWhereverThePathLands() throws {
        // Resolved from the directory reached, not from the text: relative paths, `//`,
        // `.` and /proc's own subdirectories all land on /proc.
        for p in ["/proc", "/proc/", "//proc", "/./proc/.", "/proc/sys", "/proc/sys/kernel"] {
            assertUsageError(mentions: ["refusing to mount over /proc"]) { try session.mounts.prepareMountPoint(p) }
        }
        let old = FileManager.default.currentDirectoryPath
        XCTAssertEqual(chdir("/"), 0)
        defer { chdir(old) }
        assertUsageError(mentions: ["refusing to mount over /proc"]) { try session.mounts.prepareMountPoint("proc") }
        assertUsageError(mentions: ["refusing to mount over /proc/sys"]) { try session.mounts.prepareMountPoint("./proc/sys") }
        XCTAssertEqual(session.mounts.entries, [])
    }

    func testUnmount() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        try session.mounts.mountProc(at: path("p"), namespace: ns)
        try session.mounts.unmount(path("p"))
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertEqual(session.mounts.mountedPaths, [])
        assertSystemError(EINVAL, mentions: ["not a mount point"]) { try session.mounts.unmount(path("p")) }
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertFalse(exists(path("p")))
    }

    func testMountProcOfDeadNamespaceFailsAndUndoes() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        let initProcess = try XCTUnwrap(ns.initProcess)
        try initProcess.signal(SIGKILL)
        _ = try initProcess.wait(interruptible: false)
        assertSystemError(ENOMEM, mentions: ["no init"]) { try session.mounts.mountProc(at: path("dead"), namespace: ns) }
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertFalse(exists(path("dead")), "the directory made for the failed mount is removed")
    }

    func testUndoAllIsReverseOrderForStackedMounts() throws {
        try requireRoot("mount proc")
        let a = try session.newNamespace()
        let b = try session.newNamespace()
        let mountPoint = path("stack")
        try session.mounts.mountProc(at: mountPoint, namespace: a)
        _ = try spawnSleep(join: b)
        try session.mounts.mountProc(at: mountPoint, namespace: b)
        XCTAssertEqual(mountPoints(under: tempDir), [mountPoint, mountPoint])
        XCTAssertEqual(numericEntries(mountPoint), [1, 2], "the top mount is b's")
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertFalse(exists(mountPoint))
    }

    func testUndoAllDetachesABusyMount() throws {
        try requireRoot("mount proc")
        let ns = try session.newNamespace()
        try session.mounts.mountProc(at: path("busy"), namespace: ns)
        // A process with its cwd in the mount must not keep it alive.
        var o = sleepOptions()
        o.path = "/bin/sh"
        o.arguments = ["sh", "-c", "cd \(path("busy")) && exec sleep 1000"]
        let p = try session.spawn(o)
        XCTAssertTrue(eventually { ProcFiles.readLink("/proc/\(p.pid)/cwd")?.hasPrefix(self.path("busy")) ?? false })
        XCTAssertEqual(session.mounts.undoAll(), [])
        XCTAssertEqual(mountPoints(under: tempDir), [])
    }

    func testJournalMirrorsTheLog() throws {
        try requireRoot("mount proc")
        let journal = path("journal")
        let log = MountLog(sharedMounts: true, journalPath: journal)
        let ns = try session.newNamespace()
        try log.mountProc(at: path("j"), namespace: ns)
        defer { log.undoAll() }
        let entries = MountJournal.read(journal)
        XCTAssertEqual(entries.map { $0.kind }, [.directory, .mount])
        XCTAssertEqual(entries.map { $0.path }, [path("j"), path("j")])
        XCTAssertNotEqual(entries[0].ino, 0, "the directory is recorded by device and inode")
        XCTAssertNotEqual(entries[1].mountID, 0, "the mount by its unique id")
        // A record that does not match what is there now is left alone.
        let forged = [MountJournal.Entry(kind: .directory, path: path("j"), dev: entries[0].dev, ino: entries[0].ino + 1, mountID: 0),
                      MountJournal.Entry(kind: .mount, path: path("j"), dev: 0, ino: 0, mountID: entries[1].mountID + 1)]
        let refusals = MountJournal.undo(forged) { _ in XCTFail("nothing may be undone") }
        XCTAssertEqual(refusals.count, 2, "\(refusals)")
        XCTAssertEqual(mountPoints(under: tempDir), [path("j")])
        // Undoing the journal (as `pidsh cleanup` does) walks the paths again and acts only
        // where the mount id and the inode are what was recorded: first the mount...
        var lines: [String] = []
        XCTAssertEqual(MountJournal.undo([entries[1]]) { lines.append($0) }, [])
        XCTAssertEqual(lines, ["unmounted \(path("j"))"])
        // ...then the directory; not while the run still uses it (its shared flock)...
        XCTAssertEqual(MountJournal.undo([entries[0]]) { _ in }, ["\(path("j")): another pidsh session mounts there now: left to it"])
        // ...but once the run's death released its lock (its descriptors close with it).
        for case .directory(let d) in log.records where d.lockFD >= 0 { close(d.lockFD); d.lockFD = -1 }
        XCTAssertEqual(MountJournal.undo([entries[0]]) { lines.append($0) }, [])
        XCTAssertEqual(lines, ["unmounted \(path("j"))", "removed \(path("j"))"])
        XCTAssertEqual(mountPoints(under: tempDir), [])
        XCTAssertFalse(exists(path("j")))
        log.undoAll()
        XCTAssertFalse(exists(journal), "an empty log removes its journal")
    }
}
