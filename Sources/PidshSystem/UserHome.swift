import Glibc

/// The user's home directory, for `~`, `cd` and the REPL's history: $HOME, or (as bash
/// does when HOME is unset) the home of the user's entry in the password database.
public enum UserHome {
    private static var passwordDatabaseHome: String?
    private static var uid: uid_t = 0

    /// At start-up, before `SessionSetup.enter`: a rootless pidsh then maps itself to
    /// root in a user namespace of its own, where getuid() is 0 and the look-up would
    /// give root's home (`/root`) instead of the user's. Only when HOME is unset or
    /// empty (a look-up may ask NSS, which costs).
    public static func lookUpFallback() {
        uid = getuid()
        guard (getenv("HOME").map { String(cString: $0) } ?? "").isEmpty else { return }
        guard let entry = getpwuid(uid), let dir = entry.pointee.pw_dir else { return }
        let home = String(cString: dir)
        if !home.isEmpty { passwordDatabaseHome = home }
    }

    /// $HOME when set and not empty, else the password database's home; nil when
    /// neither is known.
    public static var directory: String? {
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty { return home }
        return passwordDatabaseHome
    }

    /// Why there is no home directory, for an error.
    public static var missingReason: String {
        "HOME is not set, and uid \(uid) has no home directory in the password database"
    }
}
