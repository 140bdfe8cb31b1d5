import PidshSystem

/// A failure while running, located at the statement or word that caused it.
public struct RuntimeError: Error, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public var notes: [String]
    /// Already written where the command's `2>` sent its standard error: a `try`, `if`
    /// or `!` that catches it says nothing more (an uncaught one still stops the
    /// script with the error on pidsh's standard error).
    public var shownOnRedirectedError = false
    /// What `$?` becomes when this error ends a command (as sh: 127 for a command not
    /// found, 126 for one that cannot be executed, 1 for any other error).
    public var status: Int32

    public init(_ location: SourceLocation, _ message: String, notes: [String] = [], status: Int32 = 1) {
        self.location = location
        self.message = message
        self.notes = notes
        self.status = status
    }

    public var description: String { "\(location): error: \(message)" }
    public var diagnostic: Diagnostic { Diagnostic(location, message, notes: notes) }
}

/// `expect` found its expression false.
public struct ExpectationFailed: Error {
    public var location: SourceLocation
    public var message: String
    public var diagnostic: Diagnostic { Diagnostic(location, message) }
}

/// A command wrote into a pipe whose reader is gone (`pidsh ... | head -1`): it ends
/// quietly, as a shell's command killed by SIGPIPE does. In a pipeline's earlier stage
/// only that stage ends; anywhere else the script ends, with status 141 (128 + SIGPIPE)
/// and no message.
public struct BrokenPipe: Error {
    public var location: SourceLocation
}

/// `exit N`.
public struct ExitRequest: Error { public var code: Int32 }

/// A command ran and failed (non-zero status): stops a script as `set -e` would.
public struct CommandFailed: Error {
    public var location: SourceLocation
    public var message: String
    public var status: Int32
    /// Only a status (a program's non-zero exit, `false`, `!`): the REPL shows it in
    /// the prompt instead of an error block, as fish does.
    public var plainFailure = false
    public var diagnostic: Diagnostic { Diagnostic(location, message) }
}

/// Documented exit codes of `pidsh` (docs/language.md).
public enum ExitCode {
    public static let success: Int32 = 0
    public static let runtimeError: Int32 = 1
    public static let syntaxError: Int32 = 2
    public static let expectFailed: Int32 = 3
    public static let usage: Int32 = 64
    public static let startupFailed: Int32 = 70
}

/// A builtin's own complaint (bad arguments...), located by the interpreter.
public struct BuiltinError: Error, CustomStringConvertible {
    public var message: String
    public var notes: [String]
    /// Which argument (0-based, after the command name) it is about, if any.
    public var argumentIndex: Int?
    /// What `$?` becomes (see `RuntimeError.status`).
    public var status: Int32
    public init(_ message: String, notes: [String] = [], argument: Int? = nil, status: Int32 = 1) {
        self.message = message
        self.notes = notes
        self.argumentIndex = argument
        self.status = status
    }
    public var description: String { message }
}
