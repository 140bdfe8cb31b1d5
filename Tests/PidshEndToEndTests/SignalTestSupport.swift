import Foundation
import XCTest

/// Witnesses for the signal tests: lines a script runs to print a field of
/// /proc/PID/status as the kernel shows it (awk reads it, not pidsh), and the bits.
extension EndToEndTestCase {
    /// A script line printing `NAME=VALUE` of FIELD (SigBlk, SigCgt, ShdPnd, NSpid...)
    /// of /proc/PID/status; `pid` is pidsh text (`$ns.init.pid`, `$p.pid`).
    func statusLine(_ name: String, _ field: String, pid: String) -> String {
        "echo \"\(name)=$(awk '/^\(field):/ {$1=\"\"; sub(/^ */, \"\"); print}' /proc/\(pid)/status)\""
    }

    /// A field of a /proc status file as the kernel writes it ("" when missing).
    func statusField(_ path: String, _ name: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
        return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
    }

    /// The signal mask of a hex /proc field.
    func mask(_ hex: String?, file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        guard let hex, let v = UInt64(hex, radix: 16) else {
            XCTFail("not a hex mask: \(hex ?? "nil")", file: file, line: line)
            return 0
        }
        return v
    }

    func bit(_ signal: Int32) -> UInt64 { 1 << UInt64(signal - 1) }

    /// Whether /proc/PID/status exists and is not a zombie's.
    func isAlive(_ pid: Int32) -> Bool {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !s.contains("State:\tZ")
    }
}
