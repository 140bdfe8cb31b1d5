import Foundation
import XCTest

/// The JSON of `ps --json`, `pids --json`, `ns list --json`, `ns tree --json` and the
/// `ns tree --dot` graph, checked against docs/json.md: every documented field is
/// there with its documented type, and no undocumented field appears.
final class JSONOutputTests: EndToEndTestCase {
    // MARK: the documented schema

    /// A field type as docs/json.md writes it.
    enum Kind: String {
        case integer = "integer", string = "string"
        case integerOrNull = "integer or null", stringOrNull = "string or null"
        case strings = "array of strings", integers = "array of integers", objects = "array of objects"
        case objectsOrNull = "array of objects or null"

        func matches(_ v: Any) -> Bool {
            switch self {
            case .integer: return Self.isInteger(v)
            case .string: return v is String
            case .integerOrNull: return v is NSNull || Self.isInteger(v)
            case .stringOrNull: return v is NSNull || v is String
            case .strings: return (v as? [Any]).map { $0.allSatisfy { $0 is String } } ?? false
            case .integers: return (v as? [Any]).map { $0.allSatisfy(Self.isInteger) } ?? false
            case .objects: return (v as? [Any]).map { $0.allSatisfy { $0 is [String: Any] } } ?? false
            case .objectsOrNull: return v is NSNull || Kind.objects.matches(v)
            }
        }

        static func isInteger(_ v: Any) -> Bool {
            // A JSON true/false is an NSNumber too, of objCType "c"; a fraction is no Int.
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c" else { return false }
            return v is Int
        }
    }

    /// The field tables of one `## ...` section of docs/json.md, in order.
    static func documentedTables(_ heading: String) throws -> [[(String, Kind)]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/json.md"), encoding: .utf8)
        var inSection = false
        var tables: [[(String, Kind)]] = []
        var current: [(String, Kind)]?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("## ") { inSection = line == "## " + heading; continue }
            guard inSection else { continue }
            if line.hasPrefix("| field |") { current = []; continue }
            if line.hasPrefix("|---") { continue }
            if line.hasPrefix("| `"), current != nil {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count >= 3, let kind = Kind(rawValue: cells[1]) else {
                    XCTFail("docs/json.md: a row with an unknown type: \(line)")
                    continue
                }
                current!.append((cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), kind))
                continue
            }
            if let c = current { tables.append(c); current = nil }
        }
        if let c = current { tables.append(c) }
        XCTAssertFalse(tables.isEmpty, "docs/json.md has no field table under `## \(heading)`")
        return tables
    }

    /// Asserts an object has exactly the documented fields, each of its type.
    func assertSchema(_ object: [String: Any], _ schema: [(String, Kind)], _ what: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        for (name, kind) in schema {
            guard let v = object[name] else {
                XCTFail("\(what): documented field `\(name)` is missing in \(object)", file: file, line: line)
                continue
            }
            XCTAssertTrue(kind.matches(v), "\(what): `\(name)` should be \(kind.rawValue), got \(v)", file: file, line: line)
        }
        let documented = Set(schema.map { $0.0 })
        for key in object.keys where !documented.contains(key) {
            XCTFail("\(what): field `\(key)` is not documented in docs/json.md", file: file, line: line)
        }
    }

    // MARK: one session that makes something to look at

    /// A namespace with a sleep in it and a namespace nested under it; every JSON
    /// document on a `key=` line.
    func inspect(_ extra: String = "") -> PidshRun {
        let s = marker(7391)
        return expectSuccess(pidsh("""
        let ns = ns new --name outer
        let c = spawn --ns $ns sleep \(s)
        let inner = ns new --parent $ns
        echo "own=$(ns id $$)"
        echo "nsid=$ns"
        echo "inode=$ns.inode"
        echo "innerid=$inner"
        echo "initpid=$ns.init.pid"
        echo "cpid=$c.pid"
        echo "self=$$"
        echo "inituid=$(grep ^Uid: /proc/$ns.init.pid/status)"
        echo "cuid=$(grep ^Uid: /proc/$c.pid/status)"
        let j = ps --ns $ns --json
        echo "ps=$j"
        let j = ps --mine --json
        echo "psmine=$j"
        echo "pids=$(pids $c --json)"
        echo "pidsself=$(pids $$ --json)"
        let l = pids $c --json
        echo "pidslet=$l.length $l.first $l.last"
        let j = ns list --json
        echo "nslist=$j"
        let j = ns tree --json
        echo "nstree=$j"
        \(extra)
        kill $ns
        """))
    }

    func json(_ r: PidshRun, _ key: String, file: StaticString = #filePath, line: UInt = #line) -> Any? {
        guard let text = r.fields[key] else {
            XCTFail("no \(key)= line:\n\(r.transcript)", file: file, line: line)
            return nil
        }
        return parseJSON(text, file: file, line: line)
    }

    // MARK: tests

    func testPsJSON() throws {
        let schema = try Self.documentedTables("`ps --json`")[0]
        let r = inspect()
        let f = r.fields
        guard let rows = json(r, "ps") as? [[String: Any]] else { return XCTFail("ps --json is not an array of objects:\n\(r.transcript)") }
        XCTAssertEqual(rows.map { $0["pid"] as? Int }, [1, 2, 4], "seen from inside: its init, the sleep, the inner init (PID 3 was the short-lived helper that made it)\n\(r.transcript)")
        for row in rows {
            assertSchema(row, schema, "ps --json")
            let pids = row["pids"] as? [Int] ?? []
            XCTAssertEqual(pids.first, row["pid"] as? Int, "pids starts at the viewing namespace")
            XCTAssertEqual(pids.last, row["nspid"] as? Int, "pids ends with nspid")
        }
        let sleep = rows.first { ($0["name"] as? String) == "sleep" }
        XCTAssertEqual(sleep?["cmd"] as? [String], ["sleep", "7391"])
        XCTAssertEqual(sleep?["ppid"] as? Int, 0, "its parent (pidsh) is outside the namespace")
        XCTAssertEqual(sleep?["ns"] as? String, f["nsid"])
        XCTAssertEqual(sleep?["level"] as? Int, 1)
        let inner = rows.first { ($0["pid"] as? Int) == 4 }
        XCTAssertEqual(inner?["level"] as? Int, 2, "level counts from pidsh's namespace, not the viewing one")
        XCTAssertEqual(inner?["ns"] as? String, f["innerid"])
        XCTAssertEqual(inner?["pids"] as? [Int], [4, 1])

        guard let mine = json(r, "psmine") as? [[String: Any]] else { return XCTFail("ps --mine --json") }
        for row in mine { assertSchema(row, schema, "ps --mine --json") }
        let hostSleep = mine.first { ($0["name"] as? String) == "sleep" }
        XCTAssertEqual(hostSleep?["pid"] as? Int, Int(f["cpid"] ?? ""))
        XCTAssertEqual(hostSleep?["pids"] as? [Int], [Int(f["cpid"] ?? "") ?? -1, 2])
        XCTAssertEqual(hostSleep?["ppid"] as? Int, Int(f["self"] ?? ""))
    }

    func testPsJSONIsOneLineAndIgnoresColumns() {
        let r = expectSuccess(pidsh("""
        let ns = ns new
        ps --ns $ns --json -o pid
        ps --ns $ns --tree --json
        """))
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, "one JSON document per line:\n\(r.transcript)")
        XCTAssertTrue(r.stdout.hasSuffix("\n"))
        for l in lines {
            guard let rows = parseJSON(String(l)) as? [[String: Any]] else { return XCTFail("not an array: \(l)") }
            XCTAssertEqual(rows.first?["name"] as? String, "pidsh-init")
            XCTAssertNotNil(rows.first?["cmd"], "-o and --tree do not change the JSON")
        }
    }

    func testPidsJSON() {
        let r = inspect()
        let f = r.fields
        guard let pids = json(r, "pids") as? [Any] else { return XCTFail("pids --json is not an array") }
        XCTAssertTrue(Kind.integers.matches(pids))
        XCTAssertEqual(pids as? [Int], [Int(f["cpid"] ?? "") ?? -1, 2], "outermost first, like NSpid")
        XCTAssertEqual(json(r, "pidsself") as? [Int], [Int(f["self"] ?? "") ?? -1])
        XCTAssertEqual(f["pidslet"], "2 \(f["cpid"] ?? "?") 2", "under let, pids gives its list value, --json or not")
    }

    func testNsListJSON() throws {
        let schema = try Self.documentedTables("`ns list --json`")[0]
        let r = inspect()
        let f = r.fields
        guard let list = json(r, "nslist") as? [[String: Any]] else { return XCTFail("ns list --json is not an array of objects") }
        for ns in list { assertSchema(ns, schema, "ns list --json") }
        let levels = list.compactMap { $0["level"] as? Int }
        XCTAssertEqual(levels, levels.sorted(), "ordered by level")
        let root = list.first
        XCTAssertEqual(root?["level"] as? Int, 0)
        XCTAssertEqual(root?["ns"] as? String, f["own"])
        XCTAssertTrue(root?["parent"] is NSNull, "level 0 has a null parent")
        guard let mine = list.first(where: { ($0["ns"] as? String) == f["nsid"] }) else { return XCTFail("our namespace is not listed:\n\(r.transcript)") }
        XCTAssertEqual(mine["inode"] as? Int, Int(f["inode"] ?? ""))
        XCTAssertEqual(mine["nprocs"] as? Int, 2, "its init and the sleep (the inner namespace's init is not its own)")
        XCTAssertEqual(mine["pid"] as? Int, Int(f["initpid"] ?? ""), "the lowest PID: its init")
        XCTAssertEqual(mine["command"] as? String, "pidsh-init")
        XCTAssertEqual(mine["label"] as? String, "outer", "the name given with ns new --name")
        XCTAssertEqual(mine["user"] as? String, ListingsTests.userName(uidLine: f["inituid"] ?? ""))
        XCTAssertEqual(mine["level"] as? Int, 1)
        XCTAssertEqual(mine["parent"] as? String, f["own"])
        let inner = list.first { ($0["ns"] as? String) == f["innerid"] }
        XCTAssertTrue(inner?["label"] is NSNull, "no name given")
        XCTAssertEqual(inner?["level"] as? Int, 2)
        XCTAssertEqual(inner?["parent"] as? String, f["nsid"])
    }

    func testNsTreeJSON() throws {
        let tables = try Self.documentedTables("`ns tree --json`")
        XCTAssertEqual(tables.count, 2, "docs/json.md: a table for namespaces and one for processes")
        guard tables.count == 2 else { return }
        let r = inspect()
        let f = r.fields
        guard let roots = json(r, "nstree") as? [[String: Any]] else { return XCTFail("ns tree --json is not an array of objects") }
        var all: [[String: Any]] = []
        func walk(_ node: [String: Any]) {
            assertSchema(node, tables[0], "ns tree --json namespace")
            for p in node["processes"] as? [[String: Any]] ?? [] { assertSchema(p, tables[1], "ns tree --json process") }
            all.append(node)
            for c in node["children"] as? [[String: Any]] ?? [] {
                XCTAssertEqual(c["parent"] as? String, node["ns"] as? String, "a child's parent is the node holding it")
                XCTAssertEqual(c["level"] as? Int, (node["level"] as? Int ?? -9) + 1)
                walk(c)
            }
        }
        roots.forEach(walk)
        XCTAssertEqual(roots.first?["ns"] as? String, f["own"])
        XCTAssertEqual((roots.first?["processes"] as? [Any])?.count, 0, "level 0 lists no processes")
        guard let mine = all.first(where: { ($0["ns"] as? String) == f["nsid"] }) else { return XCTFail("our namespace is not in the tree:\n\(r.transcript)") }
        XCTAssertEqual(mine["init"] as? Int, Int(f["initpid"] ?? ""))
        let procs = mine["processes"] as? [[String: Any]] ?? []
        XCTAssertEqual(procs.map { $0["pid"] as? Int }, [1, 2])
        XCTAssertEqual(procs.map { $0["host_pid"] as? Int }, [Int(f["initpid"] ?? ""), Int(f["cpid"] ?? "")])
        XCTAssertEqual(procs.last?["cmd"] as? [String], ["sleep", "7391"])
        XCTAssertEqual(mine["label"] as? String, "outer")
        XCTAssertEqual(procs.map { $0["user"] as? String }, [ListingsTests.userName(uidLine: f["inituid"] ?? ""), ListingsTests.userName(uidLine: f["cuid"] ?? "")])
        XCTAssertTrue(procs.allSatisfy { $0["label"] is NSNull }, "no process was given a name")
        let kids = mine["children"] as? [[String: Any]] ?? []
        XCTAssertEqual(kids.map { $0["ns"] as? String }, [f["innerid"]])
    }

    func testNsTreeDot() {
        let r = expectSuccess(pidsh("""
        let ns = ns new
        let c = spawn --ns $ns sleep \(marker(7392))
        echo "own=$(ns id $$)"
        echo "inode=$ns.inode"
        ns tree --dot
        kill $ns
        """))
        let f = r.fields
        let own = (f["own"] ?? "").filter(\.isNumber)
        let inode = f["inode"] ?? "?"
        let dot = r.stdout.split(separator: "\n").drop { !$0.hasPrefix("digraph") }.map(String.init)
        XCTAssertEqual(dot.first, "digraph pid_namespaces {", r.transcript)
        XCTAssertEqual(dot.dropFirst().first, "  node [shape=box, fontname=\"monospace\"];")
        XCTAssertEqual(dot.last, "}")
        XCTAssertTrue(dot.contains("  ns\(inode) [label=\"pid:[\(inode)]\\nlevel 1\\n1 pidsh-init\\n2 sleep\"];"), r.transcript)
        XCTAssertTrue(dot.contains { $0.hasPrefix("  ns\(own) [label=\"pid:[\(own)]\\nlevel 0\\n") && $0.hasSuffix(" processes\"];") }, r.transcript)
        XCTAssertTrue(dot.contains("  ns\(own) -> ns\(inode);"), r.transcript)
    }

    /// The documented rule that --stable-ids and --json do not mix is real: the aliases
    /// are not JSON.
    func testStableIdsRewriteJSONText() {
        let r = expectSuccess(pidsh("let ns = ns new\nns list --json", flags: ["--stable-ids"]))
        assertContains(r.stdout, "<ns#")
    }
}
