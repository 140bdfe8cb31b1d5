/// The three ways `pidsh test` reports: text for people (coloured on a terminal), TAP
/// (`--tap`) and JUnit XML (`--junit FILE`) for CI.
enum TestReports {
    static func summary(_ results: [TestResult]) -> String {
        let passed = results.filter { $0.verdict == .passed }.count
        let failed = results.filter { $0.verdict == .failed }.count
        let skipped = results.filter { $0.verdict == .skipped }.count
        return "\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : "")
    }

    // MARK: text

    static func text(_ r: TestResult, palette: Palette) -> String {
        switch r.verdict {
        case .passed:
            return r.summary.hasPrefix("updated") ? r.summary + "\n" : palette.passed("ok") + "   \(r.script)\n"
        case .skipped:
            return palette.skipped("skip") + " \(r.script): \(r.summary)\n"
        case .failed:
            var s = palette.failed("FAIL") + " \(r.script): \(r.summary)\n" + (palette.on ? r.coloredDetail : r.detail)
            if let at = r.location { s += "failed at \(at)\n" }
            return s
        }
    }

    // MARK: TAP (version 13: YAML blocks carry the details)

    static func tapHeader(count: Int) -> String { "TAP version 13\n1..\(count)\n" }

    static func tap(_ r: TestResult, number: Int) -> String {
        switch r.verdict {
        case .passed: return "ok \(number) - \(tapName(r.script))\n"
        case .skipped: return "ok \(number) - \(tapName(r.script)) # SKIP \(oneLine(r.summary))\n"
        case .failed:
            var s = "not ok \(number) - \(tapName(r.script))\n  ---\n  message: \(yamlQuoted(r.summary))\n"
            if let at = r.location { s += "  at: \(yamlQuoted(at))\n" }
            if !r.detail.isEmpty {
                s += "  detail: |\n" + printable(r.detail).split(separator: "\n", omittingEmptySubsequences: false)
                    .dropLast(r.detail.hasSuffix("\n") ? 1 : 0).map { "    " + $0 }.joined(separator: "\n") + "\n"
            }
            return s + "  ...\n"
        }
    }

    /// A test's name on an `ok` line: `#` would start a directive there.
    static func tapName(_ s: String) -> String { oneLine(s).replacingOccurrences("#", "\\#") }

    static func oneLine(_ s: String) -> String { String(s.map { $0 == "\n" ? " " : $0 }) }

    static func yamlQuoted(_ s: String) -> String {
        var out = "\""
        for c in printable(s) {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// Control characters (other than newline and tab) as `?`: YAML and XML 1.0 allow none.
    static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7f || $0.value == 0xFFFE || $0.value == 0xFFFF ? "?" : $0
        }))
    }

    // MARK: JUnit XML

    static func junit(_ results: [TestResult], totalMilliseconds: Int64) -> String {
        let failed = results.filter { $0.verdict == .failed }.count
        let skipped = results.filter { $0.verdict == .skipped }.count
        let counts = "tests=\"\(results.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(totalMilliseconds))\""
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<testsuites name=\"pidsh test\" \(counts)>\n"
        s += "  <testsuite name=\"pidsh test\" \(counts)>\n"
        for r in results {
            let (dir, name) = (GoldenRunner.directory(of: r.script), GoldenRunner.baseName(r.script))
            let open = "    <testcase classname=\"\(xml(dir))\" name=\"\(xml(name))\" file=\"\(xml(r.script))\" time=\"\(seconds(r.milliseconds))\""
            switch r.verdict {
            case .passed:
                s += open + "/>\n"
            case .skipped:
                s += open + ">\n      <skipped message=\"\(xml(r.summary))\"/>\n    </testcase>\n"
            case .failed:
                let message = r.location.map { "\(r.summary) (at \($0))" } ?? r.summary
                s += open + ">\n      <failure message=\"\(xml(message))\">\(xml(r.detail))</failure>\n    </testcase>\n"
            }
        }
        return s + "  </testsuite>\n</testsuites>\n"
    }

    static func seconds(_ ms: Int64) -> String {
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in printable(s) {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
