import Foundation
import XCTest

/// `ps` (columns, -C, -o, --ns, --tree, --json, --mine) and `pids`.
final class PsTests: EndToEndTestCase {
    func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }

    /// A script line that returns once the process in `handle` runs `sleep` and is
    /// asleep in it (State S): a `ps` right after the spawn can catch it before its exec
    /// (a shell still) or between the exec and its first sleep (R). A release build of
    /// pidsh gets there first.
    func asleep(_ handle: String) -> String {
        #"spawn --wait timeout 10 sh -c "until grep -q '^Name:.sleep$' /proc/\#(handle).pid/status && grep -q '^State:.S' /proc/\#(handle).pid/status; do sleep 0.005; done""#
    }

    func testDefaultColumnsAndDashC() throws {
        let s = marker(7501)
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid sleep \#(s)
        \#(asleep("$c"))
        echo "pid=$c.pid"
        echo "self=$$"
        echo ---
        ps -C sleep
        echo ---
        ps
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 3, r.transcript)
        guard parts.count == 3 else { return }
        let f = r.fields
        let sleeps = rows(parts[1])
        XCTAssertEqual(sleeps.first, ["PID", "PPID", "STAT", "CMD"], "procps-like default columns\n\(r.transcript)")
        XCTAssertTrue(sleeps.dropFirst().allSatisfy { $0.count >= 4 && $0[3].hasSuffix("sleep") }, "-C sleep: only sleeps\n\(parts[1])")
        XCTAssertTrue(sleeps.contains([f["pid"] ?? "?", f["self"] ?? "?", "S", "sleep", s]),
                      "the host view: the sleep's parent is pidsh\n\(parts[1])")
        let all = rows(parts[2])
        XCTAssertEqual(all.first, ["PID", "PPID", "STAT", "CMD"])
        XCTAssertTrue(all.contains { $0.first == "1" }, "pidsh's view: the whole host namespace")
        XCTAssertTrue(all.contains { $0.first == f["self"] })
        XCTAssertTrue(all.contains { $0.first == f["pid"] })
    }

    func testEveryField() throws {
        let s = marker(7502)
        let r = expectSuccess(pidsh(#"""
        let c = spawn --newpid sleep \#(s)
        \#(asleep("$c"))
        echo "pid=$c.pid"
        echo "self=$$"
        echo "ns=$c.ns"
        ps -C sleep -o pid,ppid,stat,cmd,name,nspid,pids,level,ns
        ps -C sleep -o PID,Name
        try ps -o pid,bogus
        try ps -o nspd
        """#))
        let f = r.fields
        let lines = rows(r.stdout).filter { !$0.isEmpty && !$0[0].contains("=") }
        XCTAssertEqual(lines.first, ["PID", "PPID", "STAT", "CMD", "NAME", "NSPID", "PIDS", "LEVEL", "NS"], r.transcript)
        let row = lines.first { $0.first == f["pid"] }
        XCTAssertEqual(row, [f["pid"] ?? "?", f["self"] ?? "?", "S", "sleep", s, "sleep", "1", f["pid"] ?? "?", "1", "1", f["ns"] ?? "?"],
                       "pid ppid stat cmd(2 words) name nspid pids(2 words) level ns\n\(r.transcript)")
        XCTAssertTrue(lines.contains(["PID", "NAME"]), "field names are case-insensitive")
        XCTAssertTrue(lines.contains([f["pid"] ?? "?", "sleep"]))
        assertContains(r.stderr, "unknown ps field `bogus`")
        assertContains(r.stderr, "fields: pid ppid stat cmd name nspid pids level ns")
        assertContains(r.stderr, "did you mean nspid?")
    }

    /// procps' `-o FIELD=` drops the header (and with every column unnamed, the header
    /// line), `FIELD=HEADER` renames it, `-o` may be repeated, and `comm` is the command
    /// name: checked against procps' own `ps` on the same process.
    func testDashOEqualsAndCommAsProcpsHasThem() throws {
        let s = marker(7541)
        let r = expectSuccess(pidsh(#"""
        let a = spawn sh -c 'exec sleep \#(s)'
        \#(asleep("$a"))
        echo "pid=$a.pid"
        echo "--- pidsh"
        ps -C sleep -o pid=,comm=
        echo "--- procps"
        command ps -o pid=,comm= -p $a.pid
        echo "--- renamed"
        ps -C sleep -o pid=PROCESS -o comm= -e
        echo "--- end"
        try ps -o pid=,comm=,nspd=
        """#))
        let parts = r.stdout.components(separatedBy: "\n--- ")
        XCTAssertEqual(parts.count, 5, r.transcript)
        guard parts.count == 5, let pid = r.fields["pid"] else { return }
        let ours = rows(String(parts[1].drop { $0 != "\n" }))
        let procps = rows(String(parts[2].drop { $0 != "\n" }))
        XCTAssertEqual(procps, [[pid, "sleep"]], "procps' witness\n\(r.transcript)")
        XCTAssertTrue(ours.allSatisfy { Int($0.first ?? "") != nil }, "no header line\n\(r.transcript)")
        XCTAssertEqual(ours.filter { $0.first == pid }, procps, "the same row as procps\n\(r.transcript)")
        let renamed = rows(String(parts[3].drop { $0 != "\n" }))
        XCTAssertEqual(renamed.first, ["PROCESS"], "one named column: the header line stays, the other column unnamed\n\(r.transcript)")
        XCTAssertTrue(renamed.contains([pid, "sleep"]), r.transcript)
        // An unknown field: the caret is on -o's value.
        assertContains(r.stderr, "-c:11:11: error: ps: unknown ps field `nspd`")
        assertContains(r.stderr, "did you mean nspid?")
    }

    /// A namespace A with a parent/child pair, a nested namespace B below it and a
    /// sibling namespace C; `ps --ns A` must show A's members and B's, not C's, not pidsh.
    let layout = #"""
        let a = ns new
        let pair = spawn --ns $a sh -c 'sleep 7504 & exec sleep 7503'
        spawn --wait sh -c 'while ! pgrep -f "^sleep 7504" >/dev/null; do sleep 0.01; done'
        let b = ns new --parent $a
        let inb = spawn --ns $b sleep 7505
        let c = ns new
        let inc = spawn --ns $c sleep 7506
        echo "pair=$pair.pid"
        echo "inbpids=$inb.pids"
        echo "inc=$inc.pid"
        echo "binitpids=$b.init.pids"
        """#

    func testPsFromANamespace() throws {
        for m in [7503, 7504, 7505, 7506] { _ = marker(m) }
        let r = expectSuccess(pidsh(layout + "\n" + #"""
        echo ---
        ps --ns $a -o pid,ppid,level,cmd
        echo ---
        ps --ns $pair -o pid,ppid,level,cmd
        echo ---
        ps --ns $b -o pid,ppid,pids,cmd
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 4, r.transcript)
        guard parts.count == 4 else { return }
        let inbPids = (r.fields["inbpids"] ?? "").split(separator: " ").map(String.init)
        let bInitPids = (r.fields["binitpids"] ?? "").split(separator: " ").map(String.init)
        XCTAssertEqual(inbPids.count, 3)
        XCTAssertEqual(bInitPids.count, 3)
        let expectedA: [[String]] = [
            ["PID", "PPID", "LEVEL", "CMD"],
            ["1", "0", "1", "pidsh-init"],
            ["2", "0", "1", "sleep", "7503"],     // the parent (pidsh) is outside: PPID 0
            ["3", "2", "1", "sleep", "7504"],     // its child: PPID as A numbers it
            [bInitPids.count == 3 ? bInitPids[1] : "?", "0", "2", "pidsh-init"],  // B's init, at A's level
            [inbPids.count == 3 ? inbPids[1] : "?", "0", "2", "sleep", "7505"],
        ]
        XCTAssertEqual(rows(parts[1]), expectedA, "members and descendants only, PIDs at A's level\n\(parts[1])")
        XCTAssertEqual(rows(parts[2]), expectedA, "--ns PROCESS looks from that process's namespace")
        XCTAssertEqual(rows(parts[3]), [["PID", "PPID", "PIDS", "CMD"], ["1", "0", "1", "pidsh-init"],
                                        ["2", "0", "2", "sleep", "7505"]],
                       "from B: PIDs from B inward\n\(parts[3])")
        assertNotContains(parts[1], "7506")
    }

    func testTreeJsonAndMine() throws {
        for m in [7503, 7504, 7505, 7506] { _ = marker(m) }
        let r = expectSuccess(pidsh(layout + "\n" + #"""
        echo ---
        ps --ns $a --tree
        echo ---
        ps --ns $a --json
        echo ---
        ps --mine -o pid,cmd
        echo ---
        ps --mine --tree
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 5, r.transcript)
        guard parts.count == 5 else { return }
        let tree = parts[1].split(separator: "\n").map(String.init)
        XCTAssertEqual(tree.first?.split(separator: " "), ["PID", "COMMAND"], parts[1])
        XCTAssertTrue(tree.contains { $0.hasSuffix("  sleep 7503") && $0.trimmingCharacters(in: .whitespaces).hasPrefix("2 ") }, parts[1])
        XCTAssertTrue(tree.contains { $0.hasSuffix("└─ sleep 7504") && $0.trimmingCharacters(in: .whitespaces).hasPrefix("3 ") },
                      "the child is drawn under its parent\n\(parts[1])")

        guard let json = parseJSON(parts[2]) as? [[String: Any]] else { return XCTFail("ps --json: not an array of objects\n\(parts[2])") }
        XCTAssertEqual(json.count, 5, parts[2])
        XCTAssertEqual(Array(json.compactMap { $0["pid"] as? Int }.prefix(3)), [1, 2, 3], parts[2])
        let bInit = json.first { ($0["level"] as? Int) == 2 && ($0["name"] as? String) == "pidsh-init" }
        XCTAssertEqual(bInit?["nspid"] as? Int, 1, "B's init is 1 in B")
        XCTAssertEqual((bInit?["pids"] as? [Int])?.count, 2, "its PID in A, then in B")
        XCTAssertEqual((bInit?["pids"] as? [Int])?.last, 1)
        let child = json.first { ($0["cmd"] as? [String]) == ["sleep", "7504"] }
        XCTAssertEqual(child?["pid"] as? Int, 3)
        XCTAssertEqual(child?["ppid"] as? Int, 2)
        XCTAssertEqual(child?["nspid"] as? Int, 3)
        XCTAssertEqual(child?["level"] as? Int, 1)
        XCTAssertEqual(child?["name"] as? String, "sleep")
        XCTAssertEqual((child?["pids"] as? [Int])?.last, 3)
        XCTAssertEqual((child?["pids"] as? [Int])?.count, 1, "PIDs from the viewing namespace inward")
        XCTAssertNotNil(child?["stat"] as? String)
        XCTAssertTrue((child?["ns"] as? String)?.hasPrefix("pid:[") ?? false)
        XCTAssertEqual(Set(json.compactMap { $0["name"] as? String }), ["pidsh-init", "sleep"])

        let mine = rows(parts[3])
        XCTAssertEqual(mine.first, ["PID", "CMD"])
        let cmds = mine.dropFirst().map { $0.dropFirst().joined(separator: " ") }
        for m in ["sleep 7503", "sleep 7504", "sleep 7505", "sleep 7506", "pidsh-init"] {
            XCTAssertTrue(cmds.contains(m), "--mine lists \(m)\n\(parts[3])")
        }
        XCTAssertFalse(mine.contains { $0.first == "1" }, "--mine: not the host's PID 1")
        XCTAssertFalse(cmds.contains { $0.contains("-c") }, "--mine: not pidsh itself")
        assertContains(parts[4], "└─ sleep 7504")
    }

    func testControlCharactersInCommandsStayOnOneLine() throws {
        _ = marker(7508)
        let r = expectSuccess(pidsh(#"""
        # --newpid: sh is PID 1, so its child sleep dies with it at exit.
        let p = spawn --newpid sh -c "sleep 7508
        exit 0"
        ps --mine -o pid,cmd
        echo ---
        ps --mine --json
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 2, r.transcript)
        XCTAssertTrue(parts[0].split(separator: "\n").contains { $0.hasSuffix(" sh -c sleep 7508?exit 0") },
                      "a newline in an argument shows as `?`, as procps does\n\(parts[0])")
        let json = parseJSON(parts.last ?? "") as? [[String: Any]]
        XCTAssertTrue(json?.contains { ($0["cmd"] as? [String]) == ["sh", "-c", "sleep 7508\nexit 0"] } ?? false,
                      "--json keeps the exact arguments\n\(parts.last ?? "")")
    }

    func testPids() throws {
        let s = marker(7507)
        let r = pidsh(#"""
        let outer = ns new
        let inner = ns new --parent $outer
        let p = spawn --ns $inner sleep \#(s)
        pids $p
        pids $p --json
        grep NSpid /proc/$p.pid/status
        let l = pids $p
        echo "len=$l.length"
        echo "last=$l.last"
        let q = spawn --newpid sh -c 'exit 0'
        wait $q
        echo "ended=$(pids $q)"
        pids 999999999
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        let l = r.stdoutLines
        XCTAssertGreaterThanOrEqual(l.count, 5, r.transcript)
        guard l.count >= 5 else { return }
        let nspid = l[2].split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().map(String.init)
        XCTAssertEqual(nspid.count, 3)
        XCTAssertEqual(l[0], nspid.joined(separator: " "), "one line, outermost first, like NSpid")
        XCTAssertEqual(parseJSON(l[1]) as? [Int], nspid.compactMap { Int($0) })
        XCTAssertEqual(nspid.last, "2")
        XCTAssertEqual(r.fields["len"], "3")
        XCTAssertEqual(r.fields["last"], "2")
        XCTAssertEqual(r.fields["ended"]?.split(separator: " ").count, 2, "an ended process shows the PIDs it had")
        XCTAssertEqual(r.fields["ended"]?.split(separator: " ").last, "1")
        assertContains(r.stderr, "pidfd_open(999999999): ESRCH")
        assertContains(r.stderr, "no process 999999999 in pidsh's PID namespace")
    }

    func testPsErrors() throws {
        let r = pidsh(#"""
        try ps extra
        try ps --ns
        try ps --ns 999999999
        try pids
        try pids notapid
        echo done
        """#)
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        assertContains(r.stderr, "unexpected argument \"extra\"")
        assertContains(r.stderr, "--ns needs a value")
        assertContains(r.stderr, "999999999")
        assertContains(r.stderr, "pids needs one process")
        assertContains(r.stderr, "expected a process or a PID, got \"notapid\"")
    }
}
