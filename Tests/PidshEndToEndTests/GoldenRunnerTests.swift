import Foundation
import XCTest

/// `pidsh test` as a transcript tester: inline `#>` expectations, the matching forms
/// end to end, parallel runs (isolated, exclusive), skip directives, the timeout, and
/// the TAP and JUnit reports (parsed by python3, as CI tools would).
final class GoldenRunnerTests: ReliabilityTestCase {
    func write(_ name: String, _ text: String) throws -> String {
        let path = tempDir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testInlineExpectationsBelongToTheTopLevelStatement() throws {
        let script = try write("inline.pidsh", """
        #: output of a def call, a loop and a background program goes with its statement
        def greet WHO { echo "hi $WHO" }
        greet there
        #> hi there
        for i in 1..2 { echo "line $i" }
        #> line 1
        #> line [0-9] (re)
        let p = spawn sh -c 'echo from the background'; wait $p
        #> from the background
        echo "my PID is $$"
        #> my PID is <pid#*> (glob)
        expect 1 == 2

        """)
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1, r.transcript)
        // The failing expect's error and the status are missing: the diff says where.
        assertContains(r.stdout, "FAIL \(script): exit status 3, expected 0")
        assertContains(r.stdout, "@@ -12,0 +6,4 @@ after `expect 1 == 2` (line 12)")
        assertContains(r.stdout, "+        6 | inline.pidsh:12:1: error: expectation failed: 1 == 2")
        assertContains(r.stdout, "+        9 | [3]")
        assertContains(r.stdout, "failed at \(script):13")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/inline.out"), "no .out needed")

        let u = run([Self.binary!, "test", "--update", "--accept-failures", script])
        XCTAssertEqual(u.status, 0, u.transcript)
        assertContains(u.stdout, "updated \(script) (inline)")
        let text = try String(contentsOfFile: script, encoding: .utf8)
        // Pattern lines that still match are kept; the new block follows its statement.
        assertContains(text, "#> line [0-9] (re)\n")
        assertContains(text, "#> my PID is <pid#*> (glob)\n")
        assertContains(text, "expect 1 == 2\n#> inline.pidsh:12:1: error: expectation failed: 1 == 2 (left: 1 (integer), right: 2 (integer))\n#>   expect 1 == 2\n#>   ^~~~~~\n#> [3]\n")
        let again = run([Self.binary!, "test", script])
        XCTAssertEqual(again.status, 0, again.transcript)
        assertContains(again.stdout, "ok   \(script)\n1 passed, 0 failed\n")
    }

    /// Recording `#>` lines moves the statements below them; an error that names its own
    /// line is recorded again with the line it has now, so one --update is enough.
    func testUpdateRecordsLineNumbersAsTheyEndUp() throws {
        let script = try write("lines.pidsh", "echo a\necho b\ntry false\n")
        let u = run([Self.binary!, "test", "--update", "--inline", script])
        XCTAssertEqual(u.status, 0, u.transcript)
        assertContains(u.stdout, "updated \(script) (inline)")
        XCTAssertEqual(try String(contentsOfFile: script, encoding: .utf8),
                       "echo a\n#> a\necho b\n#> b\ntry false\n#> lines.pidsh:5:5: error: `false` failed\n#>   try false\n#>       ^~~~~\n")
        let again = run([Self.binary!, "test", script])
        XCTAssertEqual(again.status, 0, again.transcript)
    }

    /// docs/tutorials.md's worked example passes as written, and the failure it shows
    /// (its `line 2` expected as `line two`) is what pidsh test prints.
    func testTutorialsWorkedExampleIsTrue() throws {
        try requireRoot("the example says #test: skip-unless root")
        let doc = try String(contentsOf: HelpTests.root.appendingPathComponent("docs/tutorials.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map { $0.element }
        guard let example = blocks.first(where: { $0.hasPrefix("#!/usr/bin/env pidsh\n#test:") }),
              let failure = blocks.first(where: { $0.hasPrefix("FAIL greet.pidsh") }) else { return XCTFail("no worked example") }
        let script = try write("greet.pidsh", example)
        let ok = run([Self.binary!, "test", "greet.pidsh"].map { $0 }, in: tempDir)
        XCTAssertEqual(ok.stdout, "ok   greet.pidsh\n1 passed, 0 failed\n", ok.transcript)
        try example.replacingOccurrences(of: "#> line 2\n", with: "#> line two\n").write(toFile: script, atomically: true, encoding: .utf8)
        let bad = run([Self.binary!, "test", "greet.pidsh"], in: tempDir)
        XCTAssertEqual(bad.stdout, failure, bad.transcript)
    }

    /// Runs argv with its working directory set (through sh: `cd DIR && exec ...`).
    func run(_ argv: [String], in directory: String) -> PidshRun {
        run(["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argv)
    }

    func testOutputInTheWrongStatementFails() throws {
        let script = try write("moved.pidsh", "echo one\necho two\n#> one\n#> two\n")
        let r = run([Self.binary!, "test", script])
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stdout, "after `echo one` (line 1)")
        assertContains(r.stdout, "failed at \(script):2")
    }

    func testUpdateInlineMovesATranscriptIntoTheScript() throws {
        let script = try write("move.pidsh", "echo a\necho b\n")
        try "a\nb\n".write(toFile: tempDir + "/move.out", atomically: true, encoding: .utf8)
        let u = run([Self.binary!, "test", "--update", "--inline", script])
        XCTAssertEqual(u.status, 0, u.transcript)
        XCTAssertEqual(try String(contentsOfFile: script, encoding: .utf8), "echo a\n#> a\necho b\n#> b\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tempDir + "/move.out"))
        // Both at once would be ambiguous.
        try "a\nb\n".write(toFile: tempDir + "/move.out", atomically: true, encoding: .utf8)
        let both = run([Self.binary!, "test", script])
        XCTAssertEqual(both.status, 1, both.transcript)
        assertContains(both.stdout, "inline expectations (#> lines) and \(tempDir)/move.out as well")
    }

    /// Each run has its own HOME and temporary directory, and with -j 2 two scripts run
    /// at the same time: each waits (at most 10 s) for the other to have started.
    func testParallelRunsAreConcurrentAndIsolated() throws {
        let shared = tempDir + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        for (me, other) in [("a", "b"), ("b", "a")] {
            _ = try write("\(me).pidsh", """
            echo "$HOME" > \(shared)/\(me).home
            echo "$TMPDIR" > \(shared)/\(me).tmp
            echo mine > $HOME/file-\(me)
            ls $HOME $TMPDIR
            #> /tmp/pidsh-test\\.[A-Za-z0-9]{6}/home: (re)
            #> file-\(me)
            #>
            #> /tmp/pidsh-test.??????/tmp: (glob)
            touch \(shared)/\(me).started
            let waited = 0
            while ! test -e \(shared)/\(other).started {
                expect $waited < 1000 "the other script runs at the same time"
                sleep 0.01
                let waited = $waited + 1
            }

            """)
        }
        let r = run([Self.binary!, "test", "-j", "2", tempDir + "/a.pidsh", tempDir + "/b.pidsh"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stdout, "2 passed, 0 failed")
        let homes = try ["a", "b"].map { try String(contentsOfFile: "\(shared)/\($0).home", encoding: .utf8) }
        let tmps = try ["a", "b"].map { try String(contentsOfFile: "\(shared)/\($0).tmp", encoding: .utf8) }
        XCTAssertNotEqual(homes[0], homes[1])
        XCTAssertNotEqual(tmps[0], tmps[1])
        for d in homes + tmps {
            let dir = d.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "\(dir) removed after the run")
        }
    }

    /// A `#test: exclusive` script never runs beside another: the others hold a marker
    /// file for half a second while they run, and the exclusive one, looking after a
    /// fifth of a second, finds none. (Without the directive it finds three.)
    func testExclusiveScriptRunsAlone() throws {
        let running = tempDir + "/running"
        try FileManager.default.createDirectory(atPath: running, withIntermediateDirectories: false)
        var scripts: [String] = []
        for name in ["a", "b", "c"] {
            scripts.append(try write("\(name).pidsh", "touch \(running)/\(name)\nsleep 0.5\nrm \(running)/\(name)\necho done\n#> done\n"))
        }
        scripts.insert(try write("alone.pidsh", """
        #test: exclusive
        sleep 0.2
        expect $(ls \(running) | wc -l) == 0 "nothing else runs"
        echo alone
        #> alone

        """), at: 0)
        let r = run([Self.binary!, "test", "-j", "4"] + scripts, timeout: 30)
        XCTAssertEqual(r.status, 0, r.transcript)
        // Reported in the order given, though it ran last.
        XCTAssertTrue(r.stdout.hasPrefix("ok   \(scripts[0])\n"), r.transcript)
        assertContains(r.stdout, "4 passed, 0 failed")
    }

    func testSkipDirectives() throws {
        let missing = try write("needs-runc.pidsh", "#test: skip-unless command no-such-program-pidsh\necho never\n")
        let present = try write("needs-sh.pidsh", "#test: skip-unless command sh\necho hi\n#> hi\n")
        let root = try write("needs-root.pidsh", "#test: skip-unless root\necho hi\n#> hi\n")
        let bad = try write("bad.pidsh", "#test: skip-unless moon\necho hi\n#> hi\n")
        let r = run([Self.binary!, "test", missing, present, root, bad])
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stdout, "skip \(missing): needs the command no-such-program-pidsh")
        assertContains(r.stdout, "ok   \(present)")
        assertContains(r.stdout, "FAIL \(bad): \(bad):1: unknown test directive `#test: skip-unless moon`")
        XCTAssertTrue(r.stdout.hasSuffix("2 passed, 1 failed, 1 skipped\n") || getuid() != 0, r.transcript)
        // `#:` is narration, not a directive.
        let narrated = try write("narrated.pidsh", "#: skip-unless root\necho hi\n#> hi\n")
        let n = run([Self.binary!, "test", narrated])
        XCTAssertTrue(n.stdout.hasSuffix("1 passed, 0 failed\n"), n.transcript)
    }

    func testSkipUnlessRootAsANormalUser() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let root = try write("needs-root.pidsh", "#test: skip-unless root\necho hi\n#> hi\n")
        let r = run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Self.binary!, "test", root])
        XCTAssertEqual(r.status, 0, r.transcript)
        assertContains(r.stdout, "skip \(root): needs root (#test: skip-unless root)")
        assertContains(r.stdout, "0 passed, 0 failed, 1 skipped")
    }

    func testTimeoutStopsARunThatHangs() throws {
        let s = marker(7571)
        let script = try write("hangs.pidsh", "echo started\nsleep \(s)\n")
        let r = run([Self.binary!, "test", "--timeout", "1", script], timeout: 20)
        XCTAssertEqual(r.status, 1, r.transcript)
        assertContains(r.stdout, "FAIL \(script): timed out after 1 s (--timeout): stopped with SIGTERM")
        assertContains(r.stdout, "  started")
    }

    /// SIGTERM to `pidsh test` stops its runs (each pidsh tears down) and removes their
    /// temporary directories: nothing is left.
    func testStoppedRunnerLeavesNothing() throws {
        let s = marker(7572)
        let scratch = tempDir + "/scratch.txt"
        let script = try write("long.pidsh", "echo $TMPDIR > \(scratch)\nsleep \(s)\n")
        guard let bg = start([Self.binary!, "test", script]) else { return }
        XCTAssertTrue(waitUntil(timeout: 10) { (try? String(contentsOfFile: scratch, encoding: .utf8))?.hasSuffix("\n") ?? false })
        XCTAssertTrue(waitUntil(timeout: 10) { !self.processes().filter { $0.name == "sleep" && self.commandLine($0.pid) == "sleep \(s)" }.isEmpty })
        kill(bg.pid, SIGTERM)
        XCTAssertEqual(waitForExit(bg), 128 + SIGTERM, bg.transcript)
        assertContains(bg.stdout, "pidsh test: stopped by SIGTERM: the runs under way were stopped")
        let dir = (try String(contentsOfFile: scratch, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(dir.hasPrefix("/tmp/pidsh-test."), dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: String(dir.dropLast("/tmp".count))), "its temporary directory is gone")
    }

    /// SIGKILL to `pidsh test` gives it no chance to clean up: its janitor removes each
    /// run's directory with what the script left in it, through no symbolic link.
    func testKilledRunnerLeavesNoDirectory() throws {
        let s = marker(7573)
        let scratch = tempDir + "/scratch.txt"
        let outside = tempDir + "/outside"
        XCTAssertEqual(mkdir(outside, 0o755), 0)
        FileManager.default.createFile(atPath: outside + "/keep", contents: Data("kept\n".utf8))
        let script = try write("killed.pidsh", """
        /bin/sh -c 'mkdir -p $TMPDIR/a/b; echo x > $TMPDIR/a/b/f; echo y > $HOME/h; ln -s \(outside) $TMPDIR/a/link'
        echo $TMPDIR > \(scratch)
        sleep \(s)

        """)
        guard let bg = start([Self.binary!, "test", script]) else { return }
        XCTAssertTrue(waitUntil(timeout: 10) { (try? String(contentsOfFile: scratch, encoding: .utf8))?.hasSuffix("\n") ?? false })
        let dir = ((try? String(contentsOfFile: scratch, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(dir.hasPrefix("/tmp/pidsh-test."), dir)
        let root = String(dir.dropLast("/tmp".count))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/home/h"), "the script wrote its files")
        kill(bg.pid, SIGKILL)
        _ = waitForExit(bg)
        XCTAssertTrue(waitUntil(timeout: 10) { !FileManager.default.fileExists(atPath: root) }, "\(root) is gone")
        XCTAssertEqual(try? String(contentsOfFile: outside + "/keep", encoding: .utf8), "kept\n", "the link was not followed")
        XCTAssertTrue(waitUntil(timeout: 10) { self.processes().filter { $0.name == "sleep" && self.commandLine($0.pid) == "sleep \(s)" }.isEmpty },
                      "the run's sleep is gone")
    }

    func commandLine(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    func testColourOnlyOnATerminal() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal")
        let script = try write("c.pidsh", "echo new\n#> old\n")
        // script(1) gives pidsh test a pseudo-terminal; NO_COLOR must be unset for that.
        let tty = run(["/usr/bin/env", "-u", "NO_COLOR", "/usr/bin/script", "-qec", "\(Self.binary!) test \(script)", "/dev/null"])
        assertContains(tty.stdout, "\u{1B}[31m-   2      | old\u{1B}[0m")
        assertContains(tty.stdout, "\u{1B}[32m+        1 | new\u{1B}[0m")
        let pipe = run(["/usr/bin/env", "-u", "NO_COLOR", Self.binary!, "test", script])
        assertNotContains(pipe.stdout, "\u{1B}[")
    }

    /// --tap and --junit, read by python3's xml.etree and a TAP reader.
    func testTAPAndJUnitReportsParse() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/env"), "needs env")
        let pass = try write("pass.pidsh", "echo ok\n#> ok\n")
        let fail = try write("fail.pidsh", "echo '<b> & \"q\"'\n#> something else\n")
        let skip = try write("skip.pidsh", "#test: skip-unless command no-such-program-pidsh\n")
        let junit = tempDir + "/report.xml"
        let r = run([Self.binary!, "test", "--tap", "--junit", junit, pass, fail, skip])
        XCTAssertEqual(r.status, 1, r.transcript)
        let tapFile = try write("report.tap", r.stdout)
        let reader = try write("read.py", #"""
        import json, re, sys, xml.etree.ElementTree as ET
        tap = open(sys.argv[1]).read().split("\n")
        assert tap[0] == "TAP version 13", tap[0]
        plan = int(tap[1].split("..")[1])
        tests, in_yaml, yaml = [], False, {}
        for line in tap[2:]:
            if line == "  ---": in_yaml = True; continue
            if line == "  ...": in_yaml = False; continue
            if in_yaml:
                if line.startswith("  ") and not line.startswith("    ") and ":" in line:
                    k, v = line[2:].split(":", 1)
                    yaml.setdefault(tests[-1]["n"], {})[k] = v.strip()
                continue
            m = re.match(r"^(not )?ok (\d+)(?: - (.*?))?(?: # SKIP (.*))?$", line)
            if m:
                tests.append({"n": int(m.group(2)), "ok": m.group(1) is None, "name": m.group(3), "skip": m.group(4) is not None})
        root = ET.parse(sys.argv[2]).getroot()
        suite = root.find("testsuite")
        cases = [{"name": c.get("name"), "file": c.get("file"),
                  "failure": (c.find("failure").get("message"), c.find("failure").text) if c.find("failure") is not None else None,
                  "skipped": c.find("skipped") is not None} for c in suite.findall("testcase")]
        print(json.dumps({"plan": plan, "tap": tests, "yaml": {str(k): v for k, v in yaml.items()}, "last": tap[-2],
                          "junit": {"tests": root.get("tests"), "failures": root.get("failures"), "skipped": root.get("skipped"), "cases": cases}}))
        """#)
        let py = run(["/usr/bin/env", "python3", reader, tapFile, junit])
        XCTAssertEqual(py.status, 0, py.transcript)
        guard let doc = parseJSON(py.stdout) as? [String: Any] else { return XCTFail(py.transcript) }
        XCTAssertEqual(doc["plan"] as? Int, 3)
        let tap = doc["tap"] as? [[String: Any]] ?? []
        XCTAssertEqual(tap.map { $0["n"] as? Int }, [1, 2, 3])
        XCTAssertEqual(tap.map { $0["ok"] as? Bool }, [true, false, true])
        XCTAssertEqual(tap.map { $0["skip"] as? Bool }, [false, false, true])
        XCTAssertEqual(tap.map { $0["name"] as? String }, [pass, fail, skip])
        let yaml = (doc["yaml"] as? [String: [String: String]])?["2"]
        XCTAssertEqual(yaml?["at"], "\"\(fail):2\"")
        XCTAssertEqual(doc["last"] as? String, "# 1 passed, 1 failed, 1 skipped")
        let j = doc["junit"] as? [String: Any] ?? [:]
        XCTAssertEqual(j["tests"] as? String, "3")
        XCTAssertEqual(j["failures"] as? String, "1")
        XCTAssertEqual(j["skipped"] as? String, "1")
        let cases = j["cases"] as? [[String: Any]] ?? []
        XCTAssertEqual(cases.map { $0["name"] as? String }, ["pass.pidsh", "fail.pidsh", "skip.pidsh"])
        XCTAssertEqual(cases.map { $0["skipped"] as? Bool }, [false, false, true])
        let failure = cases[1]["failure"] as? [Any]
        XCTAssertEqual(failure?.first as? String, "output differs from the expected transcript (at \(fail):2)")
        // The diff survives XML escaping intact.
        assertContains(failure?.last as? String ?? "", "+        1 | <b> & \"q\"")
        assertContains(failure?.last as? String ?? "", "-   2      | something else")
    }
}
