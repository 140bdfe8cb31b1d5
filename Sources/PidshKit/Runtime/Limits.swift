/// Bounds on what a script can make pidsh hold in memory. Past them a script gets a
/// located error, not an allocation failure (which Swift cannot catch: it aborts pidsh,
/// and nothing would be torn down).
public enum Limits {
    /// The output `$(...)` or `let x = COMMAND` captures.
    public static let captureBytes = 64 << 20
    /// A script file, a script on stdin, a `source`d file.
    public static let scriptBytes = 16 << 20
    /// A string made by `+`.
    public static let stringBytes = 64 << 20
    /// A list made by `+` (from lists or a range): elements, not bytes.
    public static let listElements = 1 << 22
    /// How deep lists may nest inside lists (`[[[...]]]` built at run time): printing,
    /// comparing and freeing them recurse.
    public static let listNesting = 100

    /// "64 MiB" for a byte count.
    static func describeBytes(_ n: Int) -> String {
        n >= 1 << 20 && n % (1 << 20) == 0 ? "\(n >> 20) MiB" : "\(n) bytes"
    }
}
