import Glibc
import SystemPackage

/// An error from the kernel, with what pidsh was doing and, where pidsh knows it, the
/// kernel rule that produced it. `description` is what users read.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let errno: Errno
    /// What pidsh tried, in words ("clone(CLONE_NEWPID)", "mount proc at /tmp/p").
    public let operation: String
    /// Why the kernel said no, when that is known; nil leaves just the errno text.
    public let explanation: String?

    /// Without an explanation, one for a limit that was hit (EMFILE, ENFILE) is added:
    /// which limit, its value, how to raise it.
    public init(_ errno: Errno, _ operation: String, explanation: String? = nil) {
        self.errno = errno
        self.operation = operation
        self.explanation = explanation ?? ResourceLimits.descriptorExplanation(errno.rawValue)
    }

    public init(errnoValue: Int32, _ operation: String, explanation: String? = nil) {
        self.init(Errno(rawValue: errnoValue), operation, explanation: explanation)
    }

    /// The current C `errno`, captured right after a failed call.
    public static func last(_ operation: String, explanation: String? = nil) -> SystemError {
        SystemError(errnoValue: Glibc.errno, operation, explanation: explanation)
    }

    public var errnoName: String { Errno.symbolicName(errno.rawValue) }

    public var description: String {
        let base = "\(operation): \(errnoName) (\(String(cString: strerror(errno.rawValue))))"
        guard let explanation else { return base }
        return base + "\n  " + explanation
    }
}

/// A failure that is pidsh's rule rather than the kernel's (bad path, refused mount).
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

private let errnoNames: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN",
        ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSPC: "ENOSPC", EUSERS: "EUSERS",
        ELOOP: "ELOOP", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", EROFS: "EROFS",
        ENOTEMPTY: "ENOTEMPTY", EXDEV: "EXDEV", ETXTBSY: "ETXTBSY", EOPNOTSUPP: "EOPNOTSUPP",
]

extension Errno {
    /// "ENOMEM" rather than "Cannot allocate memory": the name people search for.
    public static func symbolicName(_ value: Int32) -> String {
        errnoNames[value] ?? "errno \(value)"
    }
}

/// Retries a call interrupted by a signal (EINTR); returns its result or throws.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        if Glibc.errno == EINTR { continue }
        throw SystemError.last(operation())
    }
}
