import Foundation
import XCTest
@testable import PidshKit

/// Random and mutated scripts through the lexer and parser only (never run): no crash,
/// no hang, and every diagnostic located inside the text. Deterministic (seeded).
final class FuzzTests: XCTestCase {
    /// SplitMix64: small, fast, the same sequence on every platform.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let contractExample = """
    #: PID namespaces: first investigations (pidns_init_sleep)
    let child = spawn --newpid --mount-proc /proc2 sleep 600
    echo "PID returned by clone(): $child.pid"
    echo "child: PID = $child.nspid, PPID = $child.nsppid"
    expect $child.nspid == 1
    readlink /proc/$child.pid/ns/pid
    ls -d /proc2/[1-9]*
    grep -E '^(Name|PP*id)' /proc2/1/status
    kill $child

    """

    static let snippets: [String] = [
        contractExample,
        "let x = 1 + 2 * (3 - 4) / 5 % 6\n",
        "let l = [1, \"two\", $x, [3, 4], 0..4]\n",
        "let ns = ns new --parent $outer --name demo\nlet p = spawn --ns $ns --wait sleep 1\n",
        "if $x == 1 { echo one } else if $x != 2 { echo two } else { echo many }\n",
        "while $i < 3 { let i = $i + 1 }\n",
        "for i in 0..4 { echo $i }\nfor w in a b \"c d\" { echo $w }\nfor l in $(ls /) { echo $l }\n",
        "repeat 3 { echo r }\n",
        "def greet who greeting {\n  echo \"$greeting, $who\"\n  let local = ${who.length}\n}\ngreet world hi\n",
        "try kill $p\ntry let x = cat /nonexistent\n",
        "expect $child.nspid == 1 \"must be PID 1\"\nexpect not $dead and true or false\n",
        "exit 3\nsource lib.pidsh\ncd /tmp\necho a b c\nhelp spawn\n",
        "yes | head -n 3 > out 2> err\ncat < in >> app 2>&1 | tr a-z A-Z\n! grep -q x f\n",
        "echo $? $$ $1 $9 $args ${1 + 1} $(echo $(echo nested)) \"q $x.f ${y} $(z)\" 'lit $x'\n",
        "echo a \\\n  b \\\n  c # comment\n#: narration\n",
        "nest 3 --mount-proc /tmp/proc{level} --verbose sleep 5\nps --ns $ns -o pid,ppid,cmd --tree\n",
        "mount proc /tmp/p --ns $ns --keep\numount /tmp/p\nunshare --pid\nsetns --self\n",
        "kill -KILL $p\nwait $p\nns list --json\nns tree --dot\nns id $p\npids $p\n",
        "find . -exec echo {} \\;\necho {a} a} x{y}\n",
        "echo héllo wörld ünïcode → ✓\n",
    ]

    static let tokens: [String] = [
        "{", "}", "{ ", " }", "(", ")", "[", "]", "$(", "${", "$", "\"", "'", "\\", "\\\n", "\n", ";", "|", "||", "&", "&&",
        ">", ">>", "<", "2>", "2>&1", "#", "#:", "..", ",", "=", "==", "!=", "<=", ">=", "!", "+", "-", "*", "/", "%",
        "let ", "if ", "else ", "while ", "for ", "in ", "repeat ", "def ", "try ", "expect ", "not ", "and ", "or ",
        "true", "false", "$x", "$x.pid", "$?", "$$", "$1", "$args", "0", "1", "99999999999999999999", "-1", "x", "echo ",
        "spawn ", "\t", " ", "\r\n", "\u{0}", "é", "\u{FEFF}", "*", "?", "~",
    ]

    static let invalidUTF8: [[UInt8]] = [[0xFF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xFE, 0xFF]]

    private var rng = SeededRandom(seed: 0x5EED_0F_91D5)

    private func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    private func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    /// One random edit of the bytes.
    private func mutate(_ input: [UInt8]) -> [UInt8] {
        var b = input
        let pos = b.isEmpty ? 0 : Int.random(in: 0...b.count, using: &rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: b.insert(UInt8.random(in: 0...255, using: &rng), at: pos)
        case 1: if !b.isEmpty { b.remove(at: min(pos, b.count - 1)) }
        case 2:
            if b.count > 1 {
                let j = Int.random(in: 0..<b.count, using: &rng)
                b.swapAt(min(pos, b.count - 1), j)
            }
        case 3: b.insert(contentsOf: Array(pick(Self.tokens).utf8), at: pos)
        case 4: b.insert(0, at: pos)
        case 5: b.insert(contentsOf: pick(Self.invalidUTF8), at: pos)
        case 6: if pos < b.count { b.removeSubrange(pos..<min(b.count, pos + Int.random(in: 1...20, using: &rng))) }
        case 7:
            if !b.isEmpty {
                let start = Int.random(in: 0..<b.count, using: &rng)
                let end = min(b.count, start + Int.random(in: 1...40, using: &rng))
                b.insert(contentsOf: b[start..<end], at: pos)
            }
        case 8: b = Array(b.prefix(pos))   // truncation: incomplete input
        default: b.insert(UInt8(ascii: pick(["{", "}", "(", ")", "\"", "'", "$", "\\", "\n"])), at: pos)
        }
        return b
    }

    private func randomScript() -> [UInt8] {
        var b: [UInt8] = []
        for _ in 0..<Int.random(in: 1...60, using: &rng) {
            if chance(0.05) { b += pick(Self.invalidUTF8) } else { b += Array(pick(Self.tokens).utf8) }
            if chance(0.3) { b.append(32) }
        }
        return b
    }

    private func deeplyNested(_ depth: Int) -> [UInt8] {
        let (open, close): (String, String) = pick([
            ("if true { ", " }"), ("while x { ", "}"), ("def f { ", "\n}"), ("for i in 0..1 {\n", "}"), ("repeat 2 { ", "}"),
            ("let x = (", ")"), ("let x = [", "]"), ("echo $(", ")"), ("echo ${", "}"), ("let x = not ", ""),
            ("let x = - ", ""), ("echo \"$(", ")\""), ("expect (", ")"), ("let x = $(let y = ", ")"), ("try ", ""),
            ("echo $(if true { ", " })"),
        ])
        let closed = chance(0.7)
        var s = String(repeating: open, count: depth) + "1"
        if closed { s += String(repeating: close, count: depth) }
        return Array(s.utf8)
    }

    /// Everything wrong with one parse, as messages (empty: fine).
    private func check(_ bytes: [UInt8], name: String) -> (problems: [String], seconds: Double, diagnostics: Int) {
        let source = SourceFile(name: name, bytes: bytes)
        let lines = bytes.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
        let start = DispatchTime.now().uptimeNanoseconds
        let (statements, diagnostics) = Parser.parse(source)
        var lexer = Lexer(source: source)
        var count = 0
        let mode: LexMode = bytes.count % 2 == 0 ? .command : .expression
        while lexer.next(mode).kind != .eof, count <= bytes.count + 1 { count += 1 }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var problems: [String] = []
        if count > bytes.count + 1 { problems.append("lexer made more tokens (\(count)) than there are bytes: no progress?") }
        func checkLocation(_ l: SourceLocation, _ what: String) {
            if l.line < 1 || l.column < 1 || l.line > lines + 1 || l.offset < 0 || l.offset > bytes.count || l.file != name {
                problems.append("\(what) at \(l.file):\(l.line):\(l.column) (offset \(l.offset)) is outside the text (\(lines) lines, \(bytes.count) bytes)")
                return
            }
            // The column is on its line (or just past its end, for "the input ends here").
            let width = source.lineText(l.line).unicodeScalars.count
            if l.column > width + 2 {
                problems.append("\(what) at \(l.line):\(l.column) is past the end of its line (\(width) characters)")
            }
        }
        for d in diagnostics {
            checkLocation(d.location, "diagnostic `\(d.message)`")
            if d.message.isEmpty { problems.append("empty diagnostic message") }
            _ = DiagnosticRenderer.render(d, source: source)
        }
        for s in statements { checkLocation(s.location, "statement") }
        return (problems, seconds, diagnostics.count)
    }

    func testTenThousandRandomAndMutatedScriptsParseSafely() {
        var inputs: [[UInt8]] = []
        let corpus = Self.snippets.map { Array($0.utf8) }
        // 1. Mutations of the contract's example and snippets: 1 to 8 edits each.
        for _ in 0..<7100 {
            var b = pick(corpus)
            if chance(0.2) { b += pick(corpus) }
            for _ in 0..<Int.random(in: 1...8, using: &rng) { b = mutate(b) }
            inputs.append(b)
        }
        // 2. Random token soup.
        for _ in 0..<2500 { inputs.append(randomScript()) }
        // 3. Deep nesting, below and far above the limit.
        for _ in 0..<300 { inputs.append(deeplyNested(Int.random(in: 1...(chance(0.1) ? 3000 : 600), using: &rng))) }
        // 4. Pure noise, NULs and invalid UTF-8.
        for _ in 0..<200 {
            inputs.append((0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        inputs.append([])
        inputs.append([0, 0, 0])
        inputs.append(Array(repeating: 0xFF, count: 100))
        inputs.append(Array(String(repeating: "\\\n", count: 1000).utf8))
        inputs.append(Array(String(repeating: "\"", count: 2001).utf8))
        inputs.append(Array(String(repeating: "$(", count: 5000).utf8))
        inputs.append(Array(String(repeating: "${", count: 5000).utf8))
        inputs.append(Array(String(repeating: "}", count: 5000).utf8))
        inputs.append(Array((String(repeating: "echo a | ", count: 2000) + "cat").utf8))
        inputs.append(Array(String(repeating: "x", count: 200_000).utf8))
        XCTAssertGreaterThanOrEqual(inputs.count, 10_000)

        var failures: [String] = []
        var total = 0.0, slowest = (seconds: 0.0, index: 0), diagnosticCount = 0, clean = 0
        for (i, input) in inputs.enumerated() {
            let (problems, seconds, diagnostics) = check(input, name: "fuzz\(i).pidsh")
            diagnosticCount += diagnostics
            if diagnostics == 0 { clean += 1 }
            if ProcessInfo.processInfo.environment["FUZZ_DEBUG"] != nil, seconds > 0.05 {
                FileHandle.standardError.write(Data("SLOW #\(i) \(seconds)s \(input.count) bytes: \(String(decoding: input.prefix(200), as: UTF8.self).debugDescription)\n".utf8))
            }
            total += seconds
            if seconds > slowest.seconds { slowest = (seconds, i) }
            if !problems.isEmpty && failures.count < 20 {
                let shown = String(decoding: input.prefix(300), as: UTF8.self).debugDescription
                failures.append("#\(i) \(shown): " + problems.prefix(3).joined(separator: "; "))
            }
        }
        XCTAssertEqual(failures, [], "\(failures.count) inputs went wrong")
        // The corpus exercises both paths: scripts that parse and scripts full of errors.
        XCTAssertGreaterThan(clean, 500)
        XCTAssertGreaterThan(diagnosticCount, 10_000)
        // A hang detector, not a benchmark: no one parse may take seconds.
        XCTAssertLessThan(slowest.seconds, 2.0,
                          "input #\(slowest.index) took \(slowest.seconds) s: \(String(decoding: inputs[slowest.index].prefix(200), as: UTF8.self).debugDescription)")
        print("FuzzTests: \(inputs.count) scripts parsed in \(String(format: "%.2f", total)) s (slowest #\(slowest.index): \(String(format: "%.3f", slowest.seconds)) s); \(clean) clean, \(diagnosticCount) diagnostics")
    }

    func testNestedSubstitutionsParseInLinearTime() {
        // The parser reads a token again when it switches modes; a substitution must not
        // be parsed again each time (2^depth work).
        var s = "1"
        for _ in 0..<60 { s = "$(let x = \(s))" }
        let start = DispatchTime.now().uptimeNanoseconds
        let (_, d) = Parser.parse(SourceFile(name: "n", text: "let x = \(s)"))
        XCTAssertEqual(d.count, 0)
        XCTAssertLessThan(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 2.0)
        var b = "1"
        for _ in 0..<60 { b = "${ \(b) + \"$(echo \(b.count))\" }" }
        _ = Parser.parse(SourceFile(name: "n", text: "let y = \(b)\nexpect \(b) == 1"))
    }

    func testDeepNestingIsALocatedErrorNotACrash() {
        for (open, close) in [("if true { ", "}"), ("let x = (", ")"), ("echo $(", ")"), ("let x = [", "]"), ("let x = not ", "")] {
            let text = String(repeating: open, count: 5000) + "1" + String(repeating: close, count: 5000)
            let (_, d) = Parser.parse(SourceFile(name: "deep", text: text))
            XCTAssertFalse(d.isEmpty, open)
            XCTAssertTrue(d.allSatisfy { $0.location.line >= 1 && $0.location.column >= 1 }, open)
        }
        // Just under the limit still parses.
        let ok = String(repeating: "if true { ", count: 100) + "echo" + String(repeating: " }", count: 100)
        XCTAssertEqual(Parser.parse(SourceFile(name: "ok", text: ok)).diagnostics.count, 0)
    }

    func testEncodingProblemsAreLocated() {
        var bytes = Array("echo ok\necho a".utf8)
        bytes.append(0)
        bytes += Array("b\necho \u{e9}".utf8)
        bytes.append(0xFF)
        let (_, d) = Parser.parse(SourceFile(name: "enc", bytes: bytes))
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column)" }, ["2:7", "3:7"])
    }
}
