import Foundation
import Glibc
import XCTest

/// `--shared-mounts`: pidsh mounts in the host's mount namespace, where other terminals
/// see them; they are undone at exit, by the janitor when pidsh is killed, and by
/// `pidsh cleanup` when both were killed. `mount proc /proc` is refused there.
final class ReliabilitySharedMountsTests: ReliabilityTestCase {
    /// A --shared-mounts run that mounts three procfs and a directory, then waits for
    /// the file `go` (or to be killed).
    func startSharedRun(_ d: String) -> BackgroundRun? {
        guard let run = startPidsh("""
        let a = ns new
        mount proc \(d)/sm --ns $a
        nest 2 --mount-proc \(d)/smn{level}
        echo "pidsh=$$"
        echo READY
        while ! test -e \(d)/go { sleep 0.02 }
        echo "done"
        """, flags: ["--shared-mounts"]), waitForOutput(run, "READY") else { return nil }
        return run
    }

    var sharedPaths: [String] { ["/sm", "/smn0", "/smn1"].map { tempDir + $0 } }

    func journal(_ run: BackgroundRun) -> String { "/run/pidsh/\(run.pid).journal" }

    func testMountsAreVisibleOnTheHostAndUndoneAtExit() throws {
        try requireRoot("--shared-mounts")
        let d = tempDir
        guard let run = startSharedRun(d) else { return }
        let mounts = hostMountPoints()
        for p in sharedPaths { XCTAssertTrue(mounts.contains(p), "\(p) is visible in the host's /proc/self/mounts") }
        let text = (try? String(contentsOfFile: journal(run), encoding: .utf8)) ?? ""
        for p in sharedPaths {
            assertContains(text, "mount\t\(p)\n")
            assertContains(text, "dir\t\(p)\n")
        }
        FileManager.default.createFile(atPath: d + "/go", contents: nil)
        XCTAssertEqual(waitForExit(run), 0, run.transcript)
        XCTAssertEqual(hostMountPoints().filter { $0.hasPrefix(d) }, [], "undone at exit")
        XCTAssertEqual(sharedPaths.filter(exists), [], "directories removed")
        XCTAssertFalse(exists(journal(run)), "the journal is gone")
    }

    func testTheJanitorUndoesHostMountsWhenPidshIsKilled() throws {
        try requireRoot("--shared-mounts")
        let d = tempDir
        guard let run = startSharedRun(d) else { return }
        let t0 = Date()
        kill(run.pid, SIGKILL)
        let clean = waitUntil(timeout: 1) {
            !hostMountPoints().contains(where: { $0.hasPrefix(d) }) && !sharedPaths.contains(where: exists) && !exists(journal(run))
        }
        print("reliability: --shared-mounts, pidsh SIGKILLed: janitor undid 3 host mounts + 3 directories + the journal in \(String(format: "%.3f", Date().timeIntervalSince(t0))) s")
        XCTAssertTrue(clean, "mounts \(hostMountPoints().filter { $0.hasPrefix(d) }), dirs \(sharedPaths.filter(exists))")
        XCTAssertEqual(waitForExit(run), 137)
    }

    func testCleanupUndoesWhatAKilledRunAndItsJanitorLeft() throws {
        try requireRoot("--shared-mounts")
        let d = tempDir
        guard let run = startSharedRun(d) else { return }
        guard let janitor = tree(of: run.pid).first(where: {
            (try? String(contentsOfFile: "/proc/\($0.pid)/comm", encoding: .utf8)) == "pidsh-janitor\n"
        }) else { return XCTFail("no janitor below pidsh \(run.pid)") }
        // The janitor first, so it cannot undo anything; then pidsh.
        kill(janitor.pid, SIGKILL)
        XCTAssertTrue(waitUntil(timeout: 2) { !isAlive(janitor) })
        kill(run.pid, SIGKILL)
        XCTAssertEqual(waitForExit(run), 137)
        XCTAssertTrue(waitUntil(timeout: 2) { tree(of: run.pid).isEmpty })
        // What the killed run left: its mounts (the namespaces are gone), its directories, its journal.
        for p in sharedPaths {
            XCTAssertTrue(hostMountPoints().contains(p), "\(p) left mounted by the killed run")
        }
        XCTAssertTrue(exists(journal(run)))

        let r = self.run([Self.binary!, "cleanup"])
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stdout, "run \(run.pid) is gone")
        for p in sharedPaths {
            assertContains(r.stdout, "unmounted \(p)\n")
            assertContains(r.stdout, "removed \(p)\n")
        }
        // Newest first: the nest's mounts before the first one, each unmounted before its rmdir.
        let lines = r.stdoutLines
        if let u = lines.firstIndex(of: "unmounted \(d)/sm"), let rm = lines.firstIndex(of: "removed \(d)/sm"),
           let u0 = lines.firstIndex(of: "unmounted \(d)/smn0") {
            XCTAssertLessThan(u, rm)
            XCTAssertLessThan(u0, u)
        }
        XCTAssertEqual(hostMountPoints().filter { $0.hasPrefix(d) }, [], "cleanup unmounted everything")
        XCTAssertEqual(sharedPaths.filter(exists), [], "and removed the directories")
        XCTAssertFalse(exists(journal(run)), "and the journal")
        let again = self.run([Self.binary!, "cleanup"])
        XCTAssertEqual(again.status, 0, again.transcript)
        assertNotContains(again.stdout, "\(run.pid)")
    }

    func testMountProcOverTheHostsProcIsRefused() throws {
        try requireRoot("--shared-mounts")
        let before = hostMountPoints().filter { $0 == "/proc" }.count
        for (code, location) in [("mount proc /proc", "-c:1:12"), ("mount proc /proc/", "-c:1:12"), ("mount proc //proc/.", "-c:1:12"),
                                 ("cd /\nmount proc proc", "-c:2:12"), ("cd /\nmount proc ./proc", "-c:2:12")] {
            let r = pidsh(code, flags: ["--shared-mounts"])
            XCTAssertEqual(r.status, 1, "\(code)\n\(r.transcript)")
            assertLocatedError(r.stderr, at: location, "refusing to mount over the host's /proc")
        }
        XCTAssertEqual(hostMountPoints().filter { $0 == "/proc" }.count, before, "the host's /proc is untouched")
        XCTAssertEqual((try? String(contentsOfFile: "/proc/1/comm", encoding: .utf8))?.isEmpty, false)
    }
}
