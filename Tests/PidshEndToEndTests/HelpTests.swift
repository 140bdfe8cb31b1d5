import Foundation
import XCTest

/// `help` covers the language as well as the builtins, says everything
/// docs/commands.md says of a builtin, wraps to the width, guesses what was meant;
/// `pidsh --help` lists the run options; the man page shows code without backquotes.
final class HelpTests: EndToEndTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func help(_ what: String, columns: Int = 80) -> PidshRun {
        let argv = ["/usr/bin/env", "COLUMNS=\(columns)", Self.binary!, "-c", "help \(what)"]
        return run(argv)
    }

    /// Whitespace runs as one space: wrapping must not lose a word.
    func flat(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }

    func testHelpCoversTheLanguage() {
        let all = help("")
        XCTAssertEqual(all.status, 0, all.transcript)
        assertContains(all.stdout, "pidsh commands (help COMMAND for details):\n")
        assertContains(all.stdout, "\nthe language (help KEYWORD for details")
        for keyword in ["let", "if", "while", "for", "repeat", "def", "try", "expect", "pipes", "redirections", "exit", "source"] {
            assertContains(all.stdout, "\n  \(keyword)")
            let one = help(keyword)
            XCTAssertEqual(one.status, 0, one.transcript)
            XCTAssertTrue(one.stdout.hasPrefix("usage: "), "help \(keyword):\n\(one.stdout)")
            assertContains(one.stdout, "examples:\n")
        }
        // Other words find the form they belong to.
        for (word, form) in [("else", "usage: if CONDITION"), ("'|'", "usage: COMMAND | COMMAND"), ("'>'", "usage: COMMAND > FILE"),
                             ("'2>&1'", "usage: COMMAND > FILE"), ("'#>'", "expected output")] {
            let r = help(word)
            XCTAssertEqual(r.status, 0, r.transcript)
            assertContains(r.stdout, form)
        }
        assertContains(flat(help("let").stdout), "more: docs/language.md#let")
    }

    func testHelpGuessesWhatWasMeant() {
        for (typo, meant) in [("lett", "let"), ("whiel", "while"), ("redirectons", "redirections"), ("spwan", "spawn"), ("ns lst", "ns list")] {
            let r = help(typo)
            XCTAssertEqual(r.status, 1, r.transcript)
            assertContains(r.stderr, "no builtin `\(typo)`, and no keyword or form of the language by that name")
            assertContains(r.stderr, "note: did you mean `help \(meant)`?")
        }
    }

    /// Each builtin's `help` has every line of its section of docs/commands.md: the
    /// synopsis, the summary, every option and its meaning, the value, every example
    /// and every error (compared with whitespace flattened, since help wraps).
    func testHelpShowsWhatTheReferenceShows() throws {
        let md = try String(contentsOf: Self.root.appendingPathComponent("docs/commands.md"), encoding: .utf8)
        let sections = md.components(separatedBy: "\n## ").dropFirst()
        XCTAssertGreaterThan(sections.count, 20)
        for section in sections {
            let lines = section.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let name = lines[0]
            let shown = flat(help(name, columns: 80).stdout)
            var expected: [String] = []
            var inCode = false
            for line in lines.dropFirst() {
                if line.hasPrefix("```") { inCode.toggle(); continue }
                if inCode { expected.append(line); continue }
                if line.hasPrefix("| `") {
                    // An option row: its names, then its meaning.
                    let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                    expected.append(cells[0].replacingOccurrences(of: "`", with: ""))
                    expected.append(cells[1].replacingOccurrences(of: "\\|", with: "|"))
                } else if line.hasPrefix("- ") {
                    expected.append(line == "- none of its own" ? "none of its own" : "- " + line.dropFirst(2))
                } else if line.hasPrefix("Returns: ") {
                    expected.append("returns: " + line.dropFirst("Returns: ".count))
                } else if !line.isEmpty && !line.hasPrefix("|") && !["Options:", "Examples:", "Errors:"].contains(line) {
                    expected.append(line)
                }
            }
            for e in expected where !e.isEmpty {
                XCTAssertTrue(shown.contains(flat(e)), "help \(name) lacks `\(e)`:\n\(shown)")
            }
        }
    }

    /// Prose wraps to $COLUMNS off a terminal, and to the terminal's width on one.
    func testHelpWrapsToTheWidth() throws {
        for columns in [50, 100] {
            let r = help("spawn", columns: columns)
            let inExamples = r.stdout.components(separatedBy: "examples:\n").last?.components(separatedBy: "errors:\n").first ?? ""
            for line in r.stdout.split(separator: "\n") where !inExamples.contains(line) {
                XCTAssertLessThanOrEqual(line.count, columns, "wider than \(columns): \(line)")
            }
            XCTAssertTrue(r.stdout.split(separator: "\n").contains { $0.count > columns - 12 }, "the lines fill the width\n\(r.stdout)")
        }
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal")
        let tty = run(["/usr/bin/env", "-u", "COLUMNS", "/usr/bin/script", "-qec", "stty cols 44; \(Self.binary!) -c 'help'", "/dev/null"])
        let lines = tty.stdout.replacingOccurrences(of: "\r", with: "").split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 40, tty.transcript)
        for line in lines { XCTAssertLessThanOrEqual(line.count, 44, "wider than the terminal: \(line)") }
    }

    func testPidshHelpListsTheRunOptions() {
        for flag in ["--help", "-h"] {
            let r = run([Self.binary!, flag])
            XCTAssertEqual(r.status, 0, r.transcript)
            for option in ["--trace", "--narrate", "--step", "--stable-ids", "--shared-mounts", "--no-color", "--own-pid-namespace",
                           "-n, --check", "-c <code>", "--version"] {
                assertContains(r.stdout, "\n  \(option)")
            }
            assertContains(r.stdout, "SUBCOMMANDS:")
            assertContains(r.stdout, "  test ")
            assertNotContains(r.stdout, "listed by `pidsh run --help`")
        }
    }

    /// `man -l docs/pidsh.1` shows code in bold, not between literal backquotes.
    func testManPageHasNoLiteralBackquotes() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/man"), "needs man(1)")
        let page = Self.root.appendingPathComponent("docs/pidsh.1").path
        let r = run(["/usr/bin/env", "MANWIDTH=80", "MAN_KEEP_FORMATTING=1", "/usr/bin/man", "-l", page])
        XCTAssertEqual(r.status, 0, r.transcript)
        let plain = r.stdout.replacingOccurrences(of: "\u{8}.", with: "", options: .regularExpression)
        assertContains(plain, "lsns -t pid")
        assertNotContains(r.stdout, "`")
        // The code is bold: overstruck (x\bx) in man's formatted output.
        assertContains(r.stdout, "l\u{8}ls\u{8}sn\u{8}ns\u{8}s")
    }
}
