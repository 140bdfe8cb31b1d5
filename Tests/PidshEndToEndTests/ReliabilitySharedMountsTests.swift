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
        // A binary journal: each path is stored with its length, once for the directory
        // and once for the mount (no line of text a path could forge).
        let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: journal(run)))) ?? Data())
        XCTAssertEqual(Array(bytes.prefix(8)), Array("PIDSHJ2\n".utf8))
        for p in sharedPaths {
            let path = [UInt8](p.utf8)
            let needle = withUnsafeBytes(of: UInt32(path.count).littleEndian) { [UInt8]($0) } + path
            let hits = (0...(max(0, bytes.count - needle.count))).filter { Array(bytes[$0..<min(bytes.count, $0 + needle.count)]) == needle }
            XCTAssertEqual(hits.count, 2, "\(p): directory and mount")
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
            assertLocatedError(r.stderr, at: location, "refusing to mount over /proc")
        }
        XCTAssertEqual(hostMountPoints().filter { $0 == "/proc" }.count, before, "the host's /proc is untouched")
        XCTAssertEqual((try? String(contentsOfFile: "/proc/1/comm", encoding: .utf8))?.isEmpty, false)
    }

    /// Every way a target can land on /proc or under it is refused, shared or private:
    /// shared it would cover the host's /proc, private it would blind pidsh itself.
    func testEveryTargetThatLandsOnProcIsRefused() throws {
        try requireRoot("--shared-mounts")
        let before = hostMountPoints().filter { $0.hasPrefix("/proc") }.sorted()
        // (set-up, command, where the caret goes on line 2, what it says)
        let attempts: [(String, String, String, String)] = [
            ("true", "nest 1 --mount-proc /proc", "-c:2:21", "refusing to mount over /proc"),
            ("cd /", "spawn --newpid --mount-proc ./proc /bin/true", "-c:2:29", "refusing to mount over /proc"),
            ("let n = ns new", "mount proc /proc/sys --ns $n", "-c:2:12", "refusing to mount over /proc/sys"),
            ("true", "umount /proc", "-c:2:8", "refusing to unmount /proc"),
            ("cd /proc", "umount .", "-c:2:8", "refusing to unmount /proc"),
        ]
        let check = "spawn --wait true\necho procmounts=$(awk '$2 ~ /^\\/proc/ {print $2}' /proc/self/mounts | sort | tr '\\n' ' ')\necho self=$(cat /proc/$$/comm)"
        for flags in [[], ["--shared-mounts"]] {
            for (setup, command, location, message) in attempts {
                let plain = pidsh(setup + "\n" + command, flags: flags)
                XCTAssertEqual(plain.status, 1, "\(flags) \(command)\n\(plain.transcript)")
                assertLocatedError(plain.stderr, at: location, message)
                // After the refusal pidsh still sees its processes: its /proc is intact.
                let r = pidsh(setup + "\ntry " + command + "\n" + check, flags: flags)
                XCTAssertEqual(r.status, 0, "\(flags) \(command)\n\(r.transcript)")
                XCTAssertEqual((r.fields["procmounts"] ?? "").split(separator: " ").map(String.init), before,
                               "\(flags) \(command): nothing mounted on or under /proc, nothing unmounted\n\(r.transcript)")
                XCTAssertEqual(r.fields["self"], "pidsh", "pidsh still sees itself\n\(r.transcript)")
            }
        }
        XCTAssertEqual(hostMountPoints().filter { $0.hasPrefix("/proc") }, before, "the host's /proc is untouched")
    }
}
