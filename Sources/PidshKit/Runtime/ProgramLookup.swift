import PidshSystem

/// Finds the program a command names, for every place that runs one (a command,
/// `spawn`, `nest`), and words why it cannot run with sh's status for it: 127 when
/// nothing of that name exists, 126 when it exists but cannot be executed.
enum ProgramLookup {
    enum Found {
        case program(String)
        case refused(message: String, status: Int32)
    }

    /// `notFound` words the 127 case for a name without `/` (the caller knows where it
    /// looked: builtins and defs too, or only $PATH).
    static func find(_ name: String, notFound: @autoclosure () -> String) -> Found {
        // A name with a `/` is a path: $PATH is not read (nor the message made) for it.
        let hasSlash = name.utf8.contains(UInt8(ascii: "/"))
        let lookup = hasSlash ? CommandLookup.examine(name) ?? .notFound : CommandLookup.find(name, path: FileIO.environment("PATH"))
        switch lookup {
        case .executable(let path):
            return .program(path)
        case .notExecutable(let path, let directory):
            let found = hasSlash ? path : "\(path) (found on $PATH)"
            let why = directory ? "is a directory"
                : "has no execute permission for pidsh's user (or its file system is mounted noexec)"
            return .refused(message: "cannot execute \(name): \(found) \(why)", status: lookup.shellStatus)
        case .notFound:
            return .refused(message: hasSlash ? "no such program: \(name)" : notFound(), status: lookup.shellStatus)
        }
    }
}
