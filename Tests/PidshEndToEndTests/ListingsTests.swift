import Foundation
import Glibc
import XCTest

/// `ns list`, `ns tree` and `ps` as a person reads them: the names given with `--name`,
/// the USER column, host PIDs beside namespace PIDs, and lines cut to a terminal's width
/// unless `-w`. Checked against /proc, not against pidsh's other output.
final class ListingsTests: ReliabilityTestCase {
    /// The user of a process as ps shows it: the name of the effective uid in its status.
    static func userName(ofProcess pid: Int32) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return userName(uidLine: String(line))
    }

    /// The same from a `Uid:` line of /proc/PID/status (real, effective, saved, fs).
    static func userName(uidLine line: String) -> String? {
        let ids = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst()
        guard ids.count > 1, let uid = uid_t(ids[ids.index(after: ids.startIndex)]) else { return nil }
        guard let pw = getpwuid(uid) else { return String(uid) }
        return String(cString: pw.pointee.pw_name)
    }

    /// NSpid of a process, from its status.
    static func nspid(_ pid: Int32) -> [Int32] {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return [] }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap { Int32($0) }
    }

    func testNamesUsersAndHostPIDs() throws {
        try requireRoot("new PID namespaces")
        let s = marker(7621), s2 = marker(7622)
        // Still running while the test reads /proc: it waits in a sleep until killed.
        guard let run = startPidsh("""
        let box = ns new --name box
        let nap = spawn --ns $box --name nap sleep \(s)
        let bash = spawn --newpid --name bash sleep \(s2)
        echo "box=$box.init.pid"
        ns list --mine
        ns tree --mine
        echo "ready at level $box.level"
        sleep \(s)
        """), waitForOutput(run, "ready at level 1") else { return }
        defer { kill(run.pid, SIGTERM); waitForExit(run) }
        let r = PidshRun(stdout: run.stdout, stderr: run.stderr, status: 0)
        let lines = r.stdoutLines
        guard let boxInit = Int32(r.fields["box"] ?? "") else { return XCTFail(r.transcript) }
        // ns list: USER after PID, as lsns; NAME before COMMAND.
        guard let header = lines.first(where: { $0.hasPrefix("  ") && $0.contains("NS TYPE") }) else { return XCTFail(r.transcript) }
        XCTAssertEqual(header.split(separator: " "), ["NS", "TYPE", "NPROCS", "PID", "USER", "LEVEL", "PARENT", "NAME", "COMMAND"])
        let boxRow = lines.first { $0.split(separator: " ").count > 7 && $0.split(separator: " ")[3] == "\(boxInit)" }?.split(separator: " ").map(String.init)
        XCTAssertEqual(boxRow?[4], Self.userName(ofProcess: boxInit), r.transcript)
        XCTAssertEqual(boxRow?[7], "box", r.transcript)
        let bashRow = lines.first { $0.hasSuffix(" sleep \(s2)") && $0.contains(" pid ") }?.split(separator: " ").map(String.init)
        XCTAssertEqual(bashRow?[7], "bash", "the namespace of `spawn --newpid --name bash` is named by its PID 1\n\(r.transcript)")
        // ns tree: the namespace's name, and each member with its host PID beside its
        // PID in the namespace, its user and its name; the host PID is the one whose
        // NSpid ends in that namespace PID.
        XCTAssertTrue(lines.contains { $0.contains("pid:[") && $0.contains(" \"box\" level 1, init \(boxInit)") }, r.transcript)
        let members = lines.filter { $0.contains("─ ") && !$0.contains("pid:[") }
        XCTAssertEqual(members.count, 3, r.transcript)
        for m in members {
            let cols = m.split(separator: "─ ", maxSplits: 1).last!.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard cols.count >= 4, let nsPid = Int32(cols[0]), let host = Int32(cols[1]) else { XCTFail("member line \(m)"); continue }
            XCTAssertEqual(Self.nspid(host).last, nsPid, "\(m): host PID \(host) is PID \(nsPid) in its namespace")
            XCTAssertEqual(cols[2], Self.userName(ofProcess: host), m)
        }
        XCTAssertTrue(members.contains { $0.hasSuffix("  \"nap\" sleep \(s)") }, r.transcript)
        XCTAssertTrue(members.contains { $0.hasSuffix("  \"bash\" sleep \(s2)") }, r.transcript)
    }

    /// Under --stable-ids the new host PID column is aliased like every host PID.
    /// A command line longer than one read's buffer (16 KiB) is shown whole: the read
    /// that fills the buffer is followed by more. Witness: /proc/PID/cmdline read here.
    func testACommandLineLongerThanTheBufferIsShownWhole() throws {
        let long = String(repeating: "a", count: 40_000)
        guard let run = startPidsh("""
        let p = spawn sh -c 'sleep 60' sh \(long)
        echo "pid=$p.pid"
        echo "shown=$(ps --mine -o pid,cmd | awk -v p=$p.pid '$1 == p { print length($0) - length($1) - 1 }')"
        echo READY
        sleep 100
        """), waitForOutput(run, "READY") else { return }
        defer { kill(run.pid, SIGTERM); _ = waitForExit(run) }
        guard let pid = run.fields["pid"], let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
            return XCTFail(run.transcript)
        }
        // The arguments joined by single spaces, without the final NUL.
        XCTAssertEqual(Int(run.fields["shown"] ?? ""), bytes.count - 1, "the whole command line, \(bytes.count) bytes")
        XCTAssertGreaterThan(bytes.count, 40_000)
    }

    func testTreeHostPIDsAreStablyAliased() throws {
        try requireRoot("new PID namespaces")
        let s = marker(7623)
        let r = pidsh("let n = ns new\nspawn --ns $n sleep \(s)\nns tree --mine", flags: ["--stable-ids"])
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stdout, "init <pid#1>\n   ├─ 1  <pid#1>  root  pidsh-init\n   └─ 2  <pid#2>  root  sleep \(s)\n")
        // Every number the tree prints is an alias or a namespace PID: nothing host-specific.
        XCTAssertNil(r.stdout.replacingOccurrences(of: "sleep \(s)", with: "").range(of: "[0-9]{3,}", options: .regularExpression), r.transcript)
    }

    /// On a terminal `ps`, `ns list` and `ns tree` cut their lines to its width (50
    /// columns here), as ps and lsns do; `-w` does not, nor does a pipe.
    func testLinesCutToTheTerminalUnlessWide() throws {
        try requireRoot("new PID namespaces")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal")
        let s = marker(7624)
        let script = tempDir + "/wide.pidsh"
        try """
        let n = spawn --newpid sh -c 'sleep \(s); echo this is a long command line, longer than fifty columns'
        echo CUT
        ps --mine
        ns list --mine
        ns tree --mine
        echo WIDE
        ps --mine -w
        ns list --mine -w
        ns tree --mine --wide
        echo PIPE
        ps --mine | cat
        kill $n

        """.write(toFile: script, atomically: true, encoding: .utf8)
        let r = run(["/usr/bin/script", "-qec", "stty cols 50; \(Self.binary!) \(script)", "/dev/null"])
        let text = r.stdout.replacingOccurrences(of: "\r", with: "")
        let parts = text.components(separatedBy: "\nWIDE\n")
        XCTAssertEqual(parts.count, 2, text)
        guard parts.count == 2, let cut = parts[0].components(separatedBy: "CUT\n").last else { return }
        let wideAndPipe = parts[1].components(separatedBy: "\nPIPE\n")
        XCTAssertTrue(cut.contains("sh -c sleep"), text)
        for line in cut.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 50, "cut: \(line)") }
        XCTAssertEqual(wideAndPipe.count, 2, text)
        let longWide = wideAndPipe.first?.split(separator: "\n").filter { $0.count > 50 } ?? []
        XCTAssertGreaterThanOrEqual(longWide.count, 3, "-w leaves the long lines of ps, ns list and ns tree whole\n\(text)")
        XCTAssertTrue(wideAndPipe.last?.contains("longer than fifty columns") ?? false, "a pipe is not a terminal: nothing cut\n\(text)")
    }
}
