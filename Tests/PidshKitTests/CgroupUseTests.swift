@testable import PidshKit
import XCTest

/// Which scripts have pidsh join its session's cgroup itself (the rest have only its
/// children born there): those that name cgroups anywhere, or may run code not read yet.
final class CgroupUseTests: XCTestCase {
    func joins(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let (source, statements) = parsedCleanly(code, file: file, line: line)
        return CgroupUse.pidshJoins(source, statements: statements)
    }

    func testScriptsThatNameNoCgroupLeavePidshWhereItStarted() {
        XCTAssertFalse(joins("spawn --newpid --wait /bin/true"))
        XCTAssertFalse(joins("nest 32 --mount-proc /tmp/p{level}"))
        XCTAssertFalse(joins("def f { spawn sleep 1 }\nf\necho $$ > /tmp/x"))
    }

    func testAMentionAnywhereHasPidshJoin() {
        XCTAssertTrue(joins("grep '^0::' /proc/$$/cgroup"))
        XCTAssertTrue(joins("echo $$ > $cg/cgroup.procs"))
        XCTAssertTrue(joins("spawn --new cgroup --wait true"))
        XCTAssertTrue(joins("# cgroups are read below\ntrue"))
    }

    func testCodeNotReadYetHasPidshJoin() {
        XCTAssertTrue(joins("source lib.pidsh"))
        XCTAssertTrue(joins("let c = grep; $c x /dev/null"))
        XCTAssertTrue(CgroupUse.pidshJoins(nil, statements: nil), "at the prompt")
    }

    func testTheSearchFindsTheWordAtEitherEnd() {
        XCTAssertTrue(CgroupUse.mentionsCgroup(Array("cgroup".utf8)))
        XCTAssertTrue(CgroupUse.mentionsCgroup(Array("x cgroup".utf8)))
        XCTAssertFalse(CgroupUse.mentionsCgroup(Array("cgrou".utf8)))
        XCTAssertFalse(CgroupUse.mentionsCgroup(Array("group c".utf8)))
    }
}
