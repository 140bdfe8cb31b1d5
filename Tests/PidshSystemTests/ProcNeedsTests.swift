import Foundation
import Glibc
import PidshSystem
import XCTest

/// The listings' reading path (ProcNeeds): a view that reads less than everything must
/// still list exactly what the kernel says, checked against witnesses read here with
/// readlink(2) and against a snapshot that read every process's status.
final class ProcNeedsTests: SystemTestCase {
    /// Sibling namespaces a and b, c inside a, each with an init and sleepers.
    private func namespaces() throws -> (a: Namespace, b: Namespace, c: Namespace) {
        let a = try session.newNamespace()
        let b = try session.newNamespace()
        let c = try session.newNamespace(parent: a)
        for ns in [a, a, b, c, c, c] { _ = try spawnSleep(join: ns) }
        return (a, b, c)
    }

    /// Host PIDs whose /proc/PID/ns/pid link is one of `ids`: what the kernel says.
    private func witness(linkIn ids: Set<String>) -> Set<Int32> {
        var out = Set<Int32>()
        for pid in ProcDirectory.processIDs() {
            var buf = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/\(pid)/ns/pid", &buf, buf.count - 1)
            guard n > 0 else { continue }
            if ids.contains(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) { out.insert(pid) }
        }
        return out
    }

    func testSeenFromListsExactlyTheProcessesWhoseLinkIsTheNamespaceOrBelowIt() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let (a, b, c) = try namespaces()
        for (ns, ids) in [(a, [a.id, c.id]), (b, [b.id]), (c, [c.id])] {
            let level = try XCTUnwrap(ns.level)
            let table = ProcTable.snapshot(ProcNeeds(seenFrom: (ns.inode, level)))
            let listed = Set(table.entries.map(\.pid))
            XCTAssertEqual(listed, witness(linkIn: Set(ids)), "\(ns.id): the link of every process listed, and of no other")
            XCTAssertEqual(listed.count, ns == b ? 2 : (ns == c ? 4 : 7))
            // The rows are those of a snapshot that read everything.
            let full = ProcTable.snapshot().view(fromNamespace: ns.inode, level: level)
            let rows = table.view(fromNamespace: ns.inode, level: level)
            XCTAssertEqual(rows.map(\.pid), full.map(\.pid))
            XCTAssertEqual(rows.map(\.ppid), full.map(\.ppid))
            XCTAssertEqual(rows.map(\.pids), full.map(\.pids))
            XCTAssertEqual(rows.map(\.entry.commandLine), full.map(\.entry.commandLine))
        }
    }

    /// A view of pidsh's own namespace that shows no namespace column reads no links:
    /// /proc lists exactly what that namespace sees. Its rows are a full snapshot's, for
    /// the test's processes in three nested namespaces as for pidsh's own; the witness
    /// for where they are is their ns/pid link.
    func testOwnNamespaceWithoutPlacingListsTheSameRows() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let (a, _, c) = try namespaces()
        let mine = Set(started.map(\.pid))
        XCTAssertTrue(eventually { ProcTable.snapshot(commandLines: false).entries.filter { mine.contains($0.pid) }.allSatisfy { $0.state == "S" } })
        var needs = ProcNeeds(pidsAtEveryLevel: false, seenFrom: (Namespace.ownInode, 0))
        needs.placesInNamespaces = false
        let unplaced = ProcTable.snapshot(needs).view(fromNamespace: Namespace.ownInode, level: 0).filter { mine.contains($0.entry.pid) }
        let full = ProcTable.snapshot().view(fromNamespace: Namespace.ownInode, level: 0).filter { mine.contains($0.entry.pid) }
        XCTAssertEqual(unplaced.count, mine.count)
        XCTAssertEqual(unplaced.map(\.pid), full.map(\.pid))
        XCTAssertEqual(unplaced.map(\.ppid), full.map(\.ppid))
        XCTAssertEqual(unplaced.map(\.entry.state), full.map(\.entry.state))
        XCTAssertEqual(unplaced.map(\.entry.commandLine), full.map(\.entry.commandLine))
        XCTAssertFalse(witness(linkIn: [a.id, c.id]).isDisjoint(with: Set(unplaced.map(\.entry.pid))),
                       "processes in the nested namespaces are among the rows")
    }

    /// `ns tree`'s text reads a process's name only where its command line does not
    /// stand for it (pidsh's inits keep pidsh's command line): the command shown is the
    /// one a snapshot that read every name shows, `pidsh-init` for the inits included;
    /// the witness for the inits is their /proc/PID/comm.
    func testWithoutNamesTheCommandShownIsTheSame() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let (a, b, c) = try namespaces()
        let inits = Set([a, b, c].compactMap { $0.initProcess?.pid })
        for pid in inits {
            XCTAssertEqual(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8), "pidsh-init\n")
        }
        var needs = ProcNeeds(pidsAtEveryLevel: false, ownPidsAndUids: true, details: .belowOwnNamespace)
        needs.names = false
        let lazy = ProcTable.snapshot(needs).entries.filter { inits.contains($0.pid) || started.map(\.pid).contains($0.pid) }
        needs.names = true
        let full = ProcTable.snapshot(needs).entries.filter { inits.contains($0.pid) || started.map(\.pid).contains($0.pid) }
        XCTAssertEqual(lazy.count, inits.union(started.map(\.pid)).count)
        XCTAssertEqual(lazy.map(\.pid), full.map(\.pid))
        XCTAssertEqual(lazy.map(\.commandLine), full.map(\.commandLine))
        XCTAssertEqual(lazy.filter { inits.contains($0.pid) }.map(\.commandLine), Array(repeating: ["pidsh-init"], count: inits.count))
    }

    func testWithoutNSpidStateParentAndNameComeFromStatAndAgreeWithStatus() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let (a, _, c) = try namespaces()
        let mine = Set(started.map(\.pid))
        // Asleep, so that both snapshots see the same state.
        XCTAssertTrue(eventually { ProcTable.snapshot(commandLines: false).entries.filter { mine.contains($0.pid) }.allSatisfy { $0.state == "S" } })
        let fromStat = ProcTable.snapshot(ProcNeeds(pidsAtEveryLevel: false, seenFrom: (Namespace.ownInode, 0)))
        let fromStatus = ProcTable.snapshot()
        let statRows = fromStat.entries.filter { mine.contains($0.pid) }
        let statusRows = fromStatus.entries.filter { mine.contains($0.pid) }
        XCTAssertEqual(statRows.count, mine.count)
        XCTAssertEqual(statRows.map(\.pid), statusRows.map(\.pid))
        XCTAssertEqual(statRows.map(\.ppid), statusRows.map(\.ppid))
        XCTAssertEqual(statRows.map(\.name), statusRows.map(\.name))
        XCTAssertEqual(statRows.map(\.state), statusRows.map(\.state))
        XCTAssertEqual(statRows.map(\.nsInode), statusRows.map(\.nsInode))
        XCTAssertEqual(statRows.map(\.level), statusRows.map(\.level), "the depth from the namespace's ancestors, as NSpid gives it")
        XCTAssertTrue(statRows.allSatisfy { $0.nspid.isEmpty == ($0.level > 0) }, "NSpid read for none below level 0")
        let deep = try XCTUnwrap(statRows.first { $0.pid == c.initProcess!.pid })
        XCTAssertEqual(deep.level, 2)
        XCTAssertEqual(deep.nsInode, c.inode)
        _ = a
    }

    /// status escapes a newline and a backslash in a name, stat does not: such a name
    /// is taken from status, as a listing that read status would show it.
    func testANameStatusEscapesIsStatussName() throws {
        let names = ["a\\b", "x\ny"]
        var pids: [Int32] = []
        for name in names {
            XCTAssertEqual(symlink("/bin/sleep", path(name)), 0)
            pids.append(try session.spawn(SpawnOptions(path: path(name), arguments: [name, "1000"])).pid)
        }
        // The two snapshots are taken one after the other: each sleep is asleep first,
        // or one just started could be running (R) in the first and asleep in the second.
        for pid in pids { waitUntilAsleep(pid) }
        let fromStat = ProcTable.snapshot(ProcNeeds(pidsAtEveryLevel: false, commandLines: false))
        let fromStatus = ProcTable.snapshot(commandLines: false)
        for (pid, expected) in zip(pids, ["a\\\\b", "x\\ny"]) {
            let viaStat = try XCTUnwrap(fromStat.entries.first { $0.pid == pid })
            let viaStatus = try XCTUnwrap(fromStatus.entries.first { $0.pid == pid })
            XCTAssertEqual(viaStatus.name, expected, "status's own text")
            XCTAssertEqual(viaStat.name, viaStatus.name)
            XCTAssertEqual(viaStat.state, viaStatus.state)
            XCTAssertEqual(viaStat.ppid, viaStatus.ppid)
        }
    }

    /// Waits (at most 5 s) until /proc/PID/stat's state is S: the program has reached
    /// its sleep.
    private func waitUntilAsleep(_ pid: Int32) {
        for _ in 0..<2500 {
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[close...].dropFirst(2).first == "S" { return }
            usleep(2_000)
        }
        XCTFail("process \(pid) never reached its sleep")
    }

    /// A field of /proc/PID/status as the kernel wrote it (the witness: no parser of pidsh's).
    private func statusField(_ pid: Int32, _ key: String) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
        return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
    }

    /// `ns tree` reads a process's PID in its own namespace and its effective uid with
    /// NS_GET_TGID_IN_PIDNS and PIDFD_GET_INFO instead of status: the same numbers as
    /// status's NSpid (its last) and Uid (its second, the effective), at every depth,
    /// for a process whose effective uid is not its real one, and for a name status
    /// escapes (taken from status).
    func testOwnPidAndUidFromTheKernelAreStatussNSpidAndUid() throws {
        try requireRoot("clone(CLONE_NEWPID), setpriv --euid")
        let (a, _, c) = try namespaces()
        let d = try session.newNamespace(parent: c)
        _ = try spawnSleep(join: d)
        var other = SpawnOptions(path: "/usr/bin/setpriv", arguments: ["setpriv", "--euid", "65534", "/bin/sleep", "1000"])
        other.joinNamespace = c
        let changed = try session.spawn(other)
        XCTAssertEqual(symlink("/bin/sleep", path("x\ny")), 0)
        var escaped = SpawnOptions(path: path("x\ny"), arguments: ["x\ny", "1000"])
        escaped.joinNamespace = d
        let oddName = try session.spawn(escaped)
        XCTAssertTrue(eventually { self.statusField(changed.pid, "Name") == ["sleep"] }, "setpriv has become sleep")
        let table = ProcTable.snapshot(ProcNeeds(pidsAtEveryLevel: false, ownPidsAndUids: true, details: .belowOwnNamespace))
        let mine = Set(started.map(\.pid) + [changed.pid, oddName.pid])
        let rows = table.entries.filter { mine.contains($0.pid) }
        XCTAssertEqual(Set(rows.map(\.pid)), mine.filter { self.statusField($0, "NSpid") != nil })
        XCTAssertEqual(Set(rows.map(\.level)), [1, 2, 3])
        for e in rows {
            let nspid = try XCTUnwrap(statusField(e.pid, "NSpid"), "\(e.pid) lives")
            let uid = try XCTUnwrap(statusField(e.pid, "Uid"))
            XCTAssertEqual(e.ownPid.map(String.init), nspid.last, "\(e.pid): its PID inside its namespace")
            XCTAssertEqual(String(e.uid), uid[1], "\(e.pid): its effective uid")
            XCTAssertEqual(e.level, nspid.count - 1)
            XCTAssertEqual(e.name, statusField(e.pid, "Name")?.joined(separator: " "))
            // The view ns tree draws numbers it so as well.
            let row = try XCTUnwrap(table.view(fromNamespace: e.nsInode, level: e.level).first { $0.entry.pid == e.pid })
            XCTAssertEqual(String(row.pid), nspid.last)
        }
        XCTAssertEqual(rows.first { $0.pid == changed.pid }?.uid, 65534, "the effective uid, not the real (0)")
        XCTAssertEqual(rows.first { $0.pid == oddName.pid }?.name, "x\\ny", "status's text")
        if Self.kernelAtLeast(6, 13) {
            XCTAssertTrue(rows.filter { $0.pid != oddName.pid }.allSatisfy { $0.nspid.isEmpty }, "NSpid not read: the kernel answered")
        }
        _ = a
    }

    private static func kernelAtLeast(_ major: Int, _ minor: Int) -> Bool {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) >= (major, minor)
    }

    func testNsListReadsOneProcessPerNamespaceAndKeepsTheOrder() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let (a, b, c) = try namespaces()
        let firsts = ProcTable.snapshot(ProcNeeds(details: .firstOfEachNamespace))
        let full = ProcTable.snapshot()
        // Only this test's namespaces: others come and go on a shared machine.
        let ours: Set<UInt64> = [a.inode, b.inode, c.inode]
        let order = firsts.namespaces().map(\.inode).filter(ours.contains)
        XCTAssertEqual(order, full.namespaces().map(\.inode).filter(ours.contains))
        XCTAssertLessThan(try XCTUnwrap(order.firstIndex(of: a.inode)), try XCTUnwrap(order.firstIndex(of: b.inode)), "a was made first")
        for ns in [a, b, c] {
            let info = try XCTUnwrap(firsts.namespaces().first { $0.inode == ns.inode })
            XCTAssertEqual(info.processes.map(\.pid), witness(linkIn: [ns.id]).sorted(), "every member counted")
            let first = try XCTUnwrap(info.processes.first)
            XCTAssertEqual(first.pid, ns.initProcess!.pid, "its init has its lowest PID")
            XCTAssertEqual(first.nspid.last, 1)
            XCTAssertEqual(first.name, "pidsh-init")
            XCTAssertEqual(first.commandLine, ["pidsh-init"])
            XCTAssertTrue(info.processes.dropFirst().allSatisfy { $0.nspid.isEmpty && $0.name.isEmpty }, "the others are only located")
        }
    }

    /// After PIDs wrap, a member can have a lower PID than its namespace's init: `ns
    /// list` then looks further for the init, and the order is still a full snapshot's.
    /// The wrap is made as the kernel makes it: the host's last PID (ns_last_pid) is set
    /// near pid_max for the init, then back to where it was for the member.
    func testAMemberNumberedBelowItsInitAsAfterPIDsWrap() throws {
        try requireRoot("ns_last_pid")
        func sysctl(_ name: String) -> Int32? {
            (try? String(contentsOfFile: "/proc/sys/kernel/" + name, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        func setLastPid(_ value: Int32) -> Bool {
            let fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            let text = String(value)
            return write(fd, text, text.utf8.count) == text.utf8.count
        }
        let last = try XCTUnwrap(sysctl("ns_last_pid")), max = try XCTUnwrap(sysctl("pid_max"))
        try XCTSkipUnless(max - last > 2000 && setLastPid(max - 1000), "no room for the wrap (last PID \(last) of \(max))")
        let a = try session.newNamespace()
        XCTAssertTrue(setLastPid(last))
        let initPid = try XCTUnwrap(a.initProcess?.pid)
        let low = try spawnSleep(join: a)
        try XCTSkipUnless(low.pid < initPid, "another process took the PIDs below the init's")
        let b = try session.newNamespace()
        let firsts = ProcTable.snapshot(ProcNeeds(details: .firstOfEachNamespace))
        let ours: Set<UInt64> = [a.inode, b.inode]   // others come and go on a shared machine
        let order = firsts.namespaces().map(\.inode).filter(ours.contains)
        XCTAssertEqual(order, ProcTable.snapshot().namespaces().map(\.inode).filter(ours.contains))
        XCTAssertLessThan(try XCTUnwrap(order.firstIndex(of: a.inode)), try XCTUnwrap(order.firstIndex(of: b.inode)), "a was made first")
        let info = try XCTUnwrap(firsts.namespaces().first { $0.inode == a.inode })
        XCTAssertEqual(info.processes.map(\.pid), witness(linkIn: [a.id]).sorted())
        XCTAssertEqual(info.processes.first?.pid, low.pid, "its lowest PID is the member's")
        XCTAssertEqual(info.processes.first { $0.pid == initPid }?.nspid.last, 1, "its init was found and read")
    }
}
