import Glibc

/// Reads many processes' /proc files through one buffer, reused from file to file, and
/// builds their paths in place: a listing of 20,000 processes makes 40,000 to 60,000
/// reads, and a path String and an array per file (as ProcFiles.read makes) were a
/// measurable part of its time. What `read` returns is valid until the next call.
final class ProcReader {
    private var buffer: UnsafeMutableRawBufferPointer
    /// "/proc/PID/NAME\0": 6 + 10 digits + 1 + the longest name used + 1.
    private let path = UnsafeMutablePointer<CChar>.allocate(capacity: 64)

    init(capacity: Int = 16384) {
        buffer = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit {
        buffer.deallocate()
        path.deallocate()
    }

    /// The whole of /proc/PID/NAME, or nil when it cannot be opened or read (the process
    /// has ended, or pidsh may not read it). `oneRecord`: the kernel makes the file in
    /// one piece (status, stat: a seq_file with a single record; cmdline: see
    /// commandLine), so a read that does not fill the buffer has all of it and no second
    /// read is needed to see the end.
    func read(pid: Int32, _ name: StaticString, oneRecord: Bool = false) -> UnsafeRawBufferPointer? {
        setPath(pid: pid, name)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var used = 0
        while true {
            if used == buffer.count { grow() }
            let n = Glibc.read(fd, buffer.baseAddress! + used, buffer.count - used)
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            // Otherwise read to the end (a zero-byte read).
            if n == 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<used]) }
            used += n
            if oneRecord && used < buffer.count { return UnsafeRawBufferPointer(rebasing: buffer[0..<used]) }
        }
    }

    /// The inode of the process's PID namespace, from the link /proc/PID/ns/pid
    /// (`pid:[4026531836]`), or nil when the link cannot be read.
    func pidNamespace(of pid: Int32) -> UInt64? {
        setPath(pid: pid, "ns/pid")
        let n = readlink(path, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
        guard n > 0 else { return nil }
        return Self.inode(inLink: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }

    /// The number between `[` and `]` of a namespace link's text.
    static func inode(inLink text: UnsafeRawBufferPointer) -> UInt64? {
        guard let open = text.firstIndex(of: UInt8(ascii: "[")) else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for c in text[(open + 1)...] {
            if c == UInt8(ascii: "]") { return digits > 0 ? value : nil }
            guard c >= 48 && c <= 57 else { return nil }
            value = value &* 10 &+ UInt64(c - 48)
            digits += 1
        }
        return nil
    }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 1)
        bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = bigger
    }

    private func setPath(pid: Int32, _ name: StaticString) {
        var p = 0
        for c in "/proc/".utf8 { path[p] = CChar(bitPattern: c); p += 1 }
        // The decimal digits of the PID, most significant first.
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = UInt32(bitPattern: pid)
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[count] = UInt8(48 + rest % 10); rest /= 10; count += 1 } while rest > 0
            while count > 0 { count -= 1; path[p] = CChar(bitPattern: d[count]); p += 1 }
        }
        path[p] = CChar(bitPattern: UInt8(ascii: "/")); p += 1
        name.withUTF8Buffer { for c in $0 { path[p] = CChar(bitPattern: c); p += 1 } }
        path[p] = 0
    }
}
