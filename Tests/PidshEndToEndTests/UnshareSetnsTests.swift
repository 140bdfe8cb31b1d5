import Foundation
import XCTest

/// `unshare --pid`, `setns NS|PROCESS`, `setns --self`: they move only pidsh's FUTURE
/// children; pidsh itself never changes namespace.
final class UnshareSetnsTests: EndToEndTestCase {
    func testUnshareMovesOnlyFutureChildren() throws {
        let s = marker(7301)
        let r = expectSuccess(pidsh(#"""
        echo "self1=$$"
        echo "ns1=$(readlink /proc/$$/ns/pid)"
        unshare --pid
        echo "self2=$$"
        let first = spawn sleep \#(s)
        let second = spawn sleep \#(s)
        echo "first=$first.nspid"
        echo "firstpp=$first.nsppid"
        echo "second=$second.nspid"
        echo "ns2=$(readlink /proc/$$/ns/pid)"
        echo "forchildren=$(readlink /proc/$$/ns/pid_for_children)"
        spawn --wait sh -c 'echo "fifth=$$ ppid=$PPID"'
        echo "firstns=$first.ns"
        expect $first.ns == $second.ns
        expect $first.ns != $(ns id $$)
        """#))
        let f = r.fields
        XCTAssertEqual(f["self1"], f["self2"], "$$ unchanged\n\(r.transcript)")
        XCTAssertEqual(f["ns1"], f["ns2"], "pidsh stays in its namespace")
        XCTAssertEqual(f["first"], "1", "the next child is PID 1")
        XCTAssertEqual(f["firstpp"], "0")
        XCTAssertEqual(f["second"], "2", "the one after it is PID 2")
        XCTAssertEqual(f["forchildren"], f["firstns"], "pid_for_children is the new namespace")
        XCTAssertNotEqual(f["firstns"], f["ns1"])
        // The two readlinks of $(...) were children 3 and 4: every program pidsh runs is.
        XCTAssertEqual(f["fifth"], "5 ppid=0")
    }

    func testSecondUnshareFailsEINVALExplainingSetnsSelf() throws {
        let s = marker(7302)
        let r = pidsh(#"""
        unshare --pid
        let a = spawn sleep \#(s)
        try unshare --pid
        echo "status=$?"
        setns --self
        spawn --wait sh -c 'echo "back=$$"'
        echo "self=$$"
        unshare --pid
        let b = spawn sleep \#(s)
        echo "bnspid=$b.nspid"
        unshare --pid
        """#)
        XCTAssertEqual(r.status, 1, "the last unshare fails the script\n\(r.transcript)")
        XCTAssertEqual(r.fields["status"], "1")
        XCTAssertNotEqual(r.fields["back"], "1", "after setns --self children are in pidsh's namespace again")
        XCTAssertGreaterThan(Int(r.fields["back"] ?? "0") ?? 0, 1)
        XCTAssertEqual(r.fields["bnspid"], "1", "after setns --self, unshare --pid works again: a fresh namespace")
        assertContains(r.stderr, "unshare(CLONE_NEWPID): EINVAL")
        assertContains(r.stderr, "only while pid_for_children is the caller's own namespace")
        assertContains(r.stderr, "Run `setns --self` first")
        assertContains(r.stderr, "-c:3:5:")
        assertContains(r.stderr, "-c:11:1:")
    }

    func testSetnsIntoNamespaceOrProcess() throws {
        let s = marker(7303)
        let r = expectSuccess(pidsh(#"""
        echo "self1=$$"
        let ns = ns new
        setns $ns
        echo "self2=$$"
        let a = spawn sleep \#(s)
        echo "a=$a.nspid"
        spawn --wait sh -c 'echo "sh=$$"'
        expect $a.ns == $ns
        setns --self
        let b = spawn sleep \#(s)
        echo "bpids=$b.pids.length"
        let other = ns new
        let c = spawn --ns $other sleep \#(s)
        setns $c
        let d = spawn sleep \#(s)
        echo "d=$d.nspid"
        expect $d.ns == $other
        setns --self
        echo "self3=$$"
        """#))
        let f = r.fields
        XCTAssertEqual(f["self1"], f["self2"], r.transcript)
        XCTAssertEqual(f["self1"], f["self3"])
        XCTAssertEqual(f["a"], "2", "future children join NS (after its init)")
        XCTAssertEqual(f["sh"], "3")
        XCTAssertEqual(f["bpids"], "1", "setns --self: children back in pidsh's namespace")
        XCTAssertEqual(f["d"], "3", "setns PROCESS joins that process's namespace")
    }

    func testUnshareAfterSetnsFailsEINVAL() throws {
        let r = pidsh(#"""
        let ns = ns new
        setns $ns
        unshare --pid
        """#)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stderr, "unshare(CLONE_NEWPID): EINVAL")
        assertContains(r.stderr, "after `unshare --pid` or `setns`")
        assertContains(r.stderr, "setns --self")
    }

    func testSetnsErrors() throws {
        let r = pidsh(#"""
        try setns
        try setns --self extra
        try setns 999999999
        let ns = ns new
        let inner = ns new --parent $ns
        setns $inner
        try setns $ns
        echo "status=$?"
        setns --self
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "setns needs one namespace or process (or --self)")
        assertContains(r.stderr, "setns --self takes no namespace")
        assertContains(r.stderr, "999999999")
        // From pidsh's own namespace, setns to any descendant works (even "upwards"
        // from the inner one): the rule is relative to pidsh's namespace, not the target.
        XCTAssertEqual(r.fields["status"], "0")
    }

    func testUnshareWithOtherArgumentsRunsUtilLinux() throws {
        let r = expectSuccess(pidsh(#"""
        unshare --pid --fork --mount-proc sh -c 'echo "inner=$$"; exec ps -o pid=,comm='
        unshare -p -f sh -c 'echo "pf=$$"'
        echo "self=$$"
        spawn --wait sh -c 'echo "after=$$"'
        """#))
        let f = r.fields
        XCTAssertEqual(f["inner"], "1", "util-linux unshare --fork: the shell is PID 1\n\(r.transcript)")
        XCTAssertEqual(f["pf"], "1")
        XCTAssertNotEqual(f["after"], "1", "pidsh's own children were not moved by util-linux unshare")
        XCTAssertTrue(r.stdoutLines.contains { $0.split(separator: " ") == ["1", "ps"] }, "with --mount-proc, ps (exec'd by the shell) sees itself as PID 1:\n\(r.transcript)")
    }
}
