import XCTest
import Glibc
import Dispatch
@testable import PidshKit

final class LineEditorTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/pidsh-lineeditor-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made)
        scratch = String(cString: template)
    }

    override func tearDownWithError() throws {
        if !scratch.isEmpty { _ = system("rm -rf '\(scratch)'") }
    }

    // MARK: Default history path

    func testHistoryPathPrefersPidshHistfile() {
        let env = ["PIDSH_HISTFILE": "/x/h", "XDG_STATE_HOME": "/state", "HOME": "/home/u"]
        XCTAssertEqual(LineEditors.defaultHistoryPath(environment: env), "/x/h")
    }

    func testHistoryPathUsesXDGStateHome() {
        let env = ["PIDSH_HISTFILE": "", "XDG_STATE_HOME": "/state/", "HOME": "/home/u"]
        XCTAssertEqual(LineEditors.defaultHistoryPath(environment: env), "/state/pidsh/history")
    }

    func testHistoryPathIgnoresRelativeXDGStateHome() {
        let env = ["XDG_STATE_HOME": "state", "HOME": "/home/u/"]
        XCTAssertEqual(LineEditors.defaultHistoryPath(environment: env), "/home/u/.local/state/pidsh/history")
    }

    func testHistoryPathFallsBackToHome() {
        XCTAssertEqual(LineEditors.defaultHistoryPath(environment: ["HOME": "/root"]),
                       "/root/.local/state/pidsh/history")
        XCTAssertEqual(LineEditors.defaultHistoryPath(environment: ["HOME": "/"]),
                       "/.local/state/pidsh/history")
        // No HOME: the password database's home directory.
        XCTAssertTrue(LineEditors.defaultHistoryPath(environment: [:]).hasSuffix("/.local/state/pidsh/history"))
    }

    // MARK: History

    func testHistoryFileFormatRoundTrips() {
        let entries = ["ls -l", "echo a\\ b", "if x {\n  echo y\n}", "tab\there", "ünï"]
        let bytes = History.encode(entries)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       "ls -l\necho a\\\\ b\nif x {\\n  echo y\\n}\ntab\there\nünï\n")
        XCTAssertEqual(History.decode(bytes), entries)
        XCTAssertEqual(History.decode(Array("a\n\n\nb".utf8)), ["a", "b"])
    }

    func testHistorySkipsBlankAndRepeatedEntriesAndCapsInMemory() {
        let history = History(path: nil, maxEntries: 3)
        XCTAssertTrue(history.add("a"))
        XCTAssertFalse(history.add("a"))
        XCTAssertFalse(history.add("   "))
        XCTAssertFalse(history.add(""))
        XCTAssertTrue(history.add("b\n"))
        XCTAssertTrue(history.add("c"))
        XCTAssertTrue(history.add("a"))
        XCTAssertEqual(history.entries, ["b", "c", "a"])
        XCTAssertTrue(history.save())  // no path: nothing to do
    }

    func testHistorySaveCreatesPrivateFileAndDirectories() throws {
        let path = scratch + "/state/pidsh/history"
        let history = History(path: path, maxEntries: 100)
        XCTAssertEqual(history.entries, [])
        history.add("spawn --newpid sleep 1")
        history.add("ps")
        XCTAssertTrue(history.save(), history.lastSaveError ?? "")
        XCTAssertEqual(History.readFile(path), ["spawn --newpid sleep 1", "ps"])
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(scratch + "/state/pidsh", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        // Saved entries are not written twice.
        history.add("ns list")
        XCTAssertTrue(history.save())
        XCTAssertTrue(history.save())
        XCTAssertEqual(History.readFile(path), ["spawn --newpid sleep 1", "ps", "ns list"])
        // No temporary file left behind.
        XCTAssertEqual(try listing(scratch + "/state/pidsh"), ["history"])
    }

    func testHistoryLoadAndSaveAreCapped() {
        let path = scratch + "/history"
        XCTAssertNil(History.writeFile(path, History.encode((1...10).map { "cmd \($0)" })))
        let history = History(path: path, maxEntries: 4)
        XCTAssertEqual(history.entries, ["cmd 7", "cmd 8", "cmd 9", "cmd 10"])
        history.add("new 1")
        history.add("new 2")
        XCTAssertTrue(history.save())
        XCTAssertEqual(History.readFile(path), ["cmd 9", "cmd 10", "new 1", "new 2"])
    }

    func testHistorySaveCapsAnOversizedFileEvenWithoutNewEntries() {
        let path = scratch + "/history"
        XCTAssertNil(History.writeFile(path, History.encode((1...5).map { "c\($0)" })))
        let history = History(path: path, maxEntries: 2)
        XCTAssertTrue(history.save())
        XCTAssertEqual(History.readFile(path), ["c4", "c5"])
    }

    func testHistorySaveMergesWithAnotherSession() {
        let path = scratch + "/history"
        let first = History(path: path, maxEntries: 100)
        let second = History(path: path, maxEntries: 100)
        first.add("from first")
        second.add("from second")
        XCTAssertTrue(first.save())
        XCTAssertTrue(second.save())
        XCTAssertEqual(History.readFile(path), ["from first", "from second"])
    }

    func testHistorySaveReportsFailure() {
        let blocker = scratch + "/file"
        XCTAssertNil(History.writeFile(blocker, [0x41]))
        let history = History(path: blocker + "/sub/history", maxEntries: 10)
        history.add("x")
        XCTAssertFalse(history.save())
        XCTAssertNotNil(history.lastSaveError)
    }

    func testZeroMaxHistoryKeepsNothing() {
        let path = scratch + "/history"
        let history = History(path: path, maxEntries: 0)
        XCTAssertFalse(history.add("x"))
        XCTAssertTrue(history.save())
        XCTAssertNil(History.readFile(path))
    }

    // MARK: Completion word

    func testCompletionRequestAtEndOfLine() {
        let line = Array("spawn --ns $n".utf8)
        let request = CompletionRequest.make(lineBytes: line, cursor: line.count, word: Array("$n".utf8))
        XCTAssertEqual(request, CompletionRequest(line: "spawn --ns $n", wordStart: 11, word: "$n"))
    }

    func testCompletionRequestCountsCharactersNotBytes() {
        let line = Array("ns éc".utf8)  // "é" is two bytes
        let request = CompletionRequest.make(lineBytes: line, cursor: line.count, word: Array("éc".utf8))
        XCTAssertEqual(request, CompletionRequest(line: "ns éc", wordStart: 3, word: "éc"))
    }

    func testCompletionRequestInTheMiddleOfTheLine() {
        let line = Array("echo abc|grep x".utf8)
        let request = CompletionRequest.make(lineBytes: line, cursor: 7, word: Array("ab".utf8))
        XCTAssertEqual(request, CompletionRequest(line: "echo abc|grep x", wordStart: 5, word: "ab"))
    }

    func testCompletionRequestFindsTheWordItselfWhenTheLibraryWordDoesNotFit() {
        let line = Array("a|(bc d;ef".utf8)
        XCTAssertEqual(CompletionRequest.make(lineBytes: line, cursor: 10, word: nil).word, "ef")
        XCTAssertEqual(CompletionRequest.make(lineBytes: line, cursor: 10, word: Array("zz".utf8)).wordStart, 8)
        XCTAssertEqual(CompletionRequest.make(lineBytes: line, cursor: 5, word: nil),
                       CompletionRequest(line: "a|(bc d;ef", wordStart: 3, word: "bc"))
        XCTAssertEqual(CompletionRequest.make(lineBytes: line, cursor: 99, word: nil).word, "ef")
        XCTAssertEqual(CompletionRequest.make(lineBytes: [], cursor: 0, word: nil),
                       CompletionRequest(line: "", wordStart: 0, word: ""))
    }

    func testScalarOffsetsBecomeByteOffsets() {
        let bytes = Array("aé€😀b".utf8)  // 1 + 2 + 3 + 4 + 1 bytes
        XCTAssertEqual((0...6).map { CompletionRequest.byteOffset(ofScalar: $0, in: bytes) }, [0, 1, 3, 6, 10, 11, 11])
    }

    // MARK: Plain reader

    func testPlainReaderReadsLinesFromAPipe() throws {
        let input = try makePipe()
        let output = try makePipe()
        defer { [input.0, output.0, output.1].forEach { close($0) } }
        writeAll(input.1, "first\nsecond ünï\n\nlast")
        close(input.1)
        let reader = PlainLineReader(history: History(path: nil, maxEntries: 10),
                                     inputFD: input.0, outputFD: output.1)
        XCTAssertEqual(reader.kind, "plain")
        XCTAssertEqual(reader.readLine(prompt: "\u{1}\u{1b}[1m\u{2}p>\u{1}\u{1b}[0m\u{2} "), .line("first"))
        XCTAssertEqual(reader.readLine(prompt: "p> "), .line("second ünï"))
        XCTAssertEqual(reader.readLine(prompt: ""), .line(""))
        XCTAssertEqual(reader.readLine(prompt: ""), .line("last"))
        XCTAssertEqual(reader.readLine(prompt: ""), .endOfFile)
        XCTAssertEqual(reader.readLine(prompt: ""), .endOfFile)
        XCTAssertEqual(readAvailable(output.0), "\u{1b}[1mp>\u{1b}[0m p> ")
    }

    func testPlainReaderLeavesTheRestOfTheInputUnread() throws {
        let input = try makePipe()
        defer { close(input.0); close(input.1) }
        writeAll(input.1, "one\ntwo\n")
        let reader = PlainLineReader(history: History(path: nil, maxEntries: 10), inputFD: input.0, outputFD: -1)
        XCTAssertEqual(reader.readLine(prompt: ""), .line("one"))
        XCTAssertEqual(readAvailable(input.0), "two\n")
    }

    func testPlainReaderReturnsInterruptedOnSIGINTAndRestoresTheHandler() throws {
        let input = try makePipe()
        defer { close(input.0); close(input.1) }
        // Stray SIGINTs outside readLine must not kill the test runner.
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        var previous = sigaction()
        sigaction(SIGINT, &ignore, &previous)
        defer { sigaction(SIGINT, &previous, nil) }

        let reader = PlainLineReader(history: History(path: nil, maxEntries: 10), inputFD: input.0, outputFD: -1)
        let done = SharedFlag()
        // Sent from another thread, again and again until the read returns: the handler
        // may run on any thread, and the self-pipe still wakes the reader.
        let sender = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            while !done.isRaised {
                kill(getpid(), SIGINT)
                usleep(20_000)
            }
            sender.signal()
        }
        let result = reader.readLine(prompt: "")
        done.raise()
        sender.wait()
        XCTAssertEqual(result, .interrupted)

        var now = sigaction()
        sigaction(SIGINT, nil, &now)
        XCTAssertEqual(unsafeBitCast(now.__sigaction_handler.sa_handler, to: Int.self),
                       unsafeBitCast(SIG_IGN, to: Int.self))
        // The reader still works after an interrupt.
        writeAll(input.1, "after\n")
        XCTAssertEqual(reader.readLine(prompt: ""), .line("after"))
    }

    func testPlainReaderTreatsAClosedDescriptorAsEndOfInput() {
        // A number far above any open descriptor (a just-closed one could be reused at once).
        let reader = PlainLineReader(history: History(path: nil, maxEntries: 10), inputFD: 999_999, outputFD: -1)
        XCTAssertEqual(reader.readLine(prompt: ""), .endOfFile)
    }

    func testPlainReaderKeepsAndSavesHistory() {
        let path = scratch + "/h"
        let reader = PlainLineReader(history: History(path: path, maxEntries: 10))
        reader.addHistory("echo one")
        reader.addHistory("echo one")
        reader.addHistory("echo two")
        reader.saveHistory()
        XCTAssertEqual(History.readFile(path), ["echo one", "echo two"])
    }

    // MARK: Factory and libraries

    func testFactoryFallsBackToPlainWithoutATerminal() {
        XCTAssertEqual(LineEditors.make(historyPath: nil, preferPlain: true).kind, "plain")
        if isatty(STDIN_FILENO) == 0 {
            XCTAssertEqual(LineEditors.make(historyPath: nil).kind, "plain")
        }
    }

    func testLibrariesLoadWithEveryEntryPointWeUse() throws {
        var found = 0
        if let libedit = EditLineSymbols.load(.libedit) {
            found += 1
            XCTAssertNotNil(libedit.getcFunction)
            XCTAssertNotNil(libedit.catchSignals)
            XCTAssertNotNil(libedit.basicWordBreakCharacters)
            XCTAssertNotNil(libedit.attemptedCompletionOver)
            XCTAssertNotNil(libedit.completionAppendCharacter)
            XCTAssertNotNil(libedit.stifleHistory)
        }
        if let readline = EditLineSymbols.load(.readline) {
            found += 1
            XCTAssertNotNil(readline.callbackSigcleanup)
            XCTAssertNotNil(readline.freeLineState)
            XCTAssertNotNil(readline.cleanupAfterSignal)
            XCTAssertNotNil(readline.echoSignalChar)
            XCTAssertNotNil(readline.resizeTerminal)
            XCTAssertNotNil(readline.catchSigwinch)
            XCTAssertNotNil(readline.completerWordBreakCharacters)
            XCTAssertNotNil(readline.stifleHistory)
        }
        if found == 0 { throw XCTSkip("neither libedit.so.2 nor libreadline.so.8 is installed") }
    }

    // MARK: Helpers

    private func makePipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw XCTSkip("pipe failed") }
        return (fds[0], fds[1])
    }

    /// What can be read from `fd` now, without waiting.
    private func readAvailable(_ fd: Int32) -> String {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func listing(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// A flag shared with the thread that sends signals.
private final class SharedFlag {
    private let queue = DispatchQueue(label: "pidsh.test.flag")
    private var raised = false
    var isRaised: Bool { queue.sync { raised } }
    func raise() { queue.sync { raised = true } }
}
