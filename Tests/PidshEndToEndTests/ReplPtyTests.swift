import Foundation
import Glibc
import XCTest

/// The interactive REPL driven through a real pseudo-terminal, for each line editor
/// (`PIDSH_LINE_EDITOR=libedit|readline|plain`): keystrokes go to the pty's master side,
/// what pidsh shows is read back from it. No tmux: the test opens the pty itself and starts
/// `setsid -w -c pidsh` on its slave side, so the pty is pidsh's controlling terminal and
/// Ctrl-C / Ctrl-D behave as they do for a person.
///
/// Every wait is for text (a prompt, an output line), with generous timeouts; nothing
/// sleeps blindly. Each session gets its own HOME and PIDSH_HISTFILE under the test's
/// temporary directory, and a tag in its environment that every process it forks
/// inherits, so the test can tell that none of them outlives it.
final class ReplPtyTests: EndToEndTestCase {
    // MARK: typing, editing, values, errors, help, colour

    func testTypingEditingValuesAndErrors_libedit() throws { try typingEditingValuesAndErrors("libedit") }
    func testTypingEditingValuesAndErrors_readline() throws { try typingEditingValuesAndErrors("readline") }
    func testTypingEditingValuesAndErrors_plain() throws { try typingEditingValuesAndErrors("plain") }

    func typingEditingValuesAndErrors(_ editor: String) throws {
        let t = try start(editor)
        defer { t.close() }
        t.expect("pidsh: see and steer PID namespaces")
        t.expectPrompt()
        t.enter("let x = 41")
        t.expectPrompt()
        t.enter("$x")
        t.expectLine("41")
        t.expectPrompt()
        if editor != "plain" {
            // Cursor keys and emacs keys: insert in the middle, jump to the start and the end.
            t.type("echo wrld" + Key.left + Key.left + Key.left + "o")
            t.enter("")
            t.expectLine("world")
            t.expectPrompt()
            t.type("cho hi" + Key.ctrlA + "e" + Key.ctrlE + " there")
            t.enter("")
            t.expectLine("hi there")
            t.expectPrompt()
            // Up recalls the line before.
            t.type(Key.up)
            t.enter("")
            t.expectLine("hi there")
            t.expectPrompt()
        }
        // Backspace (DEL, what a terminal sends) works for the plain reader too (the tty's).
        t.enter("echo abcz" + Key.backspace)
        t.expectLine("abc")
        t.expectPrompt()
        // A value prints readably.
        t.enter("let n = ns new")
        t.expectPrompt()
        t.enter("$n")
        t.expect("namespace id=pid:[")
        t.expect("alive=true")
        t.expectPrompt()
        // A located error; the session goes on. It is line 6 (9 after the three editing lines).
        let line = editor == "plain" ? 6 : 9
        t.enter("no_such_command_pty")
        t.expect("<repl>:\(line):1: error: command not found: no_such_command_pty")
        t.expectLine("  no_such_command_pty")
        t.expectPrompt()
        t.enter("let 5 = 3")
        t.expect("<repl>:\(line + 1):5: error: `let` needs a variable name")
        t.expectPrompt()
        t.enter("echo still_here")
        t.expectLine("still_here")
        t.expectPrompt()
        // help lists the commands; help CMD shows its usage.
        t.enter("help")
        t.expect("pidsh commands")
        t.expect("  spawn ")
        t.expectPrompt()
        t.enter("help spawn")
        t.expect("usage: spawn [--newpid")
        t.expectPrompt()
        // Colour on a terminal (NO_COLOR unset): the prompt and the error are coloured.
        XCTAssertTrue(t.rawText.contains("\u{1B}[1;36mpidsh>"), "a coloured prompt\n\(t.dump)")
        XCTAssertTrue(t.rawText.contains("\u{1B}[31merror:"), "a coloured error\n\(t.dump)")
        XCTAssertFalse(t.rawText.contains("\u{1}") || t.rawText.contains("\u{2}"),
                       "the prompt's invisible-part markers must not reach the screen\n\(t.dump)")
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
    }

    // MARK: Ctrl-C

    func testCtrlC_libedit() throws { try ctrlC("libedit") }
    func testCtrlC_readline() throws { try ctrlC("readline") }
    func testCtrlC_plain() throws { try ctrlC("plain") }

    func ctrlC(_ editor: String) throws {
        let s = marker(7461)
        let t = try start(editor)
        defer { t.close() }
        t.expectPrompt()
        // On a line being typed: the line is dropped, a fresh prompt comes.
        t.type("echo never_printed_pty")
        t.expect("never_printed_pty")  // its echo: typed before the interrupt, not after
        t.interrupt()
        t.enter("echo after_line_interrupt")
        t.expectLine("after_line_interrupt")
        t.expectPrompt()
        // On a running child: the child dies, the prompt comes back.
        t.enter("sh -c 'echo child_started; exec sleep \(s)'")
        t.expectLine("child_started")
        XCTAssertTrue(waitUntil(5) { self.processes(withCommandLine: "sleep \(s)").count == 1 }, "the child runs")
        t.interrupt()
        XCTAssertEqual(processes(withCommandLine: "sleep \(s)").map(\.pid), [], "Ctrl-C ended the child")
        t.enter("echo after_child_interrupt")
        t.expectLine("after_child_interrupt")
        t.expectPrompt()
        // In a continuation: the whole entry goes.
        t.enter("for i in [1, 2] {")
        t.expectContinuation()
        t.enter("echo \"never_$i\"")
        t.expectContinuation()
        t.interrupt()
        t.enter("echo after_block_interrupt")
        t.expectLine("after_block_interrupt")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("\nnever_printed_pty\n"), t.dump)
        XCTAssertFalse(t.screen.contains("never_1"), t.dump)
        let saved = (try? String(contentsOfFile: historyFile, encoding: .utf8)) ?? ""
        XCTAssertFalse(saved.contains("never_printed_pty"), "an interrupted line is not history:\n\(saved)")
        XCTAssertTrue(saved.contains("echo after_block_interrupt"), saved)
    }

    // MARK: multi-line input

    func testMultiLine_libedit() throws { try multiLine("libedit") }
    func testMultiLine_readline() throws { try multiLine("readline") }
    func testMultiLine_plain() throws { try multiLine("plain") }

    func multiLine(_ editor: String) throws {
        let t = try start(editor)
        defer { t.close() }
        t.expectPrompt()
        // An open block (lines 1-3).
        t.enter("for i in [1, 2] {")
        t.expectContinuation()
        t.enter("echo \"item $i\"")
        t.expectContinuation()
        t.enter("}")
        t.expectLine("item 1")
        t.expectLine("item 2")
        t.expectPrompt()
        // Blank lines inside a block keep it open (lines 4-9).
        t.enter("if true {")
        for _ in 0..<3 {
            t.expectContinuation()
            t.enter("")
        }
        t.expectContinuation()
        t.enter("echo blanks_kept_open")
        t.expectContinuation()
        t.enter("}")
        t.expectLine("blanks_kept_open")
        t.expectPrompt()
        // A quote (lines 10-11) and a trailing backslash (lines 12-13).
        t.enter("echo \"first")
        t.expectContinuation()
        t.enter("second\"")
        t.expectLine("first")
        t.expectLine("second")
        t.expectPrompt()
        t.enter("echo one \\")
        t.expectContinuation()
        t.enter("two")
        t.expectLine("one two")
        t.expectPrompt()
        // Ctrl-D in a continuation drops the entry (one newline, no blank line) and stays.
        t.enter("for i in [3] {")
        t.expectContinuation()
        let mark = t.screen.count
        t.send(Key.ctrlD)
        t.expectPrompt()
        let between = String(t.screen.dropFirst(mark))
        XCTAssertEqual(between.filter { $0 == "\n" }.count, 1,
                       "one newline between the dropped continuation and the prompt: \(between.debugDescription)\n\(t.dump)")
        // The dropped lines do not count: the next line is line 14, and its excerpt shows.
        t.enter("no_such_multi_pty")
        t.expect("<repl>:14:1: error: command not found")
        t.expectLine("  no_such_multi_pty")
        t.expectPrompt()
        // An error inside a block names its own line (16 of lines 15-17).
        t.enter("if true {")
        t.expectContinuation()
        t.enter("let 5 = 3")
        t.expectContinuation()
        t.enter("}")
        t.expect("<repl>:16:5: error:")
        t.expectLine("  let 5 = 3")
        t.expectPrompt()
        t.enter("echo goes_on")
        t.expectLine("goes_on")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("item 3"), t.dump)
        let saved = (try? String(contentsOfFile: historyFile, encoding: .utf8)) ?? ""
        XCTAssertTrue(saved.contains("for i in [1, 2] {\\necho \"item $i\"\\n}\n"), "a block is one history entry:\n\(saved)")
    }

    // MARK: completion

    func testCompletion_libedit() throws { try completion("libedit") }
    func testCompletion_readline() throws { try completion("readline") }

    func completion(_ editor: String) throws {
        let dir = tempDir + "/complete_here"
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        try "file_contents_ok\n".write(toFile: dir + "/unique_file.txt", atomically: true, encoding: .utf8)
        let t = try start(editor, environment: ["PIDSH_PTY_ENV_UNIQUE": "env_value_ok"], directory: tempDir)
        defer { t.close() }
        t.expectPrompt()
        t.enter("let n = ns new")
        t.expectPrompt()
        // Fields after `$name.`: one completes, two tabs list them all.
        t.type("echo $n.ali" + Key.tab)
        t.enter("")
        t.expectLine("true")
        t.expectPrompt()
        t.type("echo $n." + Key.tab + Key.tab)
        t.expect("$n.parent")
        t.interrupt()
        // A builtin's option.
        t.type("spawn --newp" + Key.tab + "--wait true")
        t.enter("")
        t.expectLine("status exited 0 (code 0)")
        t.expectPrompt()
        // A subcommand, also where the cursor follows `let NAME = `.
        t.type("ns l" + Key.tab + "--mine")
        t.enter("")
        t.expect("NS TYPE NPROCS")
        t.expectPrompt()
        t.type("let listing = ns l" + Key.tab + "--mine")
        t.enter("")
        t.expectPrompt()
        t.type("let st = spawn --newp" + Key.tab + "--wait true")
        t.enter("")
        t.expectPrompt()
        t.enter("echo \"st=$st.code\"")
        t.expectLine("st=0")
        t.expectPrompt()
        // A def, a variable, a builtin for `help`.
        t.enter("def pty_greeting who { echo \"hello $who\" }")
        t.expectPrompt()
        t.type("pty_gree" + Key.tab + "bob")
        t.enter("")
        t.expectLine("hello bob")
        t.expectPrompt()
        t.enter("let pty_value = 5")
        t.expectPrompt()
        t.type("echo $pty_va" + Key.tab)
        t.enter("")
        t.expectLine("5")
        t.expectPrompt()
        // An environment variable, `$H<Tab>` style.
        t.type("echo $PIDSH_PTY_ENV_UNI" + Key.tab)
        t.enter("")
        t.expectLine("env_value_ok")
        t.expectPrompt()
        t.type("help unsha" + Key.tab)
        t.enter("")
        t.expect("usage: unshare")
        t.expectPrompt()
        // Paths: a directory completes with `/`, then the file in it.
        t.type("cat complete_h" + Key.tab + "uniq" + Key.tab)
        t.enter("")
        t.expectLine("file_contents_ok")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        let saved = (try? String(contentsOfFile: historyFile, encoding: .utf8)) ?? ""
        let entries = saved.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for entry in ["echo $n.alive", "spawn --newpid --wait true", "ns list --mine", "let listing = ns list --mine",
                      "let st = spawn --newpid --wait true", "pty_greeting bob", "echo $pty_value", "echo $PIDSH_PTY_ENV_UNIQUE", "help unshare",
                      "cat complete_here/unique_file.txt"] {
            XCTAssertTrue(entries.contains(entry), "completed to `\(entry)`; history:\n\(saved)")
        }
    }

    // MARK: history

    func testHistorySavedAndReloaded_libedit() throws { try history("libedit") }
    func testHistorySavedAndReloaded_readline() throws { try history("readline") }
    func testHistorySavedAndReloaded_plain() throws { try history("plain") }

    func history(_ editor: String) throws {
        var t = try start(editor)
        t.expectPrompt()
        for command in ["echo hist_one", "echo hist_two"] {
            t.enter(command)
            t.expectLine(String(command.dropFirst(5)))
            t.expectPrompt()
        }
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        t.close()
        XCTAssertEqual(try String(contentsOfFile: historyFile, encoding: .utf8), "echo hist_one\necho hist_two\n")
        var info = stat()
        XCTAssertEqual(stat(historyFile, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "the history file is private")

        t = try start(editor)
        defer { t.close() }
        t.expectPrompt()
        if editor != "plain" {
            // The last entry of the last session is one Up away; reverse search finds older.
            t.type(Key.up)
            t.enter("")
            t.expectLine("hist_two")
            t.expectPrompt()
            t.type(Key.ctrlR + "hist_o")
            t.enter("")
            t.expectLine("hist_one")
            t.expectPrompt()
        }
        t.enter("echo hist_three")
        t.expectLine("hist_three")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        let saved = try String(contentsOfFile: historyFile, encoding: .utf8)
        XCTAssertTrue(saved.hasPrefix("echo hist_one\necho hist_two\n"), saved)
        XCTAssertTrue(saved.hasSuffix("echo hist_three\n"), saved)
    }

    /// PIDSH_HISTFILE naming something that is not a regular file (/dev/null, as people
    /// write it; a FIFO here, so that a failure cannot break the machine's /dev/null)
    /// keeps no history: the file is not replaced by a regular one.
    func testHistoryFileThatIsNoRegularFileIsLeftAlone() throws {
        let fifo = tempDir + "/histfifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let t = try start("plain", environment: ["PIDSH_HISTFILE": fifo])
        defer { t.close() }
        t.expectPrompt()
        t.enter("echo not_kept")
        t.expectLine("not_kept")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "still the FIFO, not a file renamed over it")
    }

    /// stdin not a terminal: no prompt, no editing, the input runs as a script, and no
    /// history file is written (output still goes to the terminal).
    func testNoHistoryWhenStdinIsNotATerminal() throws {
        let pipe = Pipe()
        let t = try start("libedit", stdin: pipe.fileHandleForReading, controllingTerminal: false)
        defer { t.close() }
        pipe.fileHandleForWriting.write(Data("echo piped_one\nlet v = 3\necho \"v=$v\"\n".utf8))
        try pipe.fileHandleForWriting.close()
        t.expectLine("piped_one")
        t.expectLine("v=3")
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("pidsh>"), "no prompt\n\(t.dump)")
        XCTAssertFalse(t.screen.contains("see and steer"), "no banner\n\(t.dump)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: historyFile), "no history written")
    }

    // MARK: Ctrl-D tears down; the prompt shows where children go

    func testCtrlDTearsDownAndPromptMarkers_libedit() throws { try ctrlDTearsDown("libedit") }
    func testCtrlDTearsDownAndPromptMarkers_readline() throws { try ctrlDTearsDown("readline") }
    func testCtrlDTearsDownAndPromptMarkers_plain() throws { try ctrlDTearsDown("plain") }

    func ctrlDTearsDown(_ editor: String) throws {
        try requireRoot("namespaces")
        let s = marker(7462)
        let t = try start(editor)
        defer { t.close() }
        t.expectPrompt()
        t.enter("let n = ns new")
        t.expectPrompt()
        t.enter("echo \"init=$n.init.pid id=$n.id\"")
        t.expect("init=")
        t.expectPrompt()
        let fields = t.screen.components(separatedBy: "\n").first { $0.hasPrefix("init=") } ?? ""
        let initPid = Int32(fields.dropFirst(5).prefix { $0.isNumber }) ?? 0
        let nsId = fields.components(separatedBy: "id=").last ?? "?"
        XCTAssertGreaterThan(initPid, 1, t.dump)
        XCTAssertEqual(processName(initPid), "pidsh-init")
        // unshare --pid: the next children go to a new namespace; the prompt says so.
        t.enter("unshare --pid")
        t.expectPrompt("pidsh[unshared]> ")
        t.enter("spawn sleep \(s)")
        t.expect("nspid=1")
        t.expectPrompt("pidsh[unshared]> ")
        t.enter("setns --self")
        t.expectPrompt()
        t.enter("setns $n")
        let joined = "pidsh[→\(nsId)]> "
        t.expectPrompt(joined)
        t.enter("spawn --wait sh -c 'echo \"inside=$$\"'")
        t.expectLine("inside=2")
        t.expectPrompt(joined)
        t.send(Key.ctrlD)
        t.expect("tearing down")
        t.expect(nsId)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        let goodbye = t.screen.components(separatedBy: "\n").first { $0.contains("tearing down") } ?? ""
        XCTAssertTrue(goodbye.contains("2 namespaces"), goodbye)
        XCTAssertTrue(goodbye.contains(String(initPid)), goodbye)
        XCTAssertNotEqual(processName(initPid), "pidsh-init", "the namespace's init is gone")
        XCTAssertEqual(taggedProcesses(), [], "nothing of the session is left")
        XCTAssertEqual(processes(withCommandLine: "sleep \(s)").map(\.pid), [])
    }

    /// Nothing alive: Ctrl-D leaves quietly, with status 0.
    func testCtrlDWithNothingAliveSaysNothing() throws {
        let t = try start("libedit")
        defer { t.close() }
        t.expectPrompt()
        t.enter("echo hi")
        t.expectLine("hi")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("tearing down"), t.dump)
    }

    // MARK: a failing program sets the status, not an error

    /// `false` and a grep that finds nothing print no error block at the prompt: the
    /// status shows in the next prompt (as fish does) and in `$?`. A real error (a
    /// command that does not exist) still shows its block.
    func testFailingProgramShowsItsStatusInThePrompt() throws {
        let t = try start("plain", environment: ["NO_COLOR": "1"])
        defer { t.close() }
        t.expectPrompt()
        t.enter("false")
        t.expectPrompt("[1] pidsh> ")
        t.enter("grep no_such_text_pty /dev/null")
        t.expectPrompt("[1] pidsh> ")
        t.enter("sh -c 'exit 7'")
        t.expectPrompt("[7] pidsh> ")
        t.enter("echo \"status was $?\"")
        t.expectLine("status was 7")
        t.expectPrompt("\npidsh> ")
        t.enter("no_such_command_status")
        t.expect("error: command not found: no_such_command_status")
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("error: `false` failed"), t.dump)
        XCTAssertFalse(t.screen.contains("exited with status"), t.dump)
    }

    // MARK: PIDSH_PROMPT, NO_COLOR

    func testPromptOverrideAndNoColor_libedit() throws { try promptAndNoColor("libedit") }
    func testPromptOverrideAndNoColor_readline() throws { try promptAndNoColor("readline") }
    func testPromptOverrideAndNoColor_plain() throws { try promptAndNoColor("plain") }

    func promptAndNoColor(_ editor: String) throws {
        let t = try start(editor, environment: ["PIDSH_PROMPT": "my-shell% ", "NO_COLOR": "1"])
        defer { t.close() }
        t.expectPrompt("my-shell% ")
        t.enter("unshare --pid")
        t.expectPrompt("my-shell% ")
        t.enter("no_such_thing_nc")
        t.expect("<repl>:2:1: error: command not found: no_such_thing_nc")
        t.expectPrompt("my-shell% ")
        t.enter("let 5 = 3")
        t.expect("<repl>:3:5: error:")
        t.expectPrompt("my-shell% ")
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertFalse(t.screen.contains("pidsh>"), t.dump)
        XCTAssertNil(t.rawText.range(of: "\u{1B}\\[[0-9;]*m", options: .regularExpression),
                     "NO_COLOR: no colour escapes\n\(t.dump)")
    }

    /// NO_COLOR set but empty does not count (no-color.org).
    func testEmptyNoColorKeepsColour() throws {
        let t = try start("plain", environment: ["NO_COLOR": ""])
        defer { t.close() }
        t.expectPrompt()
        t.send(Key.ctrlD)
        XCTAssertEqual(t.waitForExit(), 0, t.dump)
        XCTAssertTrue(t.rawText.contains("\u{1B}[1;36mpidsh>"), t.dump)
    }

    // MARK: - the harness

    enum Key {
        static let up = "\u{1B}[A"
        static let left = "\u{1B}[D"
        static let ctrlA = "\u{01}"
        static let ctrlC = "\u{03}"
        static let ctrlD = "\u{04}"
        static let ctrlE = "\u{05}"
        static let ctrlR = "\u{12}"
        static let tab = "\t"
        static let backspace = "\u{7F}"
    }

    var historyFile: String { tempDir + "/state/history" }
    private var ptyTag = ""
    private var terminals: [PtyTerminal] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        ptyTag = "pidsh-pty-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        _ = mkdir(tempDir + "/home", 0o700)
    }

    override func tearDownWithError() throws {
        for t in terminals { t.close() }
        terminals.removeAll()
        XCTAssertTrue(waitUntil(3) { self.taggedProcesses().isEmpty }, "processes of the session left: \(taggedProcesses())")
        for pid in taggedProcesses() { kill(pid, SIGKILL) }
        try super.tearDownWithError()
    }

    /// Starts `pidsh` on a new pty with the given line editor; skips if its library is absent.
    func start(_ editor: String, environment extra: [String: String] = [:], directory: String? = nil,
               stdin: FileHandle? = nil, controllingTerminal: Bool = true, arguments: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) throws -> PtyTerminal {
        switch editor {
        case "libedit": try XCTSkipUnless(Self.canLoad(["libedit.so.2", "libedit.so"]), "libedit (libedit.so.2) is not installed")
        case "readline": try XCTSkipUnless(Self.canLoad(["libreadline.so.8", "libreadline.so"]), "GNU readline (libreadline.so.8) is not installed")
        default: break
        }
        let setsid = ["/usr/bin/setsid", "/bin/setsid"].first { (path: String) in access(path, X_OK) == 0 }
        guard let setsid else { throw XCTSkip("needs setsid (util-linux) to give pidsh a controlling terminal") }
        var env = ProcessInfo.processInfo.environment
        for key in ["NO_COLOR", "PIDSH_PROMPT", "XDG_STATE_HOME", "COLUMNS", "LINES", "PIDSH_BINARY", "TMUX"] {
            env.removeValue(forKey: key)
        }
        env["HOME"] = tempDir + "/home"
        env["PIDSH_HISTFILE"] = historyFile
        env["PIDSH_LINE_EDITOR"] = editor
        env["TERM"] = "xterm"
        env["LANG"] = "C.UTF-8"
        env["LC_ALL"] = "C.UTF-8"
        env["INPUTRC"] = "/dev/null"
        env["PIDSH_PTY_TAG"] = ptyTag
        for (k, v) in extra { env[k] = v }
        // setsid -c makes the pty (its stdin) the controlling terminal of a new session.
        let argv = (controllingTerminal ? [setsid, "-w", "-c", Self.binary!] : [Self.binary!]) + arguments
        let t = try PtyTerminal(argv: argv, environment: env, directory: directory ?? tempDir, stdin: stdin,
                                editing: editor != "plain" && stdin == nil, file: file, line: line)
        terminals.append(t)
        return t
    }

    static func canLoad(_ names: [String]) -> Bool {
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                dlclose(handle)
                return true
            }
        }
        return false
    }

    /// Processes whose environment holds this test's tag: pidsh and all it forked.
    func taggedProcesses() -> [Int32] {
        let needle = Array("PIDSH_PTY_TAG=\(ptyTag)\0".utf8)
        return processes().compactMap { p in
            guard let env = FileManager.default.contents(atPath: "/proc/\(p.pid)/environ"),
                  Self.contains(Array(env), needle) else { return nil }
            return p.pid
        }
    }

    func processes(withCommandLine text: String) -> [ProcInfo] {
        processes().filter { p in
            guard let cmd = FileManager.default.contents(atPath: "/proc/\(p.pid)/cmdline") else { return false }
            return String(decoding: cmd.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces) == text
        }
    }

    func processName(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }
}

/// A program on the slave side of a new pseudo-terminal; the test holds the master side.
final class PtyTerminal {
    let master: Int32
    let process: Process
    /// Everything the program wrote, as it came.
    private(set) var raw: [UInt8] = []
    /// The master reported end of input (or the test closed it).
    private var closed = false
    private var masterOpen = true
    /// Where the next `expect` starts looking in `screenBytes`.
    private var searchFrom = 0
    /// libedit or readline reads the lines (not the plain reader).
    let editing: Bool
    let file: StaticString
    let line: UInt

    init(argv: [String], environment: [String: String], directory: String, stdin: FileHandle?, editing: Bool,
         columns: UInt16 = 120, rows: UInt16 = 40, file: StaticString, line: UInt) throws {
        self.editing = editing
        self.file = file
        self.line = line
        typealias IntFn = @convention(c) (Int32) -> Int32
        typealias PtsNameR = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        func libc<T>(_ name: String, _ type: T.Type) throws -> T {
            guard let address = dlsym(nil, name) else { throw PtyError("no \(name) in the C library") }
            return unsafeBitCast(address, to: type)
        }
        let fd = try libc("posix_openpt", IntFn.self)(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw PtyError("posix_openpt: \(String(cString: strerror(errno)))") }
        master = fd
        var name = [CChar](repeating: 0, count: 256)
        guard try libc("grantpt", IntFn.self)(fd) == 0, try libc("unlockpt", IntFn.self)(fd) == 0,
              try libc("ptsname_r", PtsNameR.self)(fd, &name, name.count) == 0 else {
            Glibc.close(fd)
            throw PtyError("grantpt/unlockpt/ptsname: \(String(cString: strerror(errno)))")
        }
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(fd, UInt(TIOCSWINSZ), &size)
        let slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            Glibc.close(fd)
            throw PtyError("open \(String(cString: name)): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(slave) }  // the child has its copies; EOF on the master once it is gone
        let slaveHandle = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = stdin ?? slaveHandle
        process.standardOutput = slaveHandle
        process.standardError = slaveHandle
        do {
            try process.run()
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { close() }

    // MARK: typing

    func send(_ keys: String) {
        var bytes = Array(keys.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(master, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                XCTFail("writing to the pty: \(String(cString: strerror(errno)))", file: file, line: line)
                return
            }
            done += n
        }
        bytes.removeAll()
    }

    /// Types `text` and waits for the terminal to show it (so what follows, such as a
    /// Ctrl-C, comes after it was read, as a person's keys would). Keys with escapes are
    /// not waited for.
    func type(_ text: String) {
        send(text)
        let visible = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
        if visible && !text.isEmpty { peek(text) }
    }

    /// Ctrl-C, then waits for it to be seen (the `^C` the editor or the terminal echoes)
    /// and for the fresh prompt, so that nothing typed next goes to the dropped line.
    func interrupt(prompt: String = "pidsh> ", file: StaticString = #filePath, line: UInt = #line) {
        send("\u{03}")
        expect("^C", file: file, line: line)
        expectPrompt(prompt, file: file, line: line)
    }

    /// Types `text` and Enter.
    func enter(_ text: String) {
        send(text + "\r")
    }

    // MARK: reading

    /// Waits for `needle` in what the screen showed since the last match; moves past it.
    @discardableResult
    func expect(_ needle: String, timeout: Double = 15, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let bytes = Array(needle.utf8)
        if let end = waitFor(bytes, timeout: timeout) {
            searchFrom = end
            return true
        }
        XCTFail("did not see \(needle.debugDescription) within \(timeout) s\n\(dump)", file: file, line: line)
        return false
    }

    /// Waits for `needle` without moving past it (it may be matched again).
    private func peek(_ needle: String) {
        _ = waitFor(Array(needle.utf8), timeout: 10)
    }

    /// Waits for a whole output line equal to `text`.
    func expectLine(_ text: String, timeout: Double = 15, file: StaticString = #filePath, line: UInt = #line) {
        expect("\n" + text + "\n", timeout: timeout, file: file, line: line)
        searchFrom -= 1  // the newline also starts the next line
    }

    /// Waits for the prompt and, with a line editor, for the editor to be reading.
    func expectPrompt(_ prompt: String = "pidsh> ", timeout: Double = 15, file: StaticString = #filePath, line: UInt = #line) {
        if expect(prompt, timeout: timeout, file: file, line: line) { waitForEditor(file: file, line: line) }
    }

    func expectContinuation(file: StaticString = #filePath, line: UInt = #line) {
        if expect("....> ", file: file, line: line) { waitForEditor(file: file, line: line) }
    }

    /// libedit shows its prompt and only then takes the terminal out of canonical mode; a
    /// key that comes in between is handled by the terminal (a Ctrl-D there is lost). So,
    /// with a line editor, wait until the terminal is in the editor's mode (termios calls
    /// on the master act on the slave).
    private func waitForEditor(file: StaticString, line: UInt) {
        guard editing else { return }
        let deadline = Date().addingTimeInterval(10)
        var modes = termios()
        while Date() < deadline {
            if tcgetattr(master, &modes) != 0 || modes.c_lflag & tcflag_t(ICANON) == 0 { return }
            pump(milliseconds: 2)
        }
        XCTFail("the line editor did not take the terminal within 10 s\n\(dump)", file: file, line: line)
    }

    /// Reads until the program exits (the pty reports EOF/EIO once it and its children
    /// closed it) and returns its exit status; nil after `timeout`.
    func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !closed { pump(milliseconds: 50) } else { usleep(10_000) }
            if !process.isRunning {
                // What it wrote before it ended is in the pty already: take it all.
                while !closed && pump(milliseconds: 100) {}
                return process.terminationStatus
            }
        }
        XCTFail("pidsh did not exit within \(timeout) s\n\(dump)", file: file, line: line)
        return nil
    }

    /// Ends the program if it still runs (hang-up, then SIGKILL) and closes the master.
    func close() {
        guard masterOpen else { return }
        // PIDSH_PTY_DEBUG=1 shows each session's screen.
        if ProcessInfo.processInfo.environment["PIDSH_PTY_DEBUG"] != nil { print(dump) }
        masterOpen = false
        closed = true
        if process.isRunning {
            // Closing the master hangs up the terminal: pidsh gets SIGHUP and EOF.
            Glibc.close(master)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                for child in Self.children(of: process.processIdentifier) { kill(child, SIGKILL) }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        } else {
            Glibc.close(master)
        }
    }

    static func children(of pid: Int32) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { n -> Int32? in
            guard let p = Int32(n), let stat = try? String(contentsOfFile: "/proc/\(n)/stat", encoding: .utf8),
                  let paren = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: paren)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid ? p : nil
        }
    }

    /// The screen's text: escape sequences, carriage returns, bells and backspaces removed;
    /// it starts with a newline, so that the first line is a line like the others.
    var screenBytes: [UInt8] { [0x0A] + Self.clean(raw) }
    var screen: String { String(decoding: screenBytes, as: UTF8.self) }
    var rawText: String { String(decoding: raw, as: UTF8.self) }

    var dump: String {
        let text = screen
        let tail = text.count > 3000 ? "…" + text.suffix(3000) : text
        return "--- screen (\(raw.count) bytes; looking from \(searchFrom)) ---\n\(tail)\n--- end of screen ---"
    }

    static func clean(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1B {
                guard i + 1 < bytes.count else { break }
                let next = bytes[i + 1]
                if next == UInt8(ascii: "[") {
                    i += 2
                    while i < bytes.count && !(0x40...0x7E).contains(bytes[i]) { i += 1 }
                    i += 1
                } else if next == UInt8(ascii: "]") {
                    i += 2
                    while i < bytes.count && bytes[i] != 0x07 && bytes[i] != 0x1B { i += 1 }
                    i += bytes.count > i && bytes[i] == 0x1B ? 2 : 1
                } else {
                    i += 2
                }
                continue
            }
            if b != 0x0D && b != 0x07 && b != 0x08 { out.append(b) }
            i += 1
        }
        return out
    }

    /// Waits until `needle` shows at or after `searchFrom`; the offset just past it.
    private func waitFor(_ needle: [UInt8], timeout: Double) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = screenBytes
            if let end = Self.find(needle, in: text, from: searchFrom) { return end }
            if closed || Date() > deadline { return nil }
            pump(milliseconds: 50)
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        var i = max(0, start)
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] && hay[i ..< i + needle.count].elementsEqual(needle) { return i + needle.count }
            i += 1
        }
        return nil
    }

    /// Reads what is there, waiting up to `milliseconds` for something; true if it read.
    @discardableResult
    private func pump(milliseconds: Int32) -> Bool {
        guard !closed else { return false }
        var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let n = poll(&fds, 1, milliseconds)
        guard n > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let count = read(master, &buffer, buffer.count)
        if count > 0 {
            raw += buffer[0..<count]
            return true
        }
        if count == 0 || (errno != EINTR && errno != EAGAIN) {
            closed = true  // EIO: every slave descriptor is closed
        }
        return false
    }
}

struct PtyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
