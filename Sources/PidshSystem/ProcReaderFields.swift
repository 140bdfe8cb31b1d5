import Glibc

/// The fields listings take from /proc/PID/status, /proc/PID/stat and /proc/PID/cmdline,
/// parsed from ProcReader's buffer: only the fields asked for become Strings or arrays.
extension ProcReader {
    /// Name, State (its letter), PPid, the effective uid and NSpid, from
    /// /proc/PID/status; parsing stops once it has all five (they are near the top).
    /// Lines and keys are found with memchr and memcmp: the generic byte-by-byte
    /// search and comparison were a quarter of `ns tree`'s own time.
    func status(of pid: Int32, into e: inout ProcEntry) -> Bool {
        guard let bytes = read(pid: pid, "status", oneRecord: true), let base = bytes.baseAddress else { return false }
        var seen = 0
        var lineStart = 0
        while seen < 5, lineStart < bytes.count,
              let newline = memchr(base + lineStart, 0x0A, bytes.count - lineStart) {
            let end = base.distance(to: UnsafeRawPointer(newline))
            seen += take(statusLine: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<end]), into: &e)
            lineStart = end + 1
        }
        if e.nspid.isEmpty { e.nspid = [pid] }   // a kernel before NSpid (4.1): one level
        return true
    }

    /// 1 when the line was one of the five fields, else 0.
    private func take(statusLine line: UnsafeRawBufferPointer, into e: inout ProcEntry) -> Int {
        guard let base = line.baseAddress, let found = memchr(base, 0x3A, line.count) else { return 0 }   // ':'
        let colon = base.distance(to: UnsafeRawPointer(found))
        var v = colon + 1
        while v < line.count, line[v] == UInt8(ascii: "\t") || line[v] == UInt8(ascii: " ") { v += 1 }
        let value = line[v...]
        func key(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == colon && memcmp(base, name.utf8Start, colon) == 0
        }
        if key("Name") { e.name = String(decoding: value, as: UTF8.self) }
        else if key("State") { e.state = value.first.map { String(UnicodeScalar($0)) } ?? "?" }
        else if key("PPid") { e.ppid = ProcStatus.int(value) }
        else if key("Uid") { e.uid = ProcStatus.secondNumber(value) }
        else if key("NSpid") { e.nspid = ProcStatus.ints(value) }
        else { return 0 }
        return 1
    }

    /// State, PPID and name from /proc/PID/stat (`PID (NAME) S PPID ...`), which the
    /// kernel makes faster than status. The name is status's Name unless it holds a
    /// newline or a backslash, which status escapes: then `nameNeedsStatus` is set and
    /// the name is left for status to give.
    func stat(of pid: Int32, into e: inout ProcEntry, nameNeedsStatus: inout Bool) -> Bool {
        guard let bytes = read(pid: pid, "stat", oneRecord: true),
              let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = Self.lastCloseParen(bytes), close > open, close + 4 < bytes.count else { return false }
        let name = bytes[(open + 1)..<close]
        nameNeedsStatus = name.contains(UInt8(ascii: "\n")) || name.contains(UInt8(ascii: "\\"))
        if !nameNeedsStatus { e.name = String(decoding: name, as: UTF8.self) }
        e.state = String(UnicodeScalar(bytes[close + 2]))
        let afterPPid = bytes[(close + 4)...].firstIndex(of: UInt8(ascii: " ")) ?? bytes.count
        e.ppid = ProcStatus.int(bytes[(close + 4)..<afterPPid])
        return true
    }

    /// The name from /proc/PID/comm (`NAME\n`); nil when it cannot be read, or holds a
    /// newline or a backslash, which status escapes (its Name is the one shown).
    func comm(of pid: Int32) -> String? {
        guard let bytes = read(pid: pid, "comm", oneRecord: true), bytes.last == UInt8(ascii: "\n") else { return nil }
        let name = bytes[..<(bytes.count - 1)]
        if name.contains(UInt8(ascii: "\n")) || name.contains(UInt8(ascii: "\\")) { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    func startTime(of pid: Int32) -> UInt64? {
        guard let bytes = read(pid: pid, "stat", oneRecord: true), let close = Self.lastCloseParen(bytes) else { return nil }
        // After the `)`, fields are separated by one space; the first is field 3.
        var field = 2
        var value: UInt64 = 0
        for c in bytes[(close + 1)...] {
            if c == UInt8(ascii: " ") {
                if field == 22 { return value }
                field += 1
                value = 0
            } else if field == 22 {
                guard c >= 48 && c <= 57 else { return nil }
                value = value &* 10 &+ UInt64(c - 48)
            }
        }
        return field == 22 ? value : nil
    }

    /// Where the name in stat ends: at the last `)`, as the name may hold one. (A plain
    /// loop: the generic lastIndex(of:) was 7 % of `ps`'s own time.)
    static func lastCloseParen(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = bytes.count - 1
        while i >= 0 {
            if bytes[i] == UInt8(ascii: ")") { return i }
            i -= 1
        }
        return nil
    }

    /// /proc/PID/cmdline as its arguments (empty for a kernel thread or a zombie). One
    /// read that does not fill the buffer has all of it: the kernel clamps the count to
    /// the arguments' end and copies until the count is met (get_mm_cmdline), so a
    /// second read would only say what the first did (20,000 system calls in a listing
    /// of 20,000 processes).
    func commandLine(of pid: Int32) -> [String]? {
        guard let bytes = read(pid: pid, "cmdline", oneRecord: true) else { return nil }
        return Self.arguments(bytes)
    }

    static func arguments(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var args: [String] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0 {
            args.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { args.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return args
    }
}
