import Glibc

/// Small, allocation-light readers for /proc and /sys files (no Foundation: start-up
/// time matters for a shell).
public enum ProcFiles {
    /// The whole file, or nil when it cannot be opened or read (a process that is gone).
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = 4096
        while true {
            let oldCount = result.count
            result.reserveCapacity(oldCount + chunk)
            let n = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { buf -> Int in
                let r = Glibc.read(fd, buf.baseAddress, chunk)
                if r > 0 { result.append(contentsOf: buf[0..<r]) }
                return r
            }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return result }
            if chunk < 65536 { chunk *= 2 }
        }
    }

    public static func readString(_ path: String) -> String? {
        guard let bytes = read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// readlink(2) as a String.
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        if n < 0 { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The namespace inode from a `pid:[4026531836]` link text.
    public static func inode(fromLink text: String) -> UInt64? {
        guard let open = text.firstIndex(of: "["), let close = text.lastIndex(of: "]") else { return nil }
        return UInt64(text[text.index(after: open)..<close])
    }
}

/// The fields of /proc/PID/status pidsh uses, parsed in one pass.
public struct ProcStatus: Sendable, Equatable {
    public var name = ""
    public var state = ""
    public var pid: Int32 = 0
    public var ppid: Int32 = 0
    public var nspid: [Int32] = []
    public var sigCaught: UInt64 = 0
    public var sigBlocked: UInt64 = 0
    public var sigIgnored: UInt64 = 0
    /// Signals pending for the whole process (ShdPnd) and for its main thread (SigPnd).
    public var sigPendingShared: UInt64 = 0
    public var sigPendingThread: UInt64 = 0
    /// The PID of the process tracing it (strace, gdb), 0 when none.
    public var tracerPid: Int32 = 0
    /// The effective uid (the second number of `Uid:`), as ps's USER shows it.
    public var effectiveUID: UInt32 = 0
    /// `Uid:` whole: real, effective, saved, filesystem.
    public var uids: [UInt32] = []
    /// The effective capabilities (CapEff).
    public var capEffective: UInt64 = 0

    public init() {}

    public static func read(pid: Int32) -> ProcStatus? {
        guard let bytes = ProcFiles.read("/proc/\(pid)/status") else { return nil }
        return parse(bytes)
    }

    public static func parse(_ bytes: [UInt8]) -> ProcStatus {
        var s = ProcStatus()
        var lineStart = 0
        let count = bytes.count
        var i = 0
        while i <= count {
            if i == count || bytes[i] == UInt8(ascii: "\n") {
                s.take(line: bytes[lineStart..<i])
                lineStart = i + 1
            }
            i += 1
        }
        return s
    }

    private mutating func take(line: ArraySlice<UInt8>) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let key = line[line.startIndex..<colon]
        var v = colon + 1
        while v < line.endIndex, line[v] == UInt8(ascii: "\t") || line[v] == UInt8(ascii: " ") { v += 1 }
        let value = line[v..<line.endIndex]
        switch key.count {
        case 4 where key.elementsEqual("Name".utf8): name = String(decoding: value, as: UTF8.self)
        case 5 where key.elementsEqual("State".utf8): state = String(decoding: value, as: UTF8.self)
        case 3 where key.elementsEqual("Pid".utf8): pid = Self.int(value)
        case 4 where key.elementsEqual("PPid".utf8): ppid = Self.int(value)
        case 5 where key.elementsEqual("NSpid".utf8): nspid = Self.ints(value)
        case 6 where key.elementsEqual("SigCgt".utf8): sigCaught = Self.hex(value)
        case 6 where key.elementsEqual("SigBlk".utf8): sigBlocked = Self.hex(value)
        case 6 where key.elementsEqual("SigIgn".utf8): sigIgnored = Self.hex(value)
        case 6 where key.elementsEqual("ShdPnd".utf8): sigPendingShared = Self.hex(value)
        case 6 where key.elementsEqual("SigPnd".utf8): sigPendingThread = Self.hex(value)
        case 9 where key.elementsEqual("TracerPid".utf8): tracerPid = Self.int(value)
        case 3 where key.elementsEqual("Uid".utf8):
            effectiveUID = Self.secondNumber(value)
            uids = Self.ints(value).map { UInt32(bitPattern: $0) }
        case 6 where key.elementsEqual("CapEff".utf8): capEffective = Self.hex(value)
        default: break
        }
    }

    static func int<Bytes: Sequence<UInt8>>(_ s: Bytes) -> Int32 {
        var n: Int32 = 0
        for c in s where c >= 48 && c <= 57 { n = n &* 10 &+ Int32(c - 48) }
        return n
    }

    static func ints<Bytes: Sequence<UInt8>>(_ s: Bytes) -> [Int32] {
        var out: [Int32] = []
        var n: Int32 = 0
        var inNumber = false
        for c in s {
            if c >= 48 && c <= 57 { n = n &* 10 &+ Int32(c - 48); inNumber = true }
            else if inNumber { out.append(n); n = 0; inNumber = false }
        }
        if inNumber { out.append(n) }
        return out
    }

    /// The second of the numbers on a line (`Uid:\treal\teffective\t...`), as a uid.
    static func secondNumber<Bytes: Sequence<UInt8>>(_ s: Bytes) -> UInt32 {
        var n: UInt32 = 0, index = 0, inNumber = false
        for c in s {
            if c >= 48 && c <= 57 {
                if index == 1 { n = n &* 10 &+ UInt32(c - 48) }
                inNumber = true
            } else if inNumber {
                if index == 1 { return n }
                index += 1
                inNumber = false
            }
        }
        return n
    }

    static func hex(_ s: ArraySlice<UInt8>) -> UInt64 {
        var n: UInt64 = 0
        for c in s {
            switch c {
            case 48...57: n = n << 4 | UInt64(c - 48)
            case 97...102: n = n << 4 | UInt64(c - 87)
            case 65...70: n = n << 4 | UInt64(c - 55)
            default: break
            }
        }
        return n
    }

    /// The single-letter state ("S" of "S (sleeping)").
    public var stateLetter: String { state.first.map(String.init) ?? "?" }

    public func catches(signal: Int32) -> Bool { Self.has(sigCaught, signal) }
    public func blocks(signal: Int32) -> Bool { Self.has(sigBlocked, signal) }
    public func ignores(signal: Int32) -> Bool { Self.has(sigIgnored, signal) }
    /// Signal N's bit of a SigCgt/SigBlk/SigIgn mask; signal 0 (`kill -0`) has none.
    static func has(_ mask: UInt64, _ signal: Int32) -> Bool {
        (1...64).contains(signal) && mask & (1 << UInt64(signal - 1)) != 0
    }
    /// PID 1 of a PID namespace (NSpid's last entry), whichever namespace that is.
    public var isNamespaceInit: Bool { nspid.last == 1 }
    /// Stopped (SIGSTOP, SIGTSTP...): State `T`.
    public var isStopped: Bool { state.hasPrefix("T") }
}

/// /proc/PID/cmdline as a list of arguments.
public func readCommandLine(pid: Int32) -> [String]? {
    guard let bytes = ProcFiles.read("/proc/\(pid)/cmdline") else { return nil }
    if bytes.isEmpty { return [] }
    var args: [String] = []
    var start = 0
    for (i, b) in bytes.enumerated() where b == 0 {
        args.append(String(decoding: bytes[start..<i], as: UTF8.self))
        start = i + 1
    }
    if start < bytes.count { args.append(String(decoding: bytes[start...], as: UTF8.self)) }
    return args
}
