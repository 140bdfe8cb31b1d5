import Foundation
import Glibc
import XCTest

/// Statuses and stepping on a real terminal (the pty harness of ReplPtyTests): a ^C
/// that ends a foreground job leaves `$?` 130, as in every shell — a program, `spawn
/// --wait`, and a `wait` it interrupts; a command not found leaves 127; `pids` and `ns
/// id` print their value once; at `--step`'s prompt ^C stops the script and `q` quits
/// it, running nothing more. Witnesses: /proc (the processes, NSpid, the ns link) and
/// the file system (a statement that must not run would create a file).
extension ReplPtyTests {
    func testCtrlCLeavesStatus130_plain() throws { try ctrlCLeavesStatus130("plain") }
    func testCtrlCLeavesStatus130_libedit() throws { try ctrlCLeavesStatus130("libedit") }

    func ctrlCLeavesStatus130(_ editor: String) throws {
        let fg = marker(7531), waited = marker(7532), background = marker(7533)
        let t = try start(editor, environment: ["NO_COLOR": "1"])
        defer { t.close() }
        t.expectPrompt()
        // A foreground program: the ^C ends it.
        t.enter("sh -c 'echo fg_started; exec sleep \(fg)'")
        t.expectLine("fg_started")
        XCTAssertTrue(waitUntil(5) { self.processes(withCommandLine: "sleep \(fg)").count == 1 }, "the program runs")
        t.interrupt(prompt: "[130] pidsh> ")
        XCTAssertEqual(processes(withCommandLine: "sleep \(fg)").map(\.pid), [], "the ^C ended it")
        t.enter("echo \"fg=$?\"")
        t.expectLine("fg=130")
        t.expectPrompt()
        // `spawn --wait`: the same.
        t.enter("spawn --wait sh -c 'echo wait_started; exec sleep \(waited)'")
        t.expectLine("wait_started")
        XCTAssertTrue(waitUntil(5) { self.processes(withCommandLine: "sleep \(waited)").count == 1 }, "the program runs")
        t.interrupt(prompt: "[130] pidsh> ")
        XCTAssertEqual(processes(withCommandLine: "sleep \(waited)").map(\.pid), [], "the ^C ended it")
        t.enter("echo \"spawnwait=$?\"")
        t.expectLine("spawnwait=130")
        t.expectPrompt()
        // `wait` on a background process: the ^C interrupts the wait (the process, in a
        // group of its own, goes on), and `$?` is 130 as after bash's `wait`.
        t.enter("let p = spawn sleep \(background)")
        t.expectPrompt()
        t.enter("wait $p")
        XCTAssertTrue(waitUntil(5) { self.processes(withCommandLine: "sleep \(background)").count == 1 }, "the program runs")
        t.interrupt(prompt: "[130] pidsh> ")
        XCTAssertEqual(processes(withCommandLine: "sleep \(background)").count, 1, "the background process is not the ^C's")
        t.enter("echo \"wait=$?\"")
        t.expectLine("wait=130")
        t.expectPrompt()
        t.enter("kill -q $p")
        t.expectPrompt()
        // A command not found: 127 in the prompt and in `$?`.
        t.enter("no_such_command_status_15")
        t.expect("error: command not found: no_such_command_status_15")
        t.expectPrompt("[127] pidsh> ")
        t.enter("echo \"notfound=$?\"")
        t.expectLine("notfound=127")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
    }

    /// `pids $$` and `ns id $$` print their value once (they printed the text, then the
    /// REPL showed the value again). The witnesses are the kernel's files for pidsh's
    /// own PID, read by grep and readlink from where pidsh stands (rootless, the REPL is
    /// PID 1 of a namespace of its own, and only its /proc shows it so).
    func testPidsAndNsIdPrintTheirValueOnce() throws {
        let t = try start("plain", environment: ["NO_COLOR": "1"])
        defer { t.close() }
        t.expectPrompt()
        t.enter("sh -c 'echo nspid=$(grep NSpid /proc/$1/status | cut -f2-); echo link=$(readlink /proc/$1/ns/pid)' - $$")
        t.expect("\nlink=")
        t.expectPrompt()
        let lines = t.screen.components(separatedBy: "\n")
        let nspid = try XCTUnwrap(lines.first { $0.hasPrefix("nspid=") }, t.dump).dropFirst(6)
        let nsLink = try XCTUnwrap(lines.first { $0.hasPrefix("link=") }, t.dump).dropFirst(5)
        XCTAssertFalse(nspid.isEmpty || nsLink.isEmpty, t.dump)
        for (command, witness) in [("pids $$", String(nspid)), ("ns id $$", String(nsLink))] {
            let mark = t.screen.count
            t.enter(command)
            t.expectLine(witness)
            t.expectPrompt()
            let shown = String(t.screen.dropFirst(mark)).components(separatedBy: "\n")
            XCTAssertEqual(shown.filter { $0 == witness }.count, 1, "`\(command)` prints \(witness) once\n\(t.dump)")
            XCTAssertFalse(shown.contains { $0.hasPrefix("[") }, "no second rendering of the value\n\(t.dump)")
        }
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
    }

    /// At `--step`'s prompt, ^C stops the script (exit 130) and `q` quits it (exit with
    /// `$?`, as `exit` there would): in both, the statement shown does not run, and the
    /// session's process is gone.
    func testStepPromptCtrlCStopsAndQQuits() throws {
        for (answer, code) in [(Key.ctrlC, Int32(130)), ("q\r", Int32(0))] {
            let s = marker(answer == Key.ctrlC ? 7534 : 7535)
            let created = tempDir + "/created_\(s)"
            let script = tempDir + "/step_\(s).pidsh"
            try """
            echo first_ran
            let c = spawn sleep \(s)
            touch \(created)
            echo never_printed
            """.write(toFile: script, atomically: true, encoding: .utf8)
            let t = try start("plain", environment: ["NO_COLOR": "1"], arguments: ["--step", script])
            defer { t.close() }
            t.expect("[\(script):1] echo first_ran")
            t.expect("(Enter runs it, q quits, Ctrl-C stops) ")
            t.enter("")
            t.expectLine("first_ran")
            t.expect("[\(script):2] let c = spawn sleep \(s)")
            t.expect("(Enter runs it, q quits, Ctrl-C stops) ")
            t.enter("")
            t.expect("[\(script):3] touch \(created)")
            t.expect("(Enter runs it, q quits, Ctrl-C stops) ")
            XCTAssertEqual(processes(withCommandLine: "sleep \(s)").count, 1, "line 2 ran")
            t.send(answer)
            XCTAssertEqual(t.waitForExit(), code, t.dump)
            XCTAssertFalse(FileManager.default.fileExists(atPath: created), "line 3 did not run\n\(t.dump)")
            XCTAssertFalse(t.screen.contains("never_printed\n"), t.dump)
            XCTAssertEqual(processes(withCommandLine: "sleep \(s)").map(\.pid), [], "the session was torn down")
        }
    }
}
