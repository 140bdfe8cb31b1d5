import XCTest
@testable import PidshKit

/// The lexer: token kinds in command and expression mode, and exact locations.
final class LexerTests: XCTestCase {
    private func kinds(_ text: String, _ mode: LexMode = .command) -> [String] {
        lexAll(text, mode: mode).tokens.map { kindText($0.kind) }
    }

    private func onlyWord(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Word? {
        let toks = lexAll(text).tokens
        guard toks.count == 2, case .word(let w) = toks[0].kind, toks[1].kind == .eof else {
            XCTFail("expected one word, got \(toks.map { kindText($0.kind) })", file: file, line: line)
            return nil
        }
        return w
    }

    // MARK: locations

    func testTokensCarryFileLineColumnAndLength() {
        let toks = lexAll("echo hello\n  ls -l /tmp", name: "loc.pidsh").tokens
        XCTAssertEqual(toks.map { kindText($0.kind) }, ["w:echo", "w:hello", "nl", "w:ls", "w:-l", "w:/tmp", "eof"])
        let locs = toks.map { [$0.location.line, $0.location.column, $0.location.length] }
        XCTAssertEqual(locs, [[1, 1, 4], [1, 6, 5], [1, 11, 1], [2, 3, 2], [2, 6, 2], [2, 9, 4], [2, 13, 1]])
        XCTAssertTrue(toks.allSatisfy { $0.location.file == "loc.pidsh" })
        XCTAssertEqual(toks[3].location.offset, 13)
        XCTAssertEqual(toks[3].location.description, "loc.pidsh:2:3")
    }

    func testColumnsCountCharactersNotBytes() {
        let toks = lexAll("echo héllo wörld").tokens
        XCTAssertEqual(toks.map { $0.location.column }, [1, 6, 12, 17])
        XCTAssertEqual(toks[1].location.length, 5)
        XCTAssertEqual(toks[1].location.offset, 5)
        XCTAssertEqual(toks[2].location.offset, 12)   // é is two bytes
    }

    func testWordLocationCoversQuotesAndSubstitutions() {
        let toks = lexAll("echo \"a b\" x$y.z ${1 + 2}").tokens
        XCTAssertEqual(toks.map { [$0.location.column, $0.location.length] }, [[1, 4], [6, 5], [12, 5], [18, 8], [26, 1]])
    }

    func testVariableLocationsInsideWords() {
        guard let w = onlyWord("pre$name.pid") else { return }
        guard w.parts.count == 2, case .variable(let n, let f, let loc) = w.parts[1] else {
            return XCTFail("\(w.parts)")
        }
        XCTAssertEqual(n, "name")
        XCTAssertEqual(f, ["pid"])
        XCTAssertEqual([loc.line, loc.column, loc.length], [1, 4, 9])
    }

    func testLocationsAfterContinuationAndOnLaterLines() {
        let toks = lexAll("a \\\n   b\n\n c").tokens
        XCTAssertEqual(toks.map { kindText($0.kind) }, ["w:a", "w:b", "nl", "nl", "w:c", "eof"])
        XCTAssertEqual(toks.map { "\($0.location.line):\($0.location.column)" }, ["1:1", "2:4", "2:5", "3:1", "4:2", "4:3"])
    }

    // MARK: modes

    func testCommandModeAndExpressionModeReadTheSameTextDifferently() {
        XCTAssertEqual(kinds("a < b > c"), ["w:a", "<", "w:b", ">", "w:c", "eof"])
        XCTAssertEqual(kinds("a < b > c", .expression), ["id:a", "op:<", "id:b", "op:>", "id:c", "eof"])
        XCTAssertEqual(kinds("1 + 2 * 3", .command), ["w:1", "w:+", "w:2", "w:*", "w:3", "eof"])
        XCTAssertEqual(kinds("1 + 2 * 3", .expression), ["int:1", "op:+", "int:2", "op:*", "int:3", "eof"])
    }

    func testExpressionOperators() {
        XCTAssertEqual(kinds("== != < <= > >= + - * / % ( ) [ ] , = ! ..", .expression),
                       ["op:==", "op:!=", "op:<", "op:<=", "op:>", "op:>=", "op:+", "op:-", "op:*", "op:/",
                        "op:%", "op:(", "op:)", "op:[", "op:]", "op:,", "op:=", "op:!", "op:..", "eof"])
        XCTAssertEqual(kinds("0..4", .expression), ["int:0", "op:..", "int:4", "eof"])
        XCTAssertEqual(kinds("(1+2)*3", .expression), ["op:(", "int:1", "op:+", "int:2", "op:)", "op:*", "int:3", "eof"])
        XCTAssertEqual(kinds("[a, \"b\"]", .expression), ["op:[", "id:a", "op:,", "s:'b'", "op:]", "eof"])
        XCTAssertEqual(kinds("not true and false or x", .expression),
                       ["id:not", "id:true", "id:and", "id:false", "id:or", "id:x", "eof"])
        XCTAssertEqual(kinds("{ }", .expression), ["{", "}", "eof"])
    }

    func testExpressionVariablesAndStrings() {
        XCTAssertEqual(kinds("$x.pid == 'lit' \"i $y\"", .expression), ["v:$x.pid", "op:==", "s:'lit'", "s:'i '$y", "eof"])
        XCTAssertEqual(kinds("$? $$ $1 $args ${a} $(true)", .expression),
                       ["v:$?", "v:$$", "v:$1", "v:$args", "v:${a}", "v:$(true)", "eof"])
    }

    func testIntegerTooLargeIsALocatedError() {
        let (toks, diags) = lexAll("1 + 99999999999999999999", mode: .expression)
        XCTAssertEqual(toks.map { kindText($0.kind) }, ["int:1", "op:+", "int:0", "eof"])
        XCTAssertEqual(diags.count, 1)
        XCTAssertEqual(diags.first?.location.column, 5)
        XCTAssertTrue(diags.first?.message.contains("too large") ?? false)
    }

    // MARK: quotes and escapes

    func testSingleQuotesAreLiteral() {
        guard let w = onlyWord("'a $x \\n \"b\"'") else { return }
        XCTAssertEqual(w.parts, [.literal("a $x \\n \"b\"", quoted: true)])
    }

    func testDoubleQuotesInterpolateAndEscape() {
        guard let w = onlyWord("\"a\\tb\\n\\\"q\\\" \\$no \\\\ $x end\"") else { return }
        XCTAssertEqual(Dump.word(w), "'a\tb\n\"q\" $no \\ '$x' end'")
    }

    func testEmptyQuotesAreAnEmptyWord() {
        guard let w1 = onlyWord("\"\"") else { return }
        XCTAssertEqual(w1.parts, [.literal("", quoted: true)])
        // '' leaves no part at all: still one (empty) word, never a keyword.
        guard let w2 = onlyWord("''") else { return }
        XCTAssertEqual(w2.literalText, "")
        XCTAssertNil(w2.bareText)
    }

    func testBackslashEscapesInBareWords() {
        guard let w = onlyWord("a\\ b\\*c\\$d") else { return }
        XCTAssertEqual(Dump.word(w), "a' 'b'*'c'$'d")
        XCTAssertNil(w.bareText)
        XCTAssertEqual(w.literalText, "a b*c$d")
    }

    func testQuotedAndUnquotedPiecesJoinIntoOneWord() {
        guard let w = onlyWord("pre'mid'\"dq\"post*") else { return }
        XCTAssertEqual(Dump.word(w), "pre'mid''dq'post*")
        XCTAssertEqual(w.literalText, "premiddqpost*")
    }

    func testGlobCharactersStayUnquotedLiteral() {
        guard let w = onlyWord("/proc2/[1-9]*") else { return }
        XCTAssertEqual(w.parts, [.literal("/proc2/[1-9]*", quoted: false)])
        guard let q = onlyWord("'/proc2/[1-9]*'") else { return }
        XCTAssertEqual(q.parts, [.literal("/proc2/[1-9]*", quoted: true)])
    }

    // MARK: substitutions

    func testVariableWithFields() {
        guard let w = onlyWord("$child.ns.level") else { return }
        guard case .variable(let n, let f, _) = w.parts[0] else { return XCTFail("\(w.parts)") }
        XCTAssertEqual(n, "child")
        XCTAssertEqual(f, ["ns", "level"])
    }

    func testADotNotFollowedByANameEndsTheVariable() {
        guard let w = onlyWord("$file.") else { return }
        XCTAssertEqual(Dump.word(w), "$file.")
        guard let w2 = onlyWord("$a.1") else { return }
        XCTAssertEqual(Dump.word(w2), "$a.1")
        guard let w3 = onlyWord("/proc/$child.pid/ns/pid") else { return }
        XCTAssertEqual(Dump.word(w3), "/proc/$child.pid/ns/pid")
    }

    func testVariableInsideDoubleQuotes() {
        guard let w = onlyWord("\"PID returned by clone(): $child.pid\"") else { return }
        XCTAssertEqual(Dump.word(w), "'PID returned by clone(): '$child.pid")
        guard let w2 = onlyWord("\"child: PID = $child.nspid, PPID = $child.nsppid\"") else { return }
        XCTAssertEqual(Dump.word(w2), "'child: PID = '$child.nspid', PPID = '$child.nsppid")
    }

    func testBracedExpression() {
        guard let w = onlyWord("${x.pid + 1}") else { return }
        XCTAssertEqual(Dump.word(w), "${(+ x.pid 1)}")
        guard let w2 = onlyWord("\"n=${ [1, 2] }\"") else { return }
        XCTAssertEqual(Dump.word(w2), "'n='${[1, 2]}")
        guard let w3 = onlyWord("${name}") else { return }
        XCTAssertEqual(Dump.word(w3), "${name}")
    }

    func testCommandSubstitution() {
        guard let w = onlyWord("$(echo a | tr a b)") else { return }
        XCTAssertEqual(Dump.word(w), "$(echo a | tr a b)")
        guard let w2 = onlyWord("\"[$(echo \"in (parens)\")]\"") else { return }
        XCTAssertEqual(Dump.word(w2), "'['$(echo 'in (parens)')']'")
        guard let w3 = onlyWord("$(echo $(echo deep))") else { return }
        XCTAssertEqual(Dump.word(w3), "$(echo $(echo deep))")
    }

    func testSpecialVariables() {
        XCTAssertEqual(kinds("$? $$ $1 $9 $args $0"), ["w:$?", "w:$$", "w:$1", "w:$9", "w:$args", "w:$0", "eof"])
        guard let w = onlyWord("$?") else { return }
        guard case .special("?", let loc) = w.parts[0] else { return XCTFail("\(w.parts)") }
        XCTAssertEqual([loc.column, loc.length], [1, 2])
        // Only one digit: $12 is $1 then "2", as in sh.
        guard let w2 = onlyWord("$12") else { return }
        XCTAssertEqual(w2.parts, [.special("1", location: w2.parts[0].locationForTest), .literal("2", quoted: false)])
    }

    func testDollarWithoutNameIsLiteral() {
        guard let w = onlyWord("a$") else { return }
        XCTAssertEqual(w.literalText, "a$")
        guard let w2 = onlyWord("\"cost: $ 5\"") else { return }
        XCTAssertEqual(w2.literalText, "cost: $ 5")
    }

    // MARK: redirections, pipes, bang

    func testRedirections() {
        XCTAssertEqual(kinds("cmd > out >> app < in 2> err 2>&1"),
                       ["w:cmd", ">", "w:out", ">>", "w:app", "<", "w:in", "2>", "w:err", "2>&1", "eof"])
        XCTAssertEqual(kinds("cmd >out 2>err <in"), ["w:cmd", ">", "w:out", "2>", "w:err", "<", "w:in", "eof"])
        let toks = lexAll("cmd 2>&1 >> f").tokens
        XCTAssertEqual(toks.map { [$0.location.column, $0.location.length] }, [[1, 3], [5, 4], [10, 2], [13, 1], [14, 1]])
        // A 2 inside a word is part of the word.
        XCTAssertEqual(kinds("echo a2>f"), ["w:echo", "w:a2", ">", "w:f", "eof"])
        XCTAssertEqual(kinds("echo 2"), ["w:echo", "w:2", "eof"])
    }

    func testPipesAndBang() {
        XCTAssertEqual(kinds("! a | b|c"), ["!", "w:a", "|", "w:b", "|", "w:c", "eof"])
        XCTAssertEqual(kinds("echo !x"), ["w:echo", "w:!x", "eof"])
    }

    func testDoublePipeAndAmpersandAreExplainedErrors() {
        let (_, d1) = lexAll("a || b")
        XCTAssertEqual(d1.map { $0.location.column }, [3])
        XCTAssertTrue(d1[0].message.contains("||"))
        let (_, d2) = lexAll("a && b")
        XCTAssertTrue(d2[0].message.contains("&&"))
        let (_, d3) = lexAll("sleep 1 &")
        XCTAssertEqual(d3.map { $0.location.column }, [9])
        XCTAssertTrue(d3[0].message.contains("spawn"))
    }

    // MARK: statement ends, comments, narration, continuation

    func testNewlinesAndSemicolons() {
        XCTAssertEqual(kinds("a;b\nc ; d"), ["w:a", ";", "w:b", "nl", "w:c", ";", "w:d", "eof"])
    }

    func testCommentsRunToTheEndOfTheLine() {
        XCTAssertEqual(kinds("echo a # a comment; echo b\necho c"), ["w:echo", "w:a", "nl", "w:echo", "w:c", "eof"])
        XCTAssertEqual(kinds("# only a comment"), ["eof"])
        // `#` inside a word or quotes is not a comment.
        XCTAssertEqual(kinds("echo a#b '#c' \"#d\""), ["w:echo", "w:a#b", "w:'#c'", "w:'#d'", "eof"])
        XCTAssertEqual(kinds("1 + 2 # comment", .expression), ["int:1", "op:+", "int:2", "eof"])
    }

    func testNarrationLines() {
        let toks = lexAll("#: PID namespaces: first\n  #:indented\necho a #: not narration").tokens
        XCTAssertEqual(toks.map { kindText($0.kind) },
                       ["#:PID namespaces: first", "nl", "#:indented", "nl", "w:echo", "w:a", "eof"])
        XCTAssertEqual(toks[2].location.line, 2)
        XCTAssertEqual(toks[2].location.column, 3)
    }

    func testBackslashNewlineContinues() {
        XCTAssertEqual(kinds("echo a \\\n  b \\\n c"), ["w:echo", "w:a", "w:b", "w:c", "eof"])
        // Inside a word, the continuation joins the pieces.
        XCTAssertEqual(kinds("ec\\\nho x"), ["w:echo", "w:x", "eof"])
        XCTAssertEqual(kinds("1 + \\\n 2", .expression), ["int:1", "op:+", "int:2", "eof"])
        // CRLF endings continue too.
        XCTAssertEqual(kinds("echo a \\\r\n b"), ["w:echo", "w:a", "w:b", "eof"])
    }

    // MARK: braces

    func testBracesAreBracesOnlyWhenAlone() {
        XCTAssertEqual(kinds("if x { echo a }"), ["w:if", "w:x", "{", "w:echo", "w:a", "}", "eof"])
        XCTAssertEqual(kinds("{a} a} {b x{y}"), ["w:{a}", "w:a}", "w:{b", "w:x{y}", "eof"])
        XCTAssertEqual(kinds("{\n}"), ["{", "nl", "}", "eof"])
        XCTAssertEqual(kinds("{;}"), ["{", ";", "}", "eof"])
        XCTAssertEqual(kinds("}}"), ["}", "}", "eof"])
        XCTAssertEqual(kinds("'{' \"}\""), ["w:'{'", "w:'}'", "eof"])
        XCTAssertEqual(kinds("{|"), ["{", "|", "eof"])
    }

    // MARK: errors and incomplete input

    func testUnterminatedQuotesAreIncomplete() {
        for text in ["echo 'abc", "echo \"abc", "echo \"abc\ndef", "echo \"$(echo)"] {
            let (_, d) = lexAll(text)
            XCTAssertEqual(d.count, 1, text)
            XCTAssertTrue(d.allSatisfy { $0.isIncompleteInput }, text)
            XCTAssertEqual(d.first?.location.column, 6, text)
            XCTAssertEqual(d.first?.location.line, 1, text)
        }
    }

    func testUnclosedSubstitutionsAreIncomplete() {
        for text in ["echo ${x", "echo $(ls", "echo $(echo (a)"] {
            let (_, d) = lexAll(text)
            XCTAssertEqual(d.map { $0.location.column }, [6], text)
            XCTAssertTrue(d.allSatisfy { $0.isIncompleteInput }, text)
        }
    }

    func testTrailingBackslashIsIncomplete() {
        for text in ["echo a \\", "echo a\\", "echo a \\\n", "echo a\\\n"] {
            let (_, d) = lexAll(text)
            XCTAssertEqual(d.count, 1, text.debugDescription)
            XCTAssertTrue(d.first?.isIncompleteInput ?? false, text.debugDescription)
            XCTAssertEqual(d.first?.location.line, 1, text.debugDescription)
            XCTAssertEqual(d.first?.location.column, text.hasPrefix("echo a \\") ? 8 : 7, text.debugDescription)
        }
    }

    func testErrorsInsideSubstitutionsAreLocatedInTheWholeText() {
        let (_, d) = lexAll("echo x\necho ${1 +} $(if)")
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column)" }, ["2:11", "2:17"])
    }
}
