import CPidsh
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
    /// The part of the request the kernel refused, when the user named it: a message
    /// puts its caret there, and a program that could not be executed gives sh's status.
    public var culprit: Culprit?

    public enum Culprit: Equatable, Sendable {
        /// exec of the program (ENOENT: 127, as sh; any other errno: 126)
        case program
        /// the namespace joined (setns, or a fork into a namespace whose init is gone)
        case namespace
        /// the procfs mount point
        case mountPoint
    }

    /// sh's status for a program that could not be executed; nil for other failures.
    public var shellStatus: Int32? {
        guard culprit == .program else { return nil }
        return errno.rawValue == ENOENT ? 127 : 126
    }

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

extension Errno {
    /// "ENOMEM" rather than "Cannot allocate memory": the name people search for
    /// (glibc's strerrorname_np).
    public static func symbolicName(_ value: Int32) -> String {
        guard let name = pidsh_errno_name(value) else { return "errno \(value)" }
        return String(cString: name)
    }
}
