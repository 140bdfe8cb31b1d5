import Foundation
import Glibc
import XCTest

/// Clean-up that cannot be turned against the host (docs/reliability.md, "Threat
/// model"): a root pidsh undoes what it made by handle, never by a path a local user
/// could swap; its janitor's records cannot be forged or overflowed; a SIGKILL at any
/// moment leaves nothing. Destructive cases run inside a throwaway mount namespace
/// (`unshare -m`) standing in for the host.
final class ReliabilityCleanupAttackTests: ReliabilityTestCase {
    /// Runs `script` with sh inside a new private mount namespace (the stand-in host);
    /// `$PIDSH` is the binary, `$D` the test's directory.
    func inThrowawayMountNamespace(_ script: String, file: StaticString = #filePath, line: UInt = #line) -> PidshRun {
        run(["/usr/bin/env", "PIDSH=\(Self.binary!)", "D=\(tempDir)", "/usr/bin/unshare", "-m", "--propagation", "private",
             "/bin/sh", "-c", "set -e\n" + script], timeout: 30, file: file, line: line)
    }

    /// The attacker's move while pidsh runs: rename the directory it owns and put a
    /// symlink to the victim in its place.
    static let swapParent = """
    while ! grep -q READY "$D/out"; do sleep 0.02; done
    mv "$D/att" "$D/att2"
    ln -s "$D/victim" "$D/att"
    touch "$D/go"
    """

    func prepareAttack() {
        mkdir(tempDir + "/att", 0o755)
        chown(tempDir + "/att", 65534, 65534)
        mkdir(tempDir + "/victim", 0o755)
        mkdir(tempDir + "/victim/m", 0o755)
    }

    /// Item 1, default mode: at exit pidsh removes its own directory through its parent's
    /// descriptor, not `/victim/m` through the swapped path.
    func testTearDownIgnoresASwappedParentDirectory() throws {
        try requireRoot("a root pidsh against a user's directory")
        prepareAttack()
        let r = inThrowawayMountNamespace("""
        "$PIDSH" -c 'mount proc "$1"; echo READY; while ! test -e "$2" { sleep 0.02 }' "$D/att/m" "$D/go" > "$D/out" 2>&1 &
        p=$!
        \(Self.swapParent)
        wait $p; echo status=$?
        """)
        XCTAssertEqual(r.fields["status"], "0", r.transcript)
        XCTAssertTrue(exists(tempDir + "/victim/m"), "the victim's directory is untouched\n\(r.transcript)")
        XCTAssertFalse(exists(tempDir + "/att2/m"), "pidsh's own directory is removed where it really is")
    }

    /// Item 1, --shared-mounts: the host's tmpfs on /victim/m stays mounted, and pidsh's
    /// procfs (now at /att2/m) is unmounted by handle.
    func testSharedTearDownUnmountsItsOwnMountNotTheVictims() throws {
        try requireRoot("mounts in a throwaway mount namespace")
        prepareAttack()
        let r = inThrowawayMountNamespace("""
        mount -t tmpfs victimfs "$D/victim/m"
        echo canary > "$D/victim/m/canary"
        "$PIDSH" --shared-mounts -c 'mount proc "$1"; echo READY; while ! test -e "$2" { sleep 0.02 }' "$D/att/m" "$D/go" > "$D/out" 2>&1 &
        p=$!
        \(Self.swapParent)
        wait $p; echo status=$?
        echo victim=$(awk -v m="$D/victim/m" '$2 == m {print $3}' /proc/self/mounts)
        echo canary=$(cat "$D/victim/m/canary")
        echo procleft=$(awk -v d="$D" '$3 == "proc" && index($2, d) == 1 {print $2}' /proc/self/mounts)
        echo att2m=$(test -e "$D/att2/m" && echo yes || echo no)
        """)
        XCTAssertEqual(r.fields["status"], "0", r.transcript)
        XCTAssertEqual(r.fields["victim"], "tmpfs", "the host's tmpfs is still mounted\n\(r.transcript)")
        XCTAssertEqual(r.fields["canary"], "canary")
        XCTAssertEqual(r.fields["procleft"], "", "pidsh's procfs is not left mounted")
        XCTAssertEqual(r.fields["att2m"], "no", "and its directory is removed")
    }

    /// Item 2: a path holding a newline and what looked like a journal line forges no
    /// record. The user makes the directories `a<newline>+d $D`, so that pidsh's mount
    /// point `$D/a<newline>+d $D/victimdir` once read as the line `+d $D/victimdir`.
    func testANewlineInAPathForgesNoJanitorRecord() throws {
        try requireRoot("mounts in a throwaway mount namespace")
        let d = tempDir
        mkdir(d + "/victimdir", 0o755)
        mkdir(d + "/vm", 0o755)
        let r = inThrowawayMountNamespace("""
        mount -t tmpfs victimfs "$D/vm"
        forged_d="$D/a
        +d $D"
        forged_m="$D/b
        +m $D"
        mkdir -p "$forged_d" "$forged_m"
        "$PIDSH" -c 'mount proc "$1"' "$forged_d/victimdir"; echo status=$?
        "$PIDSH" --shared-mounts -c 'mount proc "$1"' "$forged_m/vm"; echo status2=$?
        echo victimdir=$(test -d "$D/victimdir" && echo yes || echo no)
        echo vm=$(awk -v m="$D/vm" '$2 == m {print $3}' /proc/self/mounts)
        echo own=$(test -e "$forged_d/victimdir" || test -e "$forged_m/vm" && echo left || echo removed)
        """)
        XCTAssertEqual(r.fields["status"], "0", r.transcript)
        XCTAssertEqual(r.fields["status2"], "0", r.transcript)
        XCTAssertEqual(r.fields["victimdir"], "yes", "no forged `+d` removed it\n\(r.transcript)")
        XCTAssertEqual(r.fields["vm"], "tmpfs", "no forged `+m` unmounted it")
        XCTAssertEqual(r.fields["own"], "removed", "pidsh's own directories are removed")
    }

    /// Item 3: after thousands of mount/umount cycles on a long path the janitor still
    /// knows the last mount point (undone records are dropped, nothing overflows): a
    /// SIGKILL leaves nothing.
    func testTheJanitorKeepsUpWithThousandsOfCycles() throws {
        try requireRoot("procfs mounts")
        let long = tempDir + "/" + String(repeating: "x", count: 200)
        guard let run = startPidsh("""
        let ns = ns new
        repeat 2600 { mount proc \(long) --ns $ns; umount \(long) }
        mount proc \(tempDir)/final --ns $ns
        echo READY
        sleep 100
        """), waitForOutput(run, "READY", timeout: 20) else { return }
        kill(run.pid, SIGKILL)
        XCTAssertEqual(waitForExit(run), 137)
        XCTAssertTrue(waitUntil(timeout: 3) { !exists(tempDir + "/final") && !exists(long) }, "the janitor removed the last mount point")
    }

    /// Item 3: the janitor's table is bounded, and pidsh refuses past it with a clear
    /// error instead of losing a record.
    func testPastTheJanitorsCapacityAMountIsRefused() throws {
        try requireRoot("procfs mounts")
        let r = pidsh("""
        let ns = ns new
        for i in 0..2100 { mount proc \(tempDir)/cap$i --ns $ns }
        """)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertLocatedError(r.stderr, at: "-c:2:31", "pidsh holds at most 4096 mounts and mount points at once")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: tempDir))?.filter { $0.hasPrefix("cap") } ?? []
        XCTAssertEqual(left, [], "everything made before the refusal is undone")
    }

    /// Item 4: SIGKILL at random moments while spawn, mount and nest make mount points
    /// and mount on them: 0 directories, 0 mounts, 0 processes left in 30 trials (and
    /// no session cgroup, which the janitor makes and ends too).
    func testSIGKILLAtAnyMomentLeavesNothing() throws {
        try requireRoot("procfs mounts")
        let loops = [
            "let i = 0\nwhile true { let c = spawn --newpid --mount-proc $D/s$i true; wait $c; umount $D/s$i; let i = $i + 1 }",
            "let ns = ns new\nlet i = 0\nwhile true { mount proc $D/m$i --ns $ns; let i = $i + 1 }",
            "let i = 0\nwhile true { let l = nest 30 --mount-proc $D/n$i-{level}; kill $l.first; let i = $i + 1 }",
        ]
        var trials: [String] = []
        for trial in 0..<30 {
            let d = tempDir + "/t\(trial)"
            mkdir(d, 0o755)
            let code = loops[trial % 3].replacingOccurrences(of: "$D", with: d)
            guard let run = startPidsh(code) else { return }
            usleep(UInt32.random(in: 20_000...250_000))
            kill(run.pid, SIGKILL)
            _ = waitForExit(run)
            let cgroup = "/sys/fs/cgroup/unified/pidsh-\(run.pid)"
            let clean = waitUntil(timeout: 3) {
                mountPoints(under: d).isEmpty && ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []).isEmpty
                    && leftoverProcesses().isEmpty && !FileManager.default.fileExists(atPath: cgroup)
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []
            if !clean { trials.append("trial \(trial): dirs \(entries), mounts \(mountPoints(under: d)), processes \(leftoverProcesses().map { $0.name }), cgroup left: \(FileManager.default.fileExists(atPath: cgroup))\n\(run.transcript)") }
        }
        XCTAssertEqual(trials, [], "left behind")
    }

    /// Item 5: a spawn whose exec fails after its procfs was mounted: the mount and the
    /// directory are undone at exit, shared or not.
    func testAFailedExecAfterTheMountLeavesNothing() throws {
        try requireRoot("procfs mounts")
        for flags in [[], ["--shared-mounts"]] {
            let p = tempDir + "/x\(flags.count)"
            let r = pidsh("""
            try spawn --newpid --mount-proc \(p) /etc/hostname
            echo during=$(awk '$2 == "\(p)" {print $3}' /proc/self/mounts)
            """, flags: flags)
            XCTAssertEqual(r.status, 0, r.transcript)
            assertContains(r.stderr, "/etc/hostname")
            XCTAssertEqual(r.fields["during"], "proc", "the mount was made before the exec failed\n\(r.transcript)")
            XCTAssertFalse(exists(p), "\(flags): the directory is removed")
            XCTAssertFalse(hostMountPoints().contains(p), "\(flags): nothing stays mounted")
        }
    }

    /// Item 7: two sessions on one mount point. The one that made it exits first; the
    /// other's mount must survive (an rmdir would detach it in every mount namespace),
    /// and the directory goes once the last user has let go.
    func testTwoSessionsShareAMountPoint() throws {
        try requireRoot("procfs mounts")
        let shared = tempDir + "/shared"
        guard let a = startPidsh("""
        let ns = ns new
        mount proc \(shared) --ns $ns
        echo READY
        while ! test -e \(tempDir)/go-a { sleep 0.02 }
        """), waitForOutput(a, "READY") else { return }
        guard let b = startPidsh("""
        let c = spawn --newpid sleep 100
        mount proc \(shared) --ns $c
        echo READY
        while ! test -e \(tempDir)/go-b { sleep 0.02 }
        echo init=$(cat \(shared)/1/comm)
        """), waitForOutput(b, "READY") else { return }
        FileManager.default.createFile(atPath: tempDir + "/go-a", contents: nil)
        XCTAssertEqual(waitForExit(a), 0, a.transcript)
        XCTAssertTrue(exists(shared), "the directory stays while the other session mounts there")
        FileManager.default.createFile(atPath: tempDir + "/go-b", contents: nil)
        XCTAssertEqual(waitForExit(b), 0, b.transcript)
        XCTAssertEqual(b.fields["init"], "sleep", "the second session's mount survived the first one's exit\n\(b.transcript)")
        XCTAssertTrue(waitUntil(timeout: 3) { !exists(shared) }, "the last user gone, the directory goes")
    }

    /// Item 7: two runs of the same tutorial at once both pass (they share /tmp/proc{level}).
    func testTwoRunsOfATutorialAtOnceBothPass() throws {
        try requireRoot("the tutorials mount procfs")
        let example = GoldenExamplesTests.examples + "/02-nested-namespaces.pidsh"
        for round in 0..<4 {
            guard let one = start([Self.binary!, "test", example]), let two = start([Self.binary!, "test", example]) else { return }
            XCTAssertEqual(waitForExit(one), 0, "round \(round)\n\(one.transcript)")
            XCTAssertEqual(waitForExit(two), 0, "round \(round)\n\(two.transcript)")
        }
        XCTAssertTrue(waitUntil(timeout: 3) { !(0..<5).contains { exists("/tmp/proc\($0)") } }, "the tutorial's mount points are gone")
    }
}
