import Foundation
import XCTest

/// Namespaces of every type, made, joined and seen, against independent witnesses: the
/// test's own readlink of /proc/PID/ns/*, /proc/PID/uid_map and timens_offsets, the
/// host's hostname and System V queues, `ip link` inside.
final class NamespaceTypeTests: EndToEndTestCase {
    func link(_ pid: String?, _ type: String) -> String? {
        guard let pid else { return nil }
        return try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(type)")
    }

    func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(cString: buf)
    }

    /// UTS, IPC, network: made by spawn --new, seen inside, not outside.
    func testNewUTSIPCAndNetworkNamespaces(asNobody: Bool = false) throws {
        let before = hostname()
        let r = pidsh("""
        spawn --new uts --hostname pidsh-box --wait hostname
        let q = spawn --new ipc --wait sh -c 'ipcmk -Q >/dev/null; ipcs -q | grep -c "^0x"'
        spawn --new net --wait sh -c 'echo links=$(ip -o link | wc -l) $(ip -o link | grep -o "lo:.*state [A-Z]*" | grep -o "state [A-Z]*")'
        """, asNobody: asNobody)
        XCTAssertEqual(r.status, 0, r.transcript)
        let lines = r.stdoutLines
        XCTAssertEqual(lines.first, "pidsh-box", r.transcript)
        XCTAssertEqual(lines.dropFirst().first, "1", "one queue inside")
        XCTAssertEqual(r.fields["links"], "1 state DOWN", "only lo, down")
        XCTAssertEqual(hostname(), before, "the host's hostname is untouched")
        // The queue made inside is not in the host's IPC namespace (its /proc/sysvipc).
        XCTAssertEqual(((try? String(contentsOfFile: "/proc/sysvipc/msg", encoding: .utf8)) ?? "").split(separator: "\n").count, 1,
                       "no queue outside")
    }

    func testNewUTSIPCAndNetworkNamespacesRootless() throws {
        try requireSetpriv()
        try testNewUTSIPCAndNetworkNamespaces(asNobody: true)
    }

    /// `$p.ns.TYPE`, `ns id --type`, `.owner` and `ps -o netns` against readlink.
    func testNamespaceFieldsMatchTheKernelsLinks() throws {
        // The witnesses are readlinks of /proc/PID/ns/* from this test; a normal user's
        // pidsh runs in a user namespace of its own whose processes changed their uids
        // (no longer dumpable), so only root may read them from outside.
        try requireRoot("readlink of the links of processes in pidsh's user namespace")
        guard let run = ReliabilityProbe.start(self, """
        let c = spawn --new user,uts,net --map-root --hostname x sleep 100
        echo "pid=$c.pid"
        echo "net=$c.ns.net.id"
        echo "uts=$(ns id $c --type uts)"
        echo "owner=$c.ns.uts.owner.id"
        echo "user=$c.ns.user.id parent=$c.ns.user.parent.id type=$c.ns.net.type"
        echo "psnet=$(ps -o netns --mine | tail -n +2 | sort -u | tr '\\n' ' ')"
        echo READY
        sleep 100
        """) else { return }
        defer { run.stop() }
        let f = run.fields
        let pid = f["pid"]
        XCTAssertEqual(f["net"], link(pid, "net"), run.transcript)
        XCTAssertEqual(f["uts"], link(pid, "uts"))
        XCTAssertEqual(f["owner"], link(pid, "user"), "the UTS namespace made with a user namespace is owned by it")
        XCTAssertEqual(f["user"], "\(link(pid, "user") ?? "?") parent=\(link("self", "user") ?? "?") type=net")
        let netInode = link(pid, "net").map { String($0.dropFirst(5).dropLast()) } ?? "?"
        XCTAssertTrue((f["psnet"] ?? "").contains(netInode), "ps -o netns shows the inode readlink shows")
        XCTAssertEqual((try? String(contentsOfFile: "/proc/\(pid ?? "0")/uid_map", encoding: .utf8))?.split(separator: " ").filter { !$0.isEmpty }.joined(separator: " "),
                       "0 \(getuid()) 1\n", "--map-root: root inside is pidsh's user outside")
    }

    /// A time namespace's offsets, written before the first process enters.
    func testTimeOffsets() throws {
        guard let run = ReliabilityProbe.start(self, """
        let c = spawn --new time --time-offset monotonic=100,boottime=200.5 sleep 100
        echo "pid=$c.pid"
        echo READY
        sleep 100
        """) else { return }
        defer { run.stop() }
        let offsets = (try? String(contentsOfFile: "/proc/\(run.fields["pid"] ?? "0")/timens_offsets", encoding: .utf8)) ?? ""
        let words = offsets.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        XCTAssertEqual(words, ["monotonic", "100", "0", "boottime", "200", "500000000"], run.transcript)
        XCTAssertNotEqual(link(run.fields["pid"], "time"), link("self", "time"))
    }

    /// `spawn --join` (some types, or every one that differs), `setns` of another type
    /// and `spawn --enter` give the child the target's links.
    func testJoinsGiveTheTargetsLinks() throws {
        try requireRoot("readlink of the links of processes in pidsh's user namespace (see above)")
        let d = tempDir
        guard let run = ReliabilityProbe.start(self, """
        let t = spawn --new uts,net,ipc --hostname target sh -c 'cd \(d) && exec sleep 100'
        let a = spawn --join $t --type net sleep 100
        let b = spawn --join $t sleep 100
        let n = ns new --type net
        setns $n
        let s = spawn sleep 100
        setns --self
        let back = spawn sleep 100
        for kv in [["t", $t.pid], ["a", $a.pid], ["b", $b.pid], ["n", $n.init.pid], ["s", $s.pid], ["back", $back.pid]] { echo "$kv.first=$kv.last" }
        echo "enter=$(spawn --enter $t --wait sh -c 'hostname; pwd' | tr '\\n' ' ')"
        echo READY
        sleep 100
        """) else { return }
        defer { run.stop() }
        let f = run.fields
        let t = f["t"], a = f["a"], b = f["b"], n = f["n"], s = f["s"], back = f["back"]
        XCTAssertEqual(link(a, "net"), link(t, "net"), run.transcript)
        XCTAssertEqual(link(a, "uts"), link("self", "uts"), "--type net joins only the network namespace")
        for type in ["net", "uts", "ipc"] { XCTAssertEqual(link(b, type), link(t, type), "--join without --type: \(type)") }
        XCTAssertEqual(link(s, "net"), link(n, "net"), "setns of a network namespace: the next child joins it")
        XCTAssertEqual(link(back, "net"), link("self", "net"), "setns --self: back")
        XCTAssertEqual(f["enter"], "target \(d) ", "--enter: the target's hostname and working directory")
    }

    /// The kernel's rules, stated: joining one's own user namespace, and a companion
    /// without its namespace.
    func testRulesAreExplained() throws {
        let r = pidsh("""
        try spawn --join $$ --type user --wait true
        try spawn --hostname x --wait true
        try spawn --new bogus --wait true
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "EINVAL")
        assertContains(r.stderr, "re-entering one's own user namespace")
        assertContains(r.stderr, "--hostname goes with a new uts namespace (--new uts)")
        assertContains(r.stderr, "unknown namespace type `bogus`")
    }

    /// `ns list --type` as lsns, a namespace kept only by `ns pin`, and `ns tree --type user`.
    func testListingsOfEveryType() throws {
        let pin = tempDir + "/netpin"
        let r = pidsh("""
        let n = ns new --type net --name lab
        ns pin $n \(pin)
        let id = $n.id
        kill $n
        # kill sends; the holder is gone once waited for (else it may still be exiting).
        try wait $n.init   # (nothing once it was already reaped)
        ns list --type net --json
        echo "tree=$(ns tree --type user | grep -cF "$id")"
        """)
        XCTAssertEqual(r.status, 0, r.transcript)
        let json = r.stdoutLines.first { $0.hasPrefix("[") } ?? "[]"
        let rows = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] ?? []
        let pinned = rows.first { ($0["mounts"] as? [String]) == [pin] }
        XCTAssertNotNil(pinned, "the pinned namespace is listed, held by its bind mount\n\(r.transcript)")
        XCTAssertEqual(pinned?["nprocs"] as? Int, 0)
        XCTAssertEqual(pinned?["label"] as? String, "lab")
        XCTAssertEqual(r.fields["tree"], "1", "ns tree --type user shows it under its owner")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pin), "the pin and its file are undone at exit")
    }
}

/// A background pidsh that prints `READY`, for tests that read /proc while it runs.
struct ReliabilityProbe {
    let test: EndToEndTestCase
    let pid: pid_t
    let outPath: String

    static func start(_ test: EndToEndTestCase, _ code: String) -> ReliabilityProbe? {
        let out = test.tempDir + "/.probe\(UInt32.random(in: 0 ... UInt32.max)).out"
        guard let pid = test.spawnWithOutputFiles([EndToEndTestCase.binary!, "-c", code], env: test.environment(),
                                                  stdout: out, stderr: out + ".err", ownProcessGroup: false, file: #filePath, line: #line) else { return nil }
        let probe = ReliabilityProbe(test: test, pid: pid, outPath: out)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if probe.stdout.contains("READY") { return probe }
            var w: Int32 = 0
            if waitpid(pid, &w, WNOHANG) == pid { break }
            usleep(5_000)
        }
        XCTFail("the probe never printed READY:\n\(probe.transcript)")
        probe.stop()
        return nil
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var transcript: String { stdout + ((try? String(contentsOfFile: outPath + ".err", encoding: .utf8)) ?? "") }
    var fields: [String: String] { PidshRun(stdout: stdout, stderr: "", status: 0).fields }

    func stop() {
        kill(pid, SIGTERM)
        var w: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(pid, &w, WNOHANG) != pid && Date() < deadline { usleep(5_000) }
        if Date() >= deadline { kill(pid, SIGKILL); waitpid(pid, &w, 0) }
    }
}
