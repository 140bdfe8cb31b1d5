import Foundation
import XCTest

/// `nest N [--mount-proc PATTERN] [--verbose] [CMD ARG...]`, as multi_pidns --levels N.
final class NestTests: EndToEndTestCase {
    func testNestWithProcMountsPerLevel() throws {
        let d = tempDir
        let r = expectSuccess(pidsh(#"""
        let l = nest 3 --mount-proc \#(d)/proc{level} --verbose
        echo "length=$l.length"
        echo "firstinit=$l.first.init.name"
        echo "lastinit=$l.last.init.name"
        echo "own=$(ns id $$)"
        for n in $l {
            echo "ns $n.level $n.parent $n"
        }
        echo ---
        ls -d \#(d)/proc2/[1-9]*
        echo ---
        ls -d \#(d)/proc1/[1-9]*
        echo ---
        ls -d \#(d)/proc0/[1-9]*
        echo ---
        grep -H 'Name:.*sleep' \#(d)/proc?/[1-9]*/status
        echo ---
        pids $l.last.init
        """#))
        let parts = r.stdout.components(separatedBy: "---\n")
        XCTAssertEqual(parts.count, 6, r.transcript)
        guard parts.count == 6 else { return }
        let head = parts[0].split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(head.prefix(4)), ["level 2: Mounted procfs at \(d)/proc2", "level 1: Mounted procfs at \(d)/proc1",
                                               "level 0: Mounted procfs at \(d)/proc0", "level 0: Final child sleeping .."],
                       "--verbose prints the article's lines, even under `let`\n\(r.transcript)")
        let f = r.fields
        XCTAssertEqual(f["length"], "3")
        XCTAssertEqual(f["firstinit"], "pidsh-init", "outer levels: pidsh's init")
        XCTAssertEqual(f["lastinit"], "sleep", "the innermost runs the command (default: sleep forever)")
        let nsLines = head.filter { $0.hasPrefix("ns ") }.map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(nsLines.map { $0[1] }, ["1", "2", "3"], "outermost first: level N-1 of multi_pidns is pidsh's level+1")
        if nsLines.count == 3 {
            XCTAssertEqual(nsLines[0][2], f["own"], "the outermost's parent is pidsh's namespace")
            XCTAssertEqual(nsLines[1][2], nsLines[0][3], "each level's parent is the one before it")
            XCTAssertEqual(nsLines[2][2], nsLines[1][3])
        }
        XCTAssertEqual(parts[1], "\(d)/proc2/1\n\(d)/proc2/2\n\(d)/proc2/3\n", "the outermost sees all three")
        XCTAssertEqual(parts[2], "\(d)/proc1/1\n\(d)/proc1/2\n")
        XCTAssertEqual(parts[3], "\(d)/proc0/1\n", "the innermost sees only itself")
        XCTAssertEqual(parts[4], "\(d)/proc0/1/status:Name:\tsleep\n\(d)/proc1/2/status:Name:\tsleep\n\(d)/proc2/3/status:Name:\tsleep\n",
                       "one sleeper, a PID per level")
        let pids = parts[5].split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(Array(pids.dropFirst()), ["3", "2", "1"], parts[5])
        for level in 0 ..< 3 { XCTAssertFalse(FileManager.default.fileExists(atPath: "\(d)/proc\(level)"), "cleaned up without umount") }
    }

    func testNestRunsACommandInTheInnermostLevel() throws {
        let s = marker(7601)
        let d = tempDir
        let r = expectSuccess(pidsh(#"""
        let l = nest 2 --mount-proc \#(d)/c{level} --verbose sleep \#(s)
        ps -C sleep -o nspid,level,cmd
        let q = nest 2 --no-mount sh -c 'echo "inner=$$ ppid=$PPID"; exec sleep \#(s)'
        """#))
        assertContains(r.stdout, "level 0: Final child running sleep \(s)")
        let rows = r.stdoutLines.map { $0.split(separator: " ").map(String.init) }
        XCTAssertTrue(rows.contains(["1", "2", "sleep", s]), "the command is PID 1 of the innermost, two levels down\n\(r.transcript)")
        // The innermost's output arrives asynchronously; it may or may not be printed
        // before pidsh exits. When it is, it must read PID 1.
        if let inner = r.fields["inner"] { XCTAssertEqual(inner, "1 ppid=0") }
    }

    func testNest32WorksAnd33FailsENOSPC() throws {
        try requireRoot("32 levels count from the root PID namespace; rootless pidsh is already one level down")
        let r = pidsh(#"""
        let deep = nest 32 --no-mount
        echo "length=$deep.length"
        echo "last=$deep.last.level"
        echo "pids=$deep.last.init.pids.length"
        try nest 33 --no-mount
        echo "status=$?"
        kill $deep.first
        echo "alive=$deep.last.alive"
        nest 33 --mount-proc \#(tempDir)/n{level}
        """#, timeout: 30)
        XCTAssertEqual(r.status, 1, r.transcript)
        let f = r.fields
        XCTAssertEqual(f["length"], "32")
        XCTAssertEqual(f["last"], "32")
        XCTAssertEqual(f["pids"], "33", "NSpid: pidsh's level and 32 more")
        XCTAssertEqual(f["status"], "1")
        XCTAssertEqual(f["alive"], "false", "killing the outermost init takes every level with it")
        assertContains(r.stderr, "ENOSPC")
        assertContains(r.stderr, "PID namespaces nest at most 32 levels below the root namespace")
        assertContains(r.stderr, "MAX_PID_NS_LEVEL")
        // One numbering in the whole message: levels below the root (not nest's own).
        assertContains(r.stderr, "nest 33: clone(CLONE_NEWPID) for level 33 below the root namespace: ENOSPC")
        assertContains(r.stderr, "-c:9:1:")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tempDir))?.filter { $0.hasPrefix("n") } ?? ["?"], [],
                       "the mount points of a failed nest are removed")
    }

    func testNestErrors() throws {
        let r = pidsh(#"""
        try nest
        try nest 0
        try nest abc
        try nest 65
        try nest 2 --mount-proc \#(tempDir)/fixed
        try nest 2 --bogus
        echo done
        """#)
        XCTAssertEqual(r.stdoutLines, ["done"], r.transcript)
        assertContains(r.stderr, "nest needs the number of levels")
        assertContains(r.stderr, "nest needs at least 1 level")
        assertContains(r.stderr, "the number of levels must be a number, got \"abc\"")
        assertContains(r.stderr, "nest 65: PID namespaces nest at most 32 levels")
        assertContains(r.stderr, "the --mount-proc pattern needs `{level}`")
        assertContains(r.stderr, "unknown option --bogus")
    }

    /// Mount points prepared together (the missing ones asked of the janitor at once):
    /// one that exists is used and left, the missing ones are made and removed, the
    /// procfs at each is its level's (witness: the mount table, and the processes each
    /// procfs shows: its level's init and those below), and a refused one fails the whole nest
    /// before any level is made, with the reason.
    func testMountPointsThatExistAndThatAreMissingTogether() throws {
        try requireRoot("procfs mounts")
        let d = tempDir + "/mix"
        XCTAssertEqual(mkdir(d, 0o755), 0)
        XCTAssertEqual(mkdir(d + "/p1", 0o755), 0, "p1 exists before the nest")
        let r = pidsh(#"""
        let l = nest 3 --mount-proc \#(d)/p{level}
        echo "mounted=$(awk -v d=\#(d)/ 'index($5, d) == 1 { for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "proc") n++ } END {print n}' /proc/self/mountinfo)"
        for k in 0..2 { echo "seen$k=$(ls \#(d)/p$k | grep -c '^[0-9]')" }
        try nest 2 --mount-proc /proc/sys/p{level}
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(r.fields["mounted"], "3", r.transcript)
        // Level 0 is the innermost: its procfs shows its init alone, level 2's all three.
        XCTAssertEqual([r.fields["seen0"], r.fields["seen1"], r.fields["seen2"]], ["1", "2", "3"], r.transcript)
        assertContains(r.stderr, "refusing to mount over /proc/sys")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? ["?"]
        XCTAssertEqual(left, ["p1"], "what pidsh made is gone, what it found is left")
        XCTAssertFalse(((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(d), "no mount left")
    }

    /// Mount points the janitor cannot make (a read-only filesystem: EROFS) fail the
    /// nest with the reason, and every answer to the requests sent together is read:
    /// the next request to the janitor (a mount point made afterwards) gets its own.
    func testMountPointsTheJanitorCannotMakeLeaveItsAnswersInOrder() throws {
        try requireRoot("mounting a read-only tmpfs")
        let ro = tempDir + "/ro", d = tempDir + "/after"
        XCTAssertEqual(mkdir(ro, 0o755), 0)
        // pidsh works in a mount namespace of its own: the read-only tmpfs is mounted
        // from inside the script, where pidsh's janitor sees it.
        let r = pidsh(#"""
        spawn --wait mount -t tmpfs -o ro tmpfs \#(ro)
        try nest 3 --mount-proc \#(ro)/p{level}
        let l = nest 2 --mount-proc \#(d){level}
        echo "made=$(ls -d \#(d)0/1 \#(d)1/1 | wc -l)"
        """#)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stderr, "EROFS")
        XCTAssertEqual(r.fields["made"], "2", "the nest after it got its own answers: \(r.transcript)")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tempDir))?.contains("after0"), false, "removed at exit")
    }

    /// The innermost program may exit before pidsh looks at its level: each level sends
    /// its namespace along with its report, so `nest` still returns every namespace.
    func testQuickInnermostProgramStillYieldsEveryNamespace() throws {
        try requireRoot("32 levels count from the root PID namespace; rootless pidsh is already one level down")
        let r = pidsh(#"""
        let l = nest 32 --mount-proc \#(tempDir)/q{level} /bin/true
        echo "length=$l.length"
        echo "innermost=$l.last.level"
        echo "outer-alive=$l.first.alive"
        """#, timeout: 30)
        expectSuccess(r)
        let f = r.fields
        XCTAssertEqual(f["length"], "32")
        XCTAssertEqual(f["innermost"], "32")
        XCTAssertEqual(f["outer-alive"], "true")
    }
}
