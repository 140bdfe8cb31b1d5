import Foundation
import Glibc
import XCTest

/// Rootless: as uid 65534 pidsh enters a user namespace of its own. A script that names
/// setns/unshare/source (or --own-pid-namespace) makes it PID 1 of a PID namespace of
/// its own; the outer process (the PID the caller knows) waits for it, and a janitor
/// outside that namespace undoes what it made. Any other script keeps the host's PID
/// namespace. Every tutorial runs, and a killed rootless pidsh leaves nothing.
final class ReliabilityRootlessTests: ReliabilityTestCase {
    static let examples: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples").path
    }()

    func testEveryExampleRunsAsANormalUser() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let scripts = ((try? FileManager.default.contentsOfDirectory(atPath: Self.examples)) ?? []).filter { $0.hasSuffix(".pidsh") }.sorted()
        XCTAssertFalse(scripts.isEmpty)
        let binDir = URL(fileURLWithPath: Self.binary!).deletingLastPathComponent().path
        for name in scripts {
            let path = Self.examples + "/" + name
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            // What needs root says so, with the reason in the file (12: it makes cgroups).
            if text.contains("\n#test: skip-unless root") { continue }
            let t0 = Date()
            guard let run = start(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Self.binary!, path],
                                  env: ["PATH": binDir + ":/usr/local/bin:/usr/bin:/bin", "HOME": tempDir]) else { continue }
            let status = waitForExit(run, timeout: 60)
            print("reliability: rootless \(name): exit \(status.map(String.init) ?? "?") in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s")
            assertNoCrash(status, run.stderr, name)
            XCTAssertEqual(status, 0, "\(name) as uid 65534:\n\(run.transcript)")
            // Nothing it made stays: the directories it names (only ours: uid 65534's).
            for p in Self.pathsNamed(in: text) {
                var st = stat()
                if lstat(p, &st) == 0 { XCTAssertNotEqual(st.st_uid, 65534, "\(name) left \(p) behind") }
            }
        }
    }

    /// Rootless and as root the transcripts are the same, byte for byte, for every
    /// example that keeps the host's PID namespace. (03 uses `setns --self`, so rootless
    /// pidsh is PID 1 of a namespace of its own there, and its PIDs are small numbers
    /// that --stable-ids leaves alone, as it must for PID 1 inside any namespace. 07
    /// names `setns` too, but prints no PID of pidsh's.) The tutorials of the other
    /// namespace types pass as uid 65534 too, but 12, which makes cgroups: skipped, as
    /// it says.
    func testExamplesMatchTheirTranscriptsAsANormalUser() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let names = ["01-first-investigations", "02-nested-namespaces", "04-inspecting-namespaces", "05-invoke-ns-and-init",
                     "06-signals-and-init", "07-uts-hostname", "08-ipc-message-queue", "09-mount-propagation", "10-network-loopback",
                     "11-user-ids-and-capabilities", "12-cgroup-root", "13-time-offsets"]
        let r = run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Self.binary!, "test"]
                    + names.map { Self.examples + "/" + $0 + ".pidsh" }, timeout: 120)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stdout, "11 passed, 0 failed, 1 skipped")
        assertContains(r.stdout, "skip \(Self.examples)/12-cgroup-root.pidsh: needs root")
    }

    /// /tmp/... and /procN paths a script names, with {level} expanded.
    static func pathsNamed(in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: #"(/tmp/[A-Za-z0-9_.{}-]+|/proc[0-9][A-Za-z0-9_{}-]*)"#)
        let ns = text as NSString
        var out: Set<String> = []
        for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let p = ns.substring(with: m.range)
            if p.contains("{level}") { for k in 0..<33 { out.insert(p.replacingOccurrences(of: "{level}", with: String(k))) } }
            else { out.insert(p) }
        }
        return out.sorted()
    }

    /// A rootless run with a namespace, a procfs mount and a directory, waiting in sleep:
    /// PID 1 of a PID namespace of its own (`ownNamespace`), or in the host's.
    func startRootless(_ d: String, sleep s: String, ownNamespace: Bool = true) -> (BackgroundRun, [ProcStat])? {
        guard let run = startPidsh("""
        let a = ns new
        let c = spawn --newpid sleep \(s)
        mount proc \(d)/rl --ns $a
        echo "self=$$"
        echo READY
        sleep \(s)
        """, flags: ownNamespace ? ["--own-pid-namespace"] : [], asNobody: true), waitForOutput(run, "READY") else { return nil }
        XCTAssertTrue(exists(d + "/rl"))
        let tree = tree(of: run.pid)
        let names = tree.map { procComm($0.pid) }
        if ownNamespace {
            XCTAssertEqual(run.fields["self"], "1", "rootless with --own-pid-namespace, pidsh is PID 1 of its own namespace")
            XCTAssertEqual(names.first, "pidsh-outer", "the PID the caller knows is the outer process")
        } else {
            XCTAssertEqual(run.fields["self"], String(run.pid), "rootless, pidsh stays in the host's PID namespace")
            XCTAssertEqual(names.first, "pidsh")
        }
        XCTAssertTrue(names.contains("pidsh-janitor") && names.contains("pidsh") && names.contains("pidsh-init"), "\(names)")
        return (run, tree)
    }

    func testSigkillOfARootlessPidshInTheHostsNamespaceLeavesNothing() throws {
        try sigkillThePIDTheCallerKnows(ownNamespace: false, sleep: marker(7604), what: "in the host's PID namespace, pidsh")
    }

    /// SIGKILL to the process the caller started (pidsh, or the outer process when pidsh
    /// has a PID namespace of its own): within a second nothing of the run remains.
    func sigkillThePIDTheCallerKnows(ownNamespace: Bool, sleep: String, what: String) throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let d = nobodyDirectory()
        guard let (run, before) = startRootless(d, sleep: sleep, ownNamespace: ownNamespace) else { return }
        let t0 = Date()
        kill(run.pid, SIGKILL)
        let clean = waitUntil(timeout: 1) { !before.contains(where: isAlive) && !exists(d + "/rl") }
        print("reliability: rootless, \(what) SIGKILLed: \(before.count) processes gone, directory removed in \(String(format: "%.3f", Date().timeIntervalSince(t0))) s")
        XCTAssertTrue(clean, "alive: \(before.filter(isAlive)), dir: \(exists(d + "/rl"))")
        XCTAssertEqual(waitForExit(run), 137)
    }

    func procComm(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testSigkillOfTheOuterProcessLeavesNothing() throws {
        try sigkillThePIDTheCallerKnows(ownNamespace: true, sleep: marker(7601), what: "outer pidsh")
    }

    func testSigkillOfTheInnerPidshLeavesNothingAndSaysWhy() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let d = nobodyDirectory()
        guard let (run, before) = startRootless(d, sleep: marker(7602)) else { return }
        guard let inner = before.first(where: { procComm($0.pid) == "pidsh" }) else { return XCTFail("no inner pidsh") }
        kill(inner.pid, SIGKILL)
        XCTAssertEqual(waitForExit(run, timeout: 5), 137, "the outer process exits as pidsh did")
        // The outer process waited for the janitor: clean before it exited.
        XCTAssertFalse(exists(d + "/rl"))
        XCTAssertTrue(waitUntil(timeout: 1) { !before.contains(where: isAlive) }, "\(before.filter(isAlive))")
    }

    func testSigtermIsForwardedAndCleanUpRuns() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let d = nobodyDirectory()
        guard let (run, before) = startRootless(d, sleep: marker(7603)) else { return }
        kill(run.pid, SIGTERM)
        XCTAssertEqual(waitForExit(run, timeout: 5), 143, run.transcript)
        assertContains(run.stderr, "interrupted by SIGTERM")
        XCTAssertFalse(exists(d + "/rl"))
        XCTAssertTrue(waitUntil(timeout: 1) { !before.contains(where: isAlive) }, "\(before.filter(isAlive))")
    }

    /// Where the kernel refuses an unprivileged user namespace, pidsh says so and why.
    /// A chroot makes unshare(CLONE_NEWUSER) fail EPERM (the sysctls cannot be turned
    /// off here without disturbing every other test).
    func testARefusedUserNamespaceIsExplained() throws {
        try requireSetpriv()
        try requireRoot("to set up the chroot")
        let root = tempDir + "/chroot"
        mkdir(root, 0o755)
        func inChroot(_ script: String) -> PidshRun {
            run(["/usr/bin/unshare", "--mount", "/bin/sh", "-c",
                 "mount --make-rprivate / && mount --rbind / \(root) && exec chroot \(root) /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups \(Self.binary!) -c '\(script)'"])
        }
        // A script that only prints needs no session (SessionUse): it runs all the same.
        let printing = inChroot("echo started")
        XCTAssertEqual(printing.status, 0, printing.transcript)
        XCTAssertEqual(printing.stdout, "started\n")
        // One that runs a program needs the user namespace, which the kernel refuses.
        let r = inChroot("true; ls / >/dev/null; echo started")
        XCTAssertEqual(r.status, 70, "documented: 70 could not start a session\n\(r.transcript)")
        XCTAssertEqual(r.stdout, "")
        assertContains(r.stderr, "pidsh: cannot start a session: unshare(CLONE_NEWUSER): EPERM")
        assertContains(r.stderr, "as `unshare -r`")
        assertContains(r.stderr, "in a chroot")
        assertContains(r.stderr, "Run pidsh as root")
        rmdir(root)
    }
}
