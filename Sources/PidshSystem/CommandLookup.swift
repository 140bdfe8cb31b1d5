import Glibc

/// What a command name finds, by the rules sh uses for its statuses: an executable; a
/// file of that name that cannot be executed (status 126: no execute permission, or a
/// directory); or nothing (status 127).
public enum CommandLookup: Equatable {
    case executable(String)
    case notExecutable(String, directory: Bool)
    case notFound

    /// A name with a `/` is that path; any other is searched in the directories of
    /// `path` (an empty entry is the current directory), where the first executable
    /// wins. As sh does, a file found there that is not executable is reported only
    /// when no directory has an executable of that name.
    public static func find(_ name: String, path: String?) -> CommandLookup {
        if name.utf8.contains(UInt8(ascii: "/")) { return examine(name) ?? .notFound }
        var firstRefused: CommandLookup?
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            let found = examine(candidate)
            if case .executable? = found { return found! }
            // A directory in a PATH entry is not a command of that name (sh skips it).
            if case .notExecutable(_, directory: false)? = found, firstRefused == nil { firstRefused = found }
        }
        return firstRefused ?? .notFound
    }

    /// The file at `path`: nil when there is none.
    public static func examine(_ path: String) -> CommandLookup? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        if (st.st_mode & S_IFMT) == S_IFDIR { return .notExecutable(path, directory: true) }
        return access(path, X_OK) == 0 ? .executable(path) : .notExecutable(path, directory: false)
    }

    /// sh's status for a command that cannot run: 126 or 127 (0 for an executable).
    public var shellStatus: Int32 {
        switch self {
        case .executable: return 0
        case .notExecutable: return 126
        case .notFound: return 127
        }
    }
}
