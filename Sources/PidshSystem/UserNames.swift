import Glibc

/// User names for the USER columns (as ps and lsns show them), from the C library's
/// user database; a uid it does not know shows as the number.
public enum UserNames {
    private static var cache: [UInt32: String] = [:]

    public static func name(of uid: UInt32) -> String {
        if let known = cache[uid] { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let found = getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
        let name = found ? String(cString: entry.pw_name) : String(uid)
        cache[uid] = name
        return name
    }
}
