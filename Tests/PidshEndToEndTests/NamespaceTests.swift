import Foundation
import XCTest

/// `ns new` (with --parent and --name), the fields of a namespace, `ns list`,
/// `ns tree` and `ns id`.
final class NamespaceTests: EndToEndTestCase {
    func testNsNewAndItsFields() throws {
        let r = expectSuccess(pidsh(#"""
        let ns = ns new
        echo "id=$ns.id"
        echo "str=$ns"
        echo "inode=$ns.inode"
        echo "level=$ns.level"
        echo "parent=$ns.parent"
        echo "own=$(readlink /proc/$$/ns/pid)"
        echo "alive=$ns.alive"
        echo "initnspid=$ns.init.nspid"
        echo "initname=$ns.init.name"
        echo "initlink=$(readlink /proc/$ns.init.pid/ns/pid)"
        echo "statinode=$(stat -L -c %i /proc/$ns.init.pid/ns/pid)"
        grep -E '^(NSpid|Name):' /proc/$ns.init.pid/status
        show $ns
        kill $ns
        echo "alive2=$ns.alive"
        """#))
        let f = r.fields
        XCTAssertEqual(f["id"], f["initlink"], "id is what readlink /proc/PID/ns/pid shows\n\(r.transcript)")
        XCTAssertEqual(f["str"], f["id"], "a namespace reads as its id")
        XCTAssertEqual(f["id"], "pid:[\(f["inode"] ?? "?")]")
        XCTAssertEqual(f["inode"], f["statinode"])
        XCTAssertEqual(f["level"], "1")
        XCTAssertEqual(f["parent"], f["own"], "the parent of a new namespace is pidsh's")
        XCTAssertNotEqual(f["id"], f["own"])
        XCTAssertEqual(f["alive"], "true")
        XCTAssertEqual(f["initnspid"], "1", "its init is PID 1")
        XCTAssertEqual(f["initname"], "pidsh-init")
        XCTAssertTrue(r.stdoutLines.contains("Name:\tpidsh-init"), r.transcript)
        XCTAssertTrue(r.stdoutLines.contains { $0.hasPrefix("NSpid:") && $0.hasSuffix("\t1") })
        assertContains(r.stdout, "namespace id=\(f["id"] ?? "?") level=1 parent=\(f["own"] ?? "?") init=")
        assertContains(r.stdout, "alive=true")
        XCTAssertEqual(f["alive2"], "false", "kill NS tears it down")
    }

    func testNsNewWithParentIsLevel2() throws {
        let s = marker(7201)
        let r = expectSuccess(pidsh(#"""
        let outer = ns new
        let inner = ns new --parent $outer
        echo "level=$inner.level"
        echo "parent=$inner.parent"
        echo "outer=$outer"
        echo "kparent=$(ns id $inner.init)"
        echo "initpids=$inner.init.pids"
        let p = spawn --ns $outer sleep \#(s)
        let viaProcess = ns new --parent $p
        echo "vlevel=$viaProcess.level"
        echo "vparent=$viaProcess.parent"
        let deeper = ns new --parent $inner
        echo "dlevel=$deeper.level"
        """#))
        let f = r.fields
        XCTAssertEqual(f["level"], "2", r.transcript)
        XCTAssertEqual(f["parent"], f["outer"])
        XCTAssertEqual(f["initpids"]?.split(separator: " ").count, 3, "PIDs at pidsh's level, the outer and the inner namespace")
        XCTAssertEqual(f["initpids"]?.split(separator: " ").last, "1")
        XCTAssertEqual(f["vlevel"], "2", "--parent also takes a process in the namespace")
        XCTAssertEqual(f["vparent"], f["outer"])
        XCTAssertEqual(f["dlevel"], "3")
    }

    func testNsNewName() throws {
        let r = expectSuccess(pidsh(#"""
        let ns = ns new --name web
        show $ns
        let other = ns new --name=db
        show $other
        """#))
        XCTAssertEqual(r.stdoutLines.count, 2, r.transcript)
        XCTAssertTrue(r.stdoutLines[0].hasPrefix("namespace id=pid:["))
        XCTAssertTrue(r.stdoutLines[0].hasSuffix("name=web"), r.transcript)
        XCTAssertTrue(r.stdoutLines[1].hasSuffix("name=db"), r.transcript)
    }

    func testNsNewErrors() throws {
        let r = pidsh(#"""
        try ns new extra
        try ns new --parent
        try ns new --parent 999999999
        try ns
        try ns nwe
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "unexpected argument \"extra\"")
        assertContains(r.stderr, "--parent needs a value")
        assertContains(r.stderr, "999999999")
        assertContains(r.stderr, "`ns` needs a subcommand")
        assertContains(r.stderr, "did you mean `ns new`?")
    }

    func testNsListShowsNewNamespaces() throws {
        let s = marker(7202)
        let r = expectSuccess(pidsh(#"""
        ns list > \#(tempDir)/before
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        echo "inode=$ns.inode"
        echo "own=$(stat -L -c %i /proc/$$/ns/pid)"
        ns list
        echo ===
        ns list --json
        """#))
        let f = r.fields
        // The host may make and drop namespaces meanwhile: compare by inode, not count.
        let before = (try? String(contentsOfFile: tempDir + "/before", encoding: .utf8)) ?? ""
        XCTAssertTrue(before.contains("pid "), "ns list before: \(before)")
        XCTAssertFalse(before.split(separator: "\n").contains { $0.split(separator: " ").first.map(String.init) == f["inode"] })
        let text = r.stdout.components(separatedBy: "===\n")
        XCTAssertEqual(text.count, 2)
        let table = text[0].split(separator: "\n").drop { !$0.hasPrefix("        NS") && !$0.contains("NS TYPE") }
        XCTAssertEqual(table.first?.split(separator: " ").map(String.init),
                       ["NS", "TYPE", "NPROCS", "PID", "USER", "LEVEL", "PARENT", "NAME", "COMMAND"], r.transcript)
        let row = table.first { $0.hasPrefix(f["inode"] ?? "?") || $0.contains(" \(f["inode"] ?? "?") ") }
        let cells = row?.split(separator: " ").map(String.init) ?? []
        XCTAssertEqual(cells.count, 9, "a new pid namespace appears: \(row ?? "none")\n\(r.transcript)")
        if cells.count == 9 {
            XCTAssertEqual(cells[0], f["inode"])
            XCTAssertEqual(cells[1], "pid")
            XCTAssertEqual(cells[2], "2", "its init and the sleep")
            XCTAssertEqual(cells[5], "1", "level")
            XCTAssertEqual(cells[6], f["own"], "parent: pidsh's namespace")
            XCTAssertEqual(cells[7], "-", "no name given")
            XCTAssertEqual(cells[8], "pidsh-init", "its first process is pidsh's init (shown by name, not pidsh's command line)")
        }
        guard let json = parseJSON(text[1]) as? [[String: Any]] else { return XCTFail("ns list --json is not an array of objects") }
        let mine = json.first { ($0["ns"] as? String) == "pid:[\(f["inode"] ?? "")]" }
        XCTAssertNotNil(mine, text[1])
        XCTAssertEqual(mine?["nprocs"] as? Int, 2)
        XCTAssertEqual(mine?["level"] as? Int, 1)
        XCTAssertEqual(mine?["inode"] as? Int, Int(f["inode"] ?? ""))
        XCTAssertEqual(mine?["parent"] as? String, "pid:[\(f["own"] ?? "")]")
        XCTAssertEqual(mine?["command"] as? String, "pidsh-init")
        let root = json.first { ($0["level"] as? Int) == 0 }
        XCTAssertNotNil(root)
        XCTAssertTrue(root?["parent"] is NSNull)
    }

    func testNsTreeTextJsonAndDot() throws {
        let s = marker(7203)
        let r = expectSuccess(pidsh(#"""
        let outer = ns new
        let a = spawn --ns $outer sleep \#(s)
        let inner = ns new --parent $outer
        let b = spawn --ns $inner sleep \#(s)
        echo "outer=$outer.inode"
        echo "inner=$inner.inode"
        echo "own=$(stat -L -c %i /proc/$$/ns/pid)"
        ns tree
        echo ===
        ns tree --json
        echo ===
        ns tree --dot
        """#))
        let f = r.fields
        let (outer, inner, own) = (f["outer"] ?? "?", f["inner"] ?? "?", f["own"] ?? "?")
        let parts = r.stdout.components(separatedBy: "===\n")
        XCTAssertEqual(parts.count, 3, r.transcript)
        guard parts.count == 3 else { return }
        // Text: the levels drawn as a tree, each namespace with its members.
        let text = parts[0]
        assertContains(text, "pid:[\(own)] level 0 (pidsh's namespace)")
        assertContains(text, "└─ pid:[\(outer)] level 1, init ")
        // Each member: its PID in the namespace, its host PID, its user, its command.
        XCTAssertNotNil(text.range(of: "├─ 1  [0-9]+  [a-z0-9]+  pidsh-init\n", options: .regularExpression), text)
        XCTAssertNotNil(text.range(of: "├─ 2  [0-9]+  [a-z0-9]+  sleep \(s)\n", options: .regularExpression), text)
        assertContains(text, "└─ pid:[\(inner)] level 2, init ")
        XCTAssertNotNil(text.range(of: "└─ 2  [0-9]+  [a-z0-9]+  sleep \(s)\n", options: .regularExpression), text)
        assertNotContains(text, "-c")
        // JSON: nested children.
        guard let json = parseJSON(parts[1]) as? [[String: Any]] else { return XCTFail("ns tree --json: not an array") }
        func find(_ nodes: [[String: Any]], _ inode: String) -> [String: Any]? {
            for n in nodes {
                if (n["ns"] as? String) == "pid:[\(inode)]" { return n }
                if let hit = find(n["children"] as? [[String: Any]] ?? [], inode) { return hit }
            }
            return nil
        }
        let o = find(json, outer), i = find(json, inner)
        XCTAssertEqual(o?["level"] as? Int, 1)
        XCTAssertEqual(i?["level"] as? Int, 2)
        XCTAssertEqual(i?["parent"] as? String, "pid:[\(outer)]")
        XCTAssertEqual((o?["children"] as? [[String: Any]])?.compactMap { $0["ns"] as? String }, ["pid:[\(inner)]"])
        let members = (o?["processes"] as? [[String: Any]]) ?? []
        XCTAssertEqual(members.compactMap { $0["pid"] as? Int }, [1, 2])
        XCTAssertEqual(members.compactMap { $0["name"] as? String }, ["pidsh-init", "sleep"])
        XCTAssertEqual(i?["nprocs"] as? Int, 2)
        XCTAssertNotNil(o?["init"] as? Int)
        // dot: a digraph with an edge per parent -> child.
        let dot = parts[2]
        XCTAssertTrue(dot.hasPrefix("digraph"), dot)
        assertContains(dot, "ns\(own) -> ns\(outer);")
        assertContains(dot, "ns\(outer) -> ns\(inner);")
        assertContains(dot, "ns\(inner) [label=")
        XCTAssertTrue(dot.hasSuffix("}\n"))
    }

    func testNsIdOfNamespaceProcessAndPID() throws {
        let s = marker(7204)
        let r = expectSuccess(pidsh(#"""
        let ns = ns new
        let p = spawn --ns $ns sleep \#(s)
        ns id $ns
        ns id $p
        ns id $p.pid
        ns id $$
        readlink /proc/$p.pid/ns/pid
        readlink /proc/$$/ns/pid
        let v = ns id $p
        expect $v == $ns.id
        try ns id
        try ns id 999999999
        try ns id notapid
        """#))
        let l = r.stdoutLines
        XCTAssertEqual(l.count, 6, r.transcript)
        guard l.count == 6 else { return }
        XCTAssertEqual(l[0], l[4], "ns id NS")
        XCTAssertEqual(l[1], l[4], "ns id PROCESS")
        XCTAssertEqual(l[2], l[4], "ns id PID")
        XCTAssertEqual(l[3], l[5], "ns id $$: pidsh's own")
        assertContains(r.stderr, "ns id needs one namespace, process or PID")
        assertContains(r.stderr, "no process 999999999 in pidsh's PID namespace: it has ended, or it lives outside")
        assertContains(r.stderr, "expected a namespace, a process or a PID, got \"notapid\"")
    }
}
