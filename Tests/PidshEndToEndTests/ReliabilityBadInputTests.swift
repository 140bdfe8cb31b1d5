import Foundation
import Glibc
import XCTest

/// Bad input: hostile script bytes, huge or deeply nested scripts, and commands aimed
/// at what is missing, dead or gone. Each gives a located error (FILE:LINE:COL and a
/// caret) and the documented exit code (2 syntax, 1 runtime); pidsh never crashes and
/// leaves nothing behind (EndToEndTestCase's tear-down checks processes and mounts).
final class ReliabilityBadInputTests: ReliabilityTestCase {
    /// Writes `bytes` to a script file and runs it.
    func runScript(_ bytes: [UInt8], name: String = "bad.pidsh", timeout: TimeInterval = 20) -> (PidshRun, String) {
        let path = tempDir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let start = Date()
        let r = run([Self.binary!, path], timeout: timeout)
        let elapsed = Date().timeIntervalSince(start)
        print("reliability: \(name) (\(bytes.count) bytes): exit \(r.status) in \(String(format: "%.2f", elapsed)) s")
        return (r, path)
    }

    func testANulByteIsALocatedSyntaxError() {
        let (r, path) = runScript(Array("echo a\necho b".utf8) + [0] + Array("c\necho d\n".utf8))
        assertNoCrash(r.status, r.stderr, "NUL")
        XCTAssertEqual(r.status, 2, r.transcript)
        assertLocatedError(r.stderr, at: "\(path):2:7", "NUL byte")
        XCTAssertEqual(r.stdout, "", "a script with a syntax error runs nothing")
    }

    func testInvalidUTF8IsALocatedSyntaxError() {
        for (bytes, column) in [([0xFF, 0xFE] as [UInt8], 6), ([0xC3] as [UInt8], 6), ([0xED, 0xA0, 0x80] as [UInt8], 6),
                                ([0xE2, 0x82] as [UInt8], 6), ([0xC0, 0xAF] as [UInt8], 6)] {
            let (r, path) = runScript(Array("echo ok\necho ".utf8) + bytes + Array(" x\n".utf8))
            assertNoCrash(r.status, r.stderr, "invalid UTF-8 \(bytes)")
            XCTAssertEqual(r.status, 2, r.transcript)
            assertLocatedError(r.stderr, at: "\(path):2:\(column)", "invalid UTF-8")
        }
        // Valid multi-byte text is fine, and columns count characters.
        let (ok, _) = runScript(Array("echo héllo → ✓ 𝄞\n".utf8), name: "utf8.pidsh")
        XCTAssertEqual(ok.status, 0, ok.transcript)
        XCTAssertEqual(ok.stdout, "héllo → ✓ 𝄞\n")
    }

    func testAOneMegabyteLine() {
        // 500,000 words on one line: parsed in linear time, echoed whole.
        let (r, _) = runScript(Array(("echo" + String(repeating: " ab", count: 350_000) + "\n").utf8), name: "long-words.pidsh")
        assertNoCrash(r.status, r.stderr, "1 MB line of words")
        XCTAssertEqual(r.status, 0, r.transcript.prefix(500).description)
        XCTAssertEqual(r.stdout.utf8.count, 350_000 * 3)
        // One unterminated 1 MB string: one located error (not one per re-read), excerpt cut short.
        let (u, path) = runScript(Array(("echo ok\nlet x = \"" + String(repeating: "x", count: 1_000_000) + "\n").utf8), name: "long-string.pidsh")
        assertNoCrash(u.status, u.stderr, "1 MB unterminated string")
        XCTAssertEqual(u.status, 2, String(u.transcript.prefix(500)))
        assertLocatedError(u.stderr, at: "\(path):2:9", "unterminated double quote")
        XCTAssertEqual(u.stderr.components(separatedBy: "unterminated double quote").count - 1, 1, "reported once")
        XCTAssertLessThan(u.stderr.utf8.count, 2000, "the excerpt is cut, not 1 MB of x")
    }

    func testDeepNestingIsALocatedErrorNotAStackOverflow() {
        let deepIf = String(repeating: "if true {\n", count: 2000) + "echo deep\n" + String(repeating: "}\n", count: 2000)
        let (r, path) = runScript(Array(deepIf.utf8), name: "deep-if.pidsh")
        assertNoCrash(r.status, r.stderr, "2,000 nested if")
        XCTAssertEqual(r.status, 2, String(r.transcript.prefix(1000)))
        assertLocatedError(r.stderr, at: "\(path):101:9", "nested too deeply")
        XCTAssertEqual(r.stderr.components(separatedBy: "nested too deeply").count - 1, 1, "reported once")

        // Right at the limit it runs.
        let ok = String(repeating: "if true {\n", count: 100) + "echo deep\n" + String(repeating: "}\n", count: 100)
        let (r2, _) = runScript(Array(ok.utf8), name: "deep-ok.pidsh")
        XCTAssertEqual(r2.status, 0, String(r2.transcript.prefix(1000)))
        XCTAssertEqual(r2.stdout, "deep\n")

        for (name, text, column) in [
            ("parens", "let x = " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000), 109),
            ("lists", "let x = " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000), 109),
            ("nots", "let x = " + String(repeating: "not ", count: 5_000) + "true", 409),
            ("minus", "let x = " + String(repeating: "- ", count: 5_000) + "1", 209),
            ("substitutions", "echo " + String(repeating: "$(echo ", count: 500) + "x" + String(repeating: ")", count: 500), 706),
            ("braces", "let x = " + String(repeating: "${", count: 5_000) + "1" + String(repeating: "}", count: 5_000), 209),
        ] {
            let (r, path) = runScript(Array((text + "\n").utf8), name: "deep-\(name).pidsh")
            assertNoCrash(r.status, r.stderr, "deep \(name)")
            XCTAssertEqual(r.status, 2, "\(name): " + String(r.transcript.prefix(600)))
            assertLocatedError(r.stderr, at: "\(path):1:\(column)", "nested too deeply")
        }
    }

    func testDeepRecursionAtRunTimeStopsWithALocatedError() {
        // Each call nests 90 blocks: the run-time stack check (or the 200-call limit)
        // stops it, located, before the stack overflows.
        let body = String(repeating: "if true {\n", count: 90) + "f\n" + String(repeating: "}\n", count: 90)
        let (r, path) = runScript(Array("def f {\n\(body)}\nf\n".utf8), name: "recursion.pidsh")
        assertNoCrash(r.status, r.stderr, "deep recursion")
        XCTAssertEqual(r.status, 1, String(r.transcript.prefix(1000)))
        XCTAssertTrue(r.stderr.hasPrefix("\(path):"), String(r.stderr.prefix(500)))
        XCTAssertTrue(r.stderr.contains("nested too deeply at run time") || r.stderr.contains("levels deep"), String(r.stderr.prefix(500)))
    }

    func testTenThousandStatements() {
        let text = "let x = 0\n" + String(repeating: "let x = $x + 1\n", count: 10_000) + "echo $x\n"
        let start = Date()
        let (r, _) = runScript(Array(text.utf8), name: "many.pidsh")
        XCTAssertEqual(r.status, 0, String(r.transcript.prefix(500)))
        XCTAssertEqual(r.stdout, "10000\n")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        // 10,000 syntax errors: reported (all of them, located), nothing runs, no crash.
        let (e, path) = runScript(Array(String(repeating: "let = \n", count: 10_000).utf8), name: "many-errors.pidsh")
        assertNoCrash(e.status, e.stderr, "10,000 errors")
        XCTAssertEqual(e.status, 2)
        assertLocatedError(e.stderr, at: "\(path):10000:5", "`let` needs a variable name")
    }

    // MARK: runtime errors

    func testSpawnOfAMissingProgramIntoADeadNamespaceAndPastDepth32() throws {
        try requireRoot("namespaces")
        let cases: [(String, String, String)] = [
            ("spawn /no/such/program", "-c:1:7", "no such program: /no/such/program"),
            ("spawn no-such-program-pidsh", "-c:1:7", "command not found: no-such-program-pidsh"),
            ("spawn --newpid /no/such/program", "-c:1:16", "no such program"),
            ("let ns = ns new\nkill $ns\nspawn --ns $ns /bin/true", "-c:3:12", "has no init any more"),
            ("let ns = ns new\nkill $ns\nns new --parent $ns", "-c:3:17", "has no init any more"),
            ("let n = nest 32 --no-mount\nns new --parent $n.last", "-c:2:17", "at most 32 levels"),
            ("let n = nest 32 --no-mount\nsetns $n.last\nspawn --newpid /bin/true", "-c:3:1", "at most 32 levels"),
            ("nest 33 --no-mount", "-c:1:1", "at most 32 levels"),
        ]
        for (code, location, message) in cases {
            let r = pidsh(code)
            assertNoCrash(r.status, r.stderr, code)
            XCTAssertEqual(r.status, 1, "\(code)\n\(r.transcript)")
            assertLocatedError(r.stderr, at: location, message)
        }
    }

    func testKillAndWaitOfAProcessThatIsGoneTwice() throws {
        let r = pidsh("""
        let p = spawn /bin/true
        let s1 = wait $p
        let s2 = wait $p
        echo "same=${s1 == s2}"; echo "code=$s1.code"
        try kill $p
        try kill $p
        try kill -KILL $p
        try wait $p.pid
        try wait $p.pid
        echo "survived"
        kill $p
        echo "not reached"
        """)
        assertNoCrash(r.status, r.stderr, "kill/wait twice")
        XCTAssertEqual(r.status, 1, r.transcript)
        XCTAssertEqual(r.fields["same"], "true", "a second wait returns the same status\n\(r.transcript)")
        XCTAssertEqual(r.fields["code"], "0")
        assertContains(r.stdout, "survived")
        assertNotContains(r.stdout, "not reached")
        assertLocatedError(r.stderr, at: "-c:5:10", "has already ended")
        assertLocatedError(r.stderr, at: "-c:6:10", "has already ended")
        assertLocatedError(r.stderr, at: "-c:7:16", "has already ended")
        assertLocatedError(r.stderr, at: "-c:8:10", "no process")
        assertLocatedError(r.stderr, at: "-c:9:10", "no process")
        assertLocatedError(r.stderr, at: "-c:11:6", "has already ended")

        // A namespace torn down twice.
        if getuid() == 0 {
            let n = pidsh("let ns = ns new\nkill $ns\ntry kill $ns\nkill $ns")
            XCTAssertEqual(n.status, 1, n.transcript)
            // The caret is on the namespace, not on the command.
            assertLocatedError(n.stderr, at: "-c:3:10", "already torn down")
            assertLocatedError(n.stderr, at: "-c:4:6", "already torn down")
        }
    }

    func testMountProcOnAFileAMissingParentAndDotDot() throws {
        try requireRoot("procfs mounts")
        let d = tempDir
        FileManager.default.createFile(atPath: d + "/file", contents: Data("x".utf8))
        let cases: [(String, String, String)] = [
            ("mount proc \(d)/file", "-c:1:12", "is not a directory"),
            ("mount proc \(d)/missing/sub", "-c:1:12", "\(d)/missing does not exist"),
            ("mount proc \(d)/../\(URL(fileURLWithPath: d).lastPathComponent)/x", "-c:1:12", "contains `..`"),
            ("mount proc \(d)/x/..", "-c:1:12", "contains `..`"),
            // The caret is on the path, not on the command.
            ("spawn --newpid --mount-proc \(d)/file /bin/true", "-c:1:29", "is not a directory"),
            ("nest 2 --mount-proc \(d)/missing/p{level}", "-c:1:21", "does not exist"),
            ("mount proc ''", "-c:1:12", "mount point is empty"),
        ]
        for (code, location, message) in cases {
            let r = pidsh(code)
            assertNoCrash(r.status, r.stderr, code)
            XCTAssertEqual(r.status, 1, "\(code)\n\(r.transcript)")
            assertLocatedError(r.stderr, at: location, message)
        }
        XCTAssertFalse(exists(d + "/missing"), "nothing created on the way")
        XCTAssertFalse(exists(d + "/x"))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: d))?.filter { !$0.hasPrefix(".") } ?? []
        XCTAssertEqual(left, ["file"], "nothing else created")
    }
}
