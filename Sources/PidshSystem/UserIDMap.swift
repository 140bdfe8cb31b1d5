import Glibc

/// The uid map of pidsh's user namespace (/proc/self/uid_map): which uid seen inside is
/// which uid outside. As root pidsh has the identity map; a rootless pidsh maps only its
/// own user, to root inside, and the kernel shows every other owner of a file — root
/// included — as its overflow uid (/proc/sys/kernel/overflowuid, 65534), so from inside
/// such an owner cannot be told apart: only that it is not pidsh's user.
public struct UserIDMap {
    struct Extent { var inside: UInt32; var outside: UInt32; var count: UInt32 }
    let extents: [Extent]

    /// The map of pidsh's user namespace, as the kernel shows it now.
    public static func current() -> UserIDMap {
        let text = ProcFiles.readString("/proc/self/uid_map") ?? "0 0 4294967295\n"
        return UserIDMap(text)
    }

    init(_ text: String) {
        extents = text.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            return f.count == 3 ? Extent(inside: f[0], outside: f[1], count: f[2]) : nil
        }
    }

    /// The uid outside (in the initial user namespace's terms) of `uid` seen inside;
    /// nil when the namespace does not map it.
    public func outside(_ uid: UInt32) -> UInt32? {
        for e in extents where uid >= e.inside && UInt64(uid) < UInt64(e.inside) + UInt64(e.count) {
            return e.outside + (uid - e.inside)
        }
        return nil
    }

    public var isIdentity: Bool { extents.count == 1 && extents[0].inside == 0 && extents[0].outside == 0 && extents[0].count == UInt32.max }

    /// pidsh's user, in words: `root`, or `uid 65534 (nobody) outside, root inside its
    /// user namespace`.
    public func pidshUser() -> String {
        let uid = geteuid()
        guard let real = outside(uid), !isIdentity else { return Self.named(uid) }
        return "\(Self.named(real)) outside, \(uid == 0 ? "root" : "uid \(uid)") inside its user namespace"
    }

    /// The owner of a file whose stat shows `uid`, named as the kernel lets pidsh know it.
    public func owner(_ uid: UInt32) -> String {
        if isIdentity { return Self.named(uid) }
        if let real = outside(uid) { return "\(Self.named(real)) (\(uid) inside pidsh's user namespace)" }
        return "a user outside pidsh's user namespace (root or another user: the kernel shows every owner that namespace does not map as uid \(uid), its overflow uid)"
    }

    static func named(_ uid: UInt32) -> String {
        let name = UserNames.name(of: uid)
        return name == String(uid) ? "uid \(uid)" : "uid \(uid) (\(name))"
    }
}
