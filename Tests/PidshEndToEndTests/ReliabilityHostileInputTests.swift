import Foundation
import Glibc
import XCTest

/// Inputs made to break pidsh rather than to use it: operator chains and `else if`
/// chains tens of thousands long, ranges too large to build, devices where a file is
/// expected, values that grow without bound, and a seeded generator of such scripts.
/// Every one ends with an exit code below 128 (never a signal, never a Swift runtime
/// trap), a located error where it fails, and nothing left behind.
final class ReliabilityHostileInputTests: ReliabilityTestCase {
    /// Writes `text` to a script file and runs it (with `flags` before the path).
    func runScript(_ text: String, name: String, flags: [String] = []) -> (PidshRun, String) {
        let path = tempDir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        let start = Date()
        let r = run([Self.binary!] + flags + [path])
        let elapsed = Date().timeIntervalSince(start)
        print("reliability: \(name) (\(text.utf8.count) bytes): exit \(r.status) in \(String(format: "%.2f", elapsed)) s")
        assertNoCrash(r.status, r.stderr, name)
        return (r, path)
    }

    static func chain(_ term: String, _ op: String, count: Int) -> String {
        Array(repeating: term, count: count).joined(separator: " \(op) ")
    }

    /// Before: 20,000 terms of `+`, `*`, `and`, `or` overflowed the stack (SIGSEGV), and
    /// at 100,000 even `pidsh -n` did (freeing the tree recursed).
    func testLongOperatorChainsNeitherParseNorRunByRecursion() {
        let (sum, _) = runScript("let x = \(Self.chain("1", "+", count: 100_000))\necho $x\n", name: "sum.pidsh")
        XCTAssertEqual(sum.status, 0, String(sum.transcript.prefix(500)))
        XCTAssertEqual(sum.stdout, "100000\n")
        let (check, _) = runScript("let x = \(Self.chain("1", "+", count: 100_000))\n", name: "check.pidsh", flags: ["-n"])
        XCTAssertEqual(check.status, 0, String(check.transcript.prefix(500)))
        let script = """
        let p = \(Self.chain("1", "*", count: 20_000))
        let a = \(Self.chain("true", "and", count: 20_000))
        let o = \(Self.chain("false", "or", count: 20_000)) or 7
        let m = 10 \(String(repeating: " - 1 + 2 * 3 % 5", count: 20_000))
        echo $p $a $o $m

        """
        let (mixed, _) = runScript(script, name: "chains.pidsh")
        XCTAssertEqual(mixed.status, 0, String(mixed.transcript.prefix(500)))
        XCTAssertEqual(mixed.stdout, "1 true true 10\n")
        // Short-circuit still holds at any length: the last operand would fail.
        let (short, _) = runScript("expect \(Self.chain("false", "and", count: 30_000)) and $nope == 1 or true\necho ok\n", name: "short.pidsh")
        XCTAssertEqual(short.stdout, "ok\n", short.transcript)
        // An overflow deep in a chain points at its operator.
        let (overflow, path) = runScript("let x = \(Self.chain("1", "+", count: 5_000)) + 9223372036854775807\n", name: "overflow.pidsh")
        XCTAssertEqual(overflow.status, 1, String(overflow.transcript.prefix(500)))
        assertLocatedError(overflow.stderr, at: "\(path):1:\(9 + 5_000 * 4 - 2)", "integer overflow")
    }

    /// Before: 20,000 `else if` nested one statement in another (SIGSEGV).
    func testALongElseIfChain() {
        let text = "let n = 19999\nif $n == -1 { echo no }" + (0..<20_000).map { " else if $n == \($0) { echo branch \($0) }" }.joined() + " else { echo none }\n"
        let (r, _) = runScript(text, name: "elseif.pidsh")
        XCTAssertEqual(r.status, 0, String(r.transcript.prefix(500)))
        XCTAssertEqual(r.stdout, "branch 19999\n")
    }

    /// Before: `.length` and `==` built every element (SIGABRT) and
    /// `0..9223372036854775807` overflowed (SIGILL).
    func testRangesAreComputedNotBuilt() {
        let script = """
        let big = 0..9999999999
        echo $big.length $big.first $big.last
        expect $big == 0..9999999999
        expect $big != 0..9999999998
        expect 5..1 == 9..2
        expect [0, 1, 2] == 0..2
        let huge = 0..9223372036854775807
        echo $huge.first $huge.last
        expect $huge != [1]
        echo $huge.length

        """
        let (r, path) = runScript(script, name: "ranges.pidsh")
        XCTAssertEqual(r.status, 1, r.transcript)
        XCTAssertEqual(r.stdout, "10000000000 0 9999999999\n0 9223372036854775807\n")
        assertLocatedError(r.stderr, at: "\(path):10:6", "more elements than an integer can count")
        let (list, listPath) = runScript("let r = 0..9999999999\nlet l = [1] + $r\n", name: "range-list.pidsh")
        XCTAssertEqual(list.status, 1, list.transcript)
        assertLocatedError(list.stderr, at: "\(listPath):2:13", "would make a list of more than")
    }

    /// Before: `source /dev/zero` read for ever (SIGABRT when memory ran out).
    func testSourceReadsOnlyABoundedRegularFile() {
        let fifo = tempDir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let big = tempDir + "/big.pidsh"
        FileManager.default.createFile(atPath: big, contents: Data(repeating: UInt8(ascii: "\n"), count: (16 << 20) + 1))
        for (target, message) in [("/dev/zero", "/dev/zero is a character device, not a regular file"),
                                  (fifo, "is a pipe (FIFO), not a regular file"),
                                  (tempDir, "is a directory"),
                                  (big, "is larger than 16 MiB")] {
            let (r, path) = runScript("echo start\nsource \(target)\necho not reached\n", name: "source.pidsh")
            XCTAssertEqual(r.status, 1, r.transcript)
            XCTAssertEqual(r.stdout, "start\n")
            assertLocatedError(r.stderr, at: "\(path):2:8", message)
        }
        // A script named on the command line is bounded the same way.
        let r = run([Self.binary!, "/dev/zero"].map { $0 }, timeout: 20)
        assertNoCrash(r.status, r.stderr, "pidsh /dev/zero")
        XCTAssertEqual(r.status, 64, r.transcript)
        assertContains(r.stderr, "larger than 16 MiB")
    }

    /// Values that grow at run time without growing the text: lists nested in lists,
    /// a string doubled in a loop, a list grown from a range.
    func testValuesThatGrowWithoutBound() {
        let (nested, p1) = runScript("let x = [1]\nrepeat 100000 {\n  let x = [$x]\n}\n", name: "nested-list.pidsh")
        XCTAssertEqual(nested.status, 1, nested.transcript)
        assertLocatedError(nested.stderr, at: "\(p1):3:11", "lists nested more than 100 deep")
        let (doubled, p2) = runScript("let x = \"0123456789abcdef\"\nrepeat 40 {\n  let x = $x + $x\n}\n", name: "doubling.pidsh")
        XCTAssertEqual(doubled.status, 1, doubled.transcript)
        assertLocatedError(doubled.stderr, at: "\(p2):3:14", "would make a string of more than 64 MiB")
    }

    /// Before: "did you mean" compared a misspelt name with every name at full length,
    /// quadratic in it: a 40,000-character variable took 5 s, 100,000 took 48 s.
    func testDidYouMeanIsBoundedForLongNames() {
        let name = String(repeating: "a", count: 100_000)
        let started = Date()
        let (r, path) = runScript("let \(name) = 1\nlet short_name = 2\necho $\(name)b\n", name: "long-name.pidsh")
        let elapsed = Date().timeIntervalSince(started)
        print("reliability: misspelt 100,000-character variable: error in \(String(format: "%.2f", elapsed)) s")
        XCTAssertEqual(r.status, 1, String(r.transcript.prefix(500)))
        assertLocatedError(r.stderr, at: "\(path):3:6", "no variable")
        assertNotContains(r.stderr, "did you mean")
        // Names of ordinary length still get their suggestion.
        let (short, _) = runScript("let short_name = 2\necho $short_nme\n", name: "short-name.pidsh")
        assertContains(short.stderr, "did you mean $short_name?")
    }

    /// Before: `ps -o ''` printed a blank row per process and succeeded; `mount proc
    /// --keep` in the private mount namespace left an empty directory behind.
    func testEmptyPsColumnsAndAKeepThatCannotKeepAreRefused() throws {
        for columns in ["''", "',,'"] {
            let r = pidsh("ps -o \(columns)\necho not reached")
            XCTAssertEqual(r.status, 1, r.transcript)
            assertLocatedError(r.stderr, at: "-c:1:7", "-o needs at least one field")
            XCTAssertEqual(r.stdout, "", r.transcript)
        }
        try requireRoot("mount proc")
        let dir = tempDir + "/kept"
        let r = pidsh("mount proc \(dir) --keep\necho not reached")
        XCTAssertEqual(r.status, 1, r.transcript)
        assertLocatedError(r.stderr, at: "-c:1:\(13 + dir.count)", "--keep needs --shared-mounts")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "nothing made, nothing left")
        // With --shared-mounts it keeps, as documented: the host sees the mount after pidsh.
        let shared = pidsh("mount proc \(dir) --keep", flags: ["--shared-mounts"])
        defer { _ = umount2(dir, Int32(MNT_DETACH)); rmdir(dir) }
        XCTAssertEqual(shared.status, 0, shared.transcript)
        XCTAssertEqual(mountPoints(under: dir), [dir])
    }

    // MARK: generated scripts

    /// SplitMix64, as the parser's fuzz test: the same scripts on every run.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A generator of hostile scripts that mostly parse (so they run): extreme
    /// integers, chains of thousands of terms, ranges at the edges, fields of anything,
    /// and now and then nesting past the limit.
    struct Generator {
        var rng: SeededRandom
        let integers = ["0", "1", "-1", "9223372036854775807", "-9223372036854775807", "9999999999", "42"]
        let chainOperators = ["+", "-", "*", "/", "%", "and", "or"]
        let lastOperators = ["==", "!=", "<", ">=", ".."]
        let variables = ["$v", "$r", "$l", "$r.length", "$r.last", "$l.first", "$v.length", "$l.nope", "\"text\"", "true"]

        mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

        mutating func operand(_ depth: Int) -> String {
            switch depth <= 0 ? int(0...1) : int(0...24) {
            case 0: return pick(integers)
            case 1: return pick(variables)
            case 2, 3: return "(\(expression(depth - 1)))"
            case 4: return "[\(expression(depth - 1)), \(expression(depth - 1))]"
            case 5: return "\(pick(["not ", "-"]))\(operand(depth - 1))"
            case 6: return "$(echo \(pick(integers)))"
            case 7: return String(repeating: "(", count: int(90...130)) + "1" + String(repeating: ")", count: 130)
            default: return pick(integers)
            }
        }

        /// A chain (now and then thousands of terms long, of simple operands, so the
        /// script stays below a megabyte), maybe ended by one comparison or `..`.
        mutating func expression(_ depth: Int) -> String {
            var text = operand(depth)
            let long = int(0...5) == 0
            for _ in 0..<(long ? int(15_000...40_000) : int(0...4)) {
                text += " \(pick(chainOperators)) \(long ? pick(integers) : operand(depth - 1))"
            }
            if int(0...1) == 0 { text += " \(pick(lastOperators)) \(operand(depth - 1))" }
            return text
        }

        mutating func script() -> String {
            var lines = ["let v = \(pick(integers))", "let r = \(pick(integers))..\(pick(integers))", "let l = [1, \"a\", [2]]"]
            for _ in 0..<int(1...4) {
                switch int(0...4) {
                case 0: lines.append("let x = \(expression(3))")
                case 1: lines.append("echo ${\(expression(3))}")
                case 2: lines.append("if (\(expression(2))) { echo a }" + String(repeating: " else if $v == 3 { echo b }", count: int(0...3000)))
                case 3: lines.append("for i in (\(expression(1))) { echo $i; exit 0 }")
                default: lines.append("expect \(expression(2))")
                }
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    func testGeneratedHostileScriptsNeverCrash() {
        var generator = Generator(rng: SeededRandom(state: 0x0DD_F00D))
        let started = Date()
        var statuses: [Int32: Int] = [:]
        for i in 0..<20 {
            let text = generator.script()
            let (r, _) = runScript(text, name: "generated-\(i).pidsh")
            XCTAssertTrue([0, 1, 2, 3].contains(r.status), "generated-\(i): exit \(r.status)\n\(String(r.stderr.prefix(1500)))")
            statuses[r.status, default: 0] += 1
        }
        print("reliability: 20 generated scripts, exits \(statuses.sorted { $0.key < $1.key }), \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    }
}
