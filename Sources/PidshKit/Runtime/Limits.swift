import PidshSystem

/// Bounds on what a script can make pidsh hold in memory. Past them a script gets a
/// located error, not an allocation failure (which Swift cannot catch: it aborts pidsh,
/// and nothing would be torn down).
public enum Limits {
    /// How large one capture or string may grow: 64 MiB, or an eighth of the address
    /// space `ulimit -v` allows (holding N bytes costs a few times N on the way: the
    /// growing buffer, its copy into a string).
    public static let memoryBytes = min(64 << 20, (ResourceLimits.addressSpace ?? .max) / 8)
    /// The output `$(...)` or `let x = COMMAND` captures.
    public static let captureBytes = memoryBytes
    /// A script file, a script on stdin, a `source`d file.
    public static let scriptBytes = 16 << 20
    /// A string made by `+`.
    public static let stringBytes = memoryBytes
    /// A list made by `+` (from lists or a range): elements, not bytes.
    public static let listElements = 1 << 22
    /// How deep lists may nest inside lists (`[[[...]]]` built at run time): printing,
    /// comparing and freeing them recurse.
    public static let listNesting = 100

    /// "64 MiB" for a byte count; the bound of captures and strings says where it
    /// comes from when `ulimit -v` made it smaller.
    static func describeBytes(_ n: Int) -> String {
        let text = n >= 1 << 20 ? "\(n >> 20) MiB" : "\(n) bytes"
        return n == memoryBytes && n < 64 << 20 ? text + " (an eighth of `ulimit -v`)" : text
    }
}
