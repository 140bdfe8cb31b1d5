import Foundation
import XCTest

/// `--trace`, `--narrate`, `--step` and `--stable-ids` on the real binary.
final class TranscriptFlagsTests: EndToEndTestCase {
    func testTraceShowsTheSystemCallsInOrderAndStablyAliased() throws {
        try requireRoot("new PID namespaces and procfs mounts")
        let code = """
        let ns = ns new
        spawn --ns $ns --wait true
        mount proc \(tempDir)/tp --ns $ns
        umount \(tempDir)/tp
        unshare --pid
        spawn --wait true
        setns --self
        kill $ns
        """
        let r = pidsh(code, flags: ["--trace", "--stable-ids"])
        expectSuccess(r)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        // What the C layer recorded, call by call: the init is a fork (it never execs)
        // that catches SIGCHLD (to reap),
        // a child that execs is cloned vfork-style, `mount proc --ns` runs a helper in
        // the namespace, the janitor makes the mount point. Descriptor numbers are
        // pidsh's own and shown as N here. As root with cgroup v2, each child is born in
        // the session's cgroup (clone3 CLONE_INTO_CGROUP, the cgroup's path naming
        // pidsh's PID, which then takes the first alias).
        let d = tempDir
        let inCgroup = lines.first { $0.hasPrefix("+ clone") }?.contains("CLONE_INTO_CGROUP") ?? false
        func pid(_ k: Int) -> String { "<pid#\(k + (inCgroup ? 1 : 0))>" }
        func vforkClone(_ flags: String) -> String {
            inCgroup ? "+ clone3({flags=\(flags)|CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=CG})"
                     : "+ clone(flags=\(flags)|SIGCHLD)"
        }
        let expected = [
            inCgroup ? "+ clone3({flags=CLONE_PIDFD|CLONE_NEWPID|CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=CG}) = \(pid(1))"
                     : "+ clone3({flags=CLONE_PIDFD|CLONE_NEWPID, exit_signal=SIGCHLD}) = \(pid(1))",
            "+ rt_sigaction(SIGCHLD, {sa_handler=<logs the siginfo>, sa_mask=[], sa_flags=SA_RESTART|SA_SIGINFO}, NULL, 8) = 0   # in the child \(pid(1))",
            "+ setns(N<pid:[<ns#1>]>, CLONE_NEWPID) = 0",
            vforkClone("CLONE_VM|CLONE_FILES|CLONE_PIDFD|CLONE_VFORK") + " = \(pid(2))",
            "+ execve(\"/usr/bin/true\", [\"true\"]) = 0   # in the child \(pid(2))",
            "+ setns(N<pid:[<ns#2>]>, CLONE_NEWPID) = 0",
            "+ waitid(P_PID, \(pid(2)), WNOHANG|WEXITED) = 0",
            "+ mkdirat(N<\(d)>, \"tp\", 0755) = 0   # in the janitor \(pid(3))",
            "+ setns(N<pid:[<ns#1>]>, CLONE_NEWPID) = 0",
            vforkClone("CLONE_VM|CLONE_PIDFD|CLONE_VFORK") + " = \(pid(4))",
            "+ fsopen(\"proc\", FSOPEN_CLOEXEC) = N   # in a helper \(pid(4))",
            "+ fsconfig(N, FSCONFIG_CMD_CREATE, NULL, NULL, 0) = 0   # in a helper \(pid(4))",
            "+ fsmount(N, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC) = N   # in a helper \(pid(4))",
            "+ move_mount(N, \"\", N<\(d)/tp>, \"\", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH) = 0   # in a helper \(pid(4))",
            "+ setns(N<pid:[<ns#2>]>, CLONE_NEWPID) = 0",
            "+ umount2(\".\", MNT_DETACH) = 0",
            "+ unshare(CLONE_NEWPID) = 0",
            vforkClone("CLONE_VM|CLONE_FILES|CLONE_PIDFD|CLONE_VFORK") + " = \(pid(5))",
            "+ execve(\"/usr/bin/true\", [\"true\"]) = 0   # in the child \(pid(5))",
            "+ waitid(P_PID, \(pid(5)), WNOHANG|WEXITED) = 0",
            "+ setns(N<pid:[<ns#2>]>, CLONE_NEWPID) = 0",
            "+ pidfd_send_signal(N<PID \(pid(1))>, SIGKILL, NULL, 0) = 0",
            "+ waitid(P_PID, \(pid(1)), WNOHANG|WEXITED) = 0",
            "+ unlinkat(N<\(d)>, \"tp\", AT_REMOVEDIR) = 0",
        ]
        // A blocking waitid(P_ALL) shows only when the child had not ended yet: timing.
        let shown = lines.filter { $0.hasPrefix("+ ") && !$0.hasPrefix("+ waitid(P_ALL") }.map { line -> String in
            var l = line.replacingOccurrences(of: "\"/bin/true\"", with: "\"/usr/bin/true\"")
            l = l.replacingOccurrences(of: #"cgroup=([0-9]+|<pid#[0-9]+>)</sys/fs/cgroup/[^>]*pidsh-<pid#1>>"#, with: "cgroup=CG", options: .regularExpression)
            // A descriptor whose number happens to be a PID's is aliased as that PID.
            l = l.replacingOccurrences(of: #"(?<=[(, ])<pid#[0-9]+>(?=<)"#, with: "N", options: .regularExpression)
            for pattern in [#"(?<=[(, ])[0-9]+(?=[<,])"#, #"(?<=/proc/self/fd/)[0-9]+"#, #"(?<== )[1-9][0-9]*(?=   #)"#] {
                l = l.replacingOccurrences(of: pattern, with: "N", options: .regularExpression)
            }
            return l
        }
        XCTAssertEqual(shown, expected, r.transcript)
        XCTAssertFalse(r.stderr.contains(where: { $0.isNumber }) && r.stderr.range(of: #"= [0-9]{3,}"#, options: .regularExpression) != nil,
                       "no host PID is left unaliased in the trace:\n\(r.stderr)")
    }

    func testNarrateAndStepPrintTheStoryAndTheStatements() throws {
        let script = tempDir + "/story.pidsh"
        try "#: The story begins.\necho one\n#: It goes on.\necho two\n".write(toFile: script, atomically: true, encoding: .utf8)
        let plain = run([Self.binary!, script])
        XCTAssertEqual(plain.stdout, "one\ntwo\n", "narration is silent by default")
        let narrated = run([Self.binary!, "--narrate", script])
        XCTAssertEqual(narrated.stdout, "The story begins.\none\nIt goes on.\ntwo\n")
        // stdin is not a terminal here: --step shows each statement and does not wait.
        let stepped = run([Self.binary!, "--step", script], timeout: 10)
        XCTAssertEqual(stepped.status, 0, stepped.transcript)
        XCTAssertEqual(stepped.stdout, "The story begins.\n[\(script):2] echo one\none\nIt goes on.\n[\(script):4] echo two\ntwo\n")
    }

    func testCheckParsesOnlyAndReportsEveryError() throws {
        let bad = tempDir + "/bad.pidsh"
        try "echo ran > \(tempDir)/ran\nif x {\nlet = 3\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = run([Self.binary!, "-n", bad])
        XCTAssertEqual(r.status, 2, r.transcript)
        assertContains(r.stderr, "\(bad):2:6: error:")
        assertContains(r.stderr, "\(bad):3:5: error:")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/ran"), "-n runs nothing")
        let good = tempDir + "/good.pidsh"
        try "echo ran > \(tempDir)/ran\n".write(toFile: good, atomically: true, encoding: .utf8)
        let g = run([Self.binary!, "--check", good])
        XCTAssertEqual(g.status, 0, g.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/ran"), "--check runs nothing")
    }
}
