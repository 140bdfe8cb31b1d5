import Foundation
import Glibc
import XCTest

/// From 2,000 processes on, a listing reads /proc in two halves at once, one on a
/// second thread (ProcTable.snapshot, SideThread). What it shows must be what one pass
/// shows: every process once, in PID order, each with the PIDs the kernel gives it;
/// and pidsh is a single thread again once the listing is done. The witness is grep
/// reading every /proc/PID/status (PPid and NSpid) while the processes are alive.
final class ListingAtScaleTests: EndToEndTestCase {
    func testThousandsOfProcessesEachListedOnceWithTheirPIDs() throws {
        try requireRoot("a new PID namespace")
        let count = 2100
        let s = marker(7831)
        let ready = tempDir + "/crowd-ready"
        let r = expectSuccess(pidsh("""
        let crowd = spawn --newpid sh -c 'i=0; while [ $i -lt \(count) ]; do sleep \(s) & i=$((i + 1)); done; touch \(ready); wait'
        echo "crowd=$crowd.pid"
        spawn --wait sh -c 'while [ ! -e \(ready) ]; do sleep 0.05; done'
        spawn --wait sh -c 'cd /proc && grep -s -E "^(PPid|NSpid):" [0-9]*/status | sed "s/^/witness /"'
        echo "--- ps"
        ps --ns $$
        echo "threads=$(awk '/^Threads:/ {print $2}' /proc/$$/status)"
        echo "--- tree"
        ns tree
        """, timeout: 120))
        guard let crowd = Int32(r.fields["crowd"] ?? "") else { return XCTFail(r.transcript.prefix(2000).description) }
        let witness = crowdMembers(of: crowd, in: r.stdout)
        XCTAssertEqual(witness.count, count, "the witness sees the crowd")

        // ps: every member once, and the whole table in PID order.
        let psRows = section(r.stdout, from: "--- ps", to: "threads=").dropFirst()
        let psPIDs = psRows.compactMap { Int32($0.split(separator: " ").first ?? "") }
        XCTAssertEqual(psPIDs, psPIDs.sorted(), "ps is in PID order")
        XCTAssertEqual(Set(psPIDs).count, psPIDs.count, "no process listed twice")
        XCTAssertTrue(Set(witness.keys).isSubset(of: Set(psPIDs)), "every member listed")
        XCTAssertEqual(r.fields["threads"], "1", "pidsh is one thread after the listing")

        // ns tree: each member once, with the PID in its namespace beside its host PID.
        let treeRows = section(r.stdout, from: "--- tree", to: nil).filter { $0.contains("─ ") && !$0.contains("pid:[") }
        var shown: [Int32: Int32] = [:]
        var twice = 0
        for row in treeRows {
            let words = row.split(separator: " ").filter { Int32($0) != nil }.compactMap { Int32($0) }
            guard words.count >= 2, witness[words[1]] != nil else { continue }
            if shown[words[1]] != nil { twice += 1 }
            shown[words[1]] = words[0]
        }
        XCTAssertEqual(twice, 0, "no member drawn twice")
        let wrong = witness.filter { shown[$0.key] != $0.value }.sorted { $0.key < $1.key }
        XCTAssertEqual(wrong.count, 0, "members missing from the tree or with another PID than NSpid's (host: own), first of them: \(wrong.prefix(5).map { "\($0.key): \($0.value) shown \(shown[$0.key].map(String.init) ?? "nothing")" })")
    }

    /// Host PID -> PID in its own namespace of every child of `crowd`, from the
    /// witness lines `witness N/status:PPid:\tP` and `witness N/status:NSpid:\tH\tO`.
    private func crowdMembers(of crowd: Int32, in output: String) -> [Int32: Int32] {
        var parent: [Int32: Int32] = [:], own: [Int32: Int32] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("witness ") {
            let parts = line.dropFirst("witness ".count).split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let pid = Int32(parts[0].split(separator: "/")[0]) else { continue }
            let values = parts[2].split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { Int32($0) }
            if parts[1] == "PPid", let p = values.first { parent[pid] = p }
            if parts[1] == "NSpid", let o = values.last { own[pid] = o }
        }
        return own.filter { parent[$0.key] == crowd }
    }

    /// The lines after the one that starts with `from`, up to the one that starts with `to`.
    private func section(_ text: String, from: String, to: String?) -> [String] {
        let lines = text.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(from) }) else { return [] }
        let rest = lines[(start + 1)...]
        let end = to.flatMap { t in rest.firstIndex { $0.hasPrefix(t) } } ?? rest.endIndex
        return Array(rest[rest.startIndex..<end])
    }
}
