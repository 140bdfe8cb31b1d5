import Glibc

/// A POSIX extended regular expression (what `grep -E` reads), compiled once by the C
/// library's regcomp. `pidsh test` matches a golden's ` (re)` lines with it.
public final class ExtendedRegex {
    private let compiled: UnsafeMutablePointer<regex_t>

    /// Compiles `pattern` to match a whole line: it must match from the first character
    /// to the last, as cram's ` (re)` lines do. Throws the C library's complaint.
    public init(wholeLine pattern: String) throws {
        // Checked alone first: wrapped in `^(...)$`, a stray `)` could balance.
        try ExtendedRegex.check(pattern)
        compiled = .allocate(capacity: 1)
        let rc = regcomp(compiled, "^(" + pattern + ")$", REG_EXTENDED | REG_NOSUB)
        if rc != 0 {
            let message = ExtendedRegex.message(rc, compiled)
            compiled.deallocate()
            throw UsageError(message)
        }
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    public func matches(_ text: String) -> Bool {
        regexec(compiled, text, 0, nil, 0) == 0
    }

    static func check(_ pattern: String) throws {
        let probe = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        defer { probe.deallocate() }
        let rc = regcomp(probe, pattern, REG_EXTENDED | REG_NOSUB)
        if rc != 0 {
            let message = message(rc, probe)
            throw UsageError(message)
        }
        regfree(probe)
    }

    /// regerror's text for a failed regcomp (which leaves nothing to free).
    static func message(_ rc: Int32, _ re: UnsafeMutablePointer<regex_t>) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        _ = regerror(rc, re, &buf, buf.count)
        return String(cString: buf)
    }
}
