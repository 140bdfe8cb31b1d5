import PidshSystem

/// The REPL's history: the entries in memory and the file they persist in.
///
/// File format: UTF-8 text, one entry per line, oldest first; inside an entry `\` is written
/// `\\` and a newline `\n`, so multi-line statements stay one entry. The file is created
/// with mode 0600 (its parent directories with 0700) and replaced atomically (temporary
/// file + rename). Saving appends this session's new entries to what the file holds then,
/// so two sessions do not erase each other's entries, and keeps only the last `maxEntries`.
public final class History {
    /// nil: no history file (none asked for, or it cannot be used: see `problem`).
    private(set) var path: String?
    let maxEntries: Int
    /// Why the history file cannot be used this session (a device, too large, a
    /// missing home), said once at the start; the REPL then runs without it.
    public private(set) var problem: String?
    /// Loaded entries followed by those added in this session, at most `maxEntries`.
    private(set) var entries: [String] = []
    /// Entries added since the last save.
    private(set) var unsaved: [String] = []
    /// Why the last save failed, for tests and diagnostics; nil after a good save.
    private(set) var lastSaveError: String?

    /// `base`: a directory that must exist for the file's missing directories to be
    /// made below it (see `LineEditors.historyBase`).
    public init(path: String?, maxEntries: Int, base: String? = nil) {
        self.path = path
        self.maxEntries = max(0, maxEntries)
        // PIDSH_HISTFILE=/dev/null is how people say "keep none": no file, nothing to say.
        // Any other file that is not a regular one is refused below, with the reason
        // (reading a FIFO would block; a write-then-rename would replace a device).
        guard let path, path != "/dev/null", self.maxEntries > 0 else { self.path = nil; return }
        let (loaded, why) = History.load(path)
        entries = Array(loaded.suffix(self.maxEntries))
        problem = why
        if problem == nil, !FileIO.exists(path), let base, !FileIO.isDirectory(base) {
            problem = "\(base) does not exist, and pidsh does not create a missing home directory"
        }
        if problem != nil { self.path = nil }
    }

    /// Records `line` unless it is blank or repeats the last entry; true if recorded.
    @discardableResult
    func add(_ line: String) -> Bool {
        var entry = line
        while entry.hasSuffix("\n") { entry.removeLast() }
        guard maxEntries > 0, entry.contains(where: { !$0.isWhitespace }) else { return false }
        if entries.last == entry { return false }
        entries.append(entry)
        if entries.count > maxEntries { entries.removeFirst(entries.count - maxEntries) }
        unsaved.append(entry)
        return true
    }

    /// Writes the file (see the type's comment). Nothing to do without a path.
    @discardableResult
    func save() -> Bool {
        guard let path else { return true }
        guard maxEntries > 0 else { return true }
        let (existing, why) = History.load(path)
        if let why {
            lastSaveError = why
            return false
        }
        if unsaved.isEmpty, existing.count <= maxEntries { return true }
        var merged = existing
        for entry in unsaved where merged.last != entry { merged.append(entry) }
        if merged.count > maxEntries { merged.removeFirst(merged.count - maxEntries) }
        if let error = History.writeFile(path, History.encode(merged)) {
            lastSaveError = error
            return false
        }
        lastSaveError = nil
        unsaved.removeAll()
        return true
    }

    // MARK: File format

    static func encode(_ entries: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            for byte in entry.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> [String] {
        var entries: [String] = []
        var current: [UInt8] = []
        var escaped = false
        for byte in bytes {
            if escaped {
                current.append(byte == UInt8(ascii: "n") ? UInt8(ascii: "\n") : byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\n") {
                if !current.isEmpty { entries.append(String(decoding: current, as: UTF8.self)) }
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        if escaped { current.append(UInt8(ascii: "\\")) }
        if !current.isEmpty { entries.append(String(decoding: current, as: UTF8.self)) }
        return entries
    }

    // MARK: Files

    /// The entries in `path` (none when it does not exist yet), or why it cannot be
    /// used: only a regular file is read (`/dev/zero` would never end), and at most
    /// `Limits.scriptBytes` of it.
    static func load(_ path: String) -> (entries: [String], problem: String?) {
        guard FileIO.exists(path) else { return ([], nil) }
        do {
            return (decode(try FileIO.readFile(path, limit: Limits.scriptBytes, regularOnly: true)), nil)
        } catch {
            return ([], "\(error)")
        }
    }

    /// The entries in `path`; nil when it is missing or cannot be used.
    static func readFile(_ path: String) -> [String]? {
        guard FileIO.exists(path) else { return nil }
        let (entries, problem) = load(path)
        return problem == nil ? entries : nil
    }

    /// Replaces `path` with `bytes` (mode 0600, at once); the error text, or nil.
    static func writeFile(_ path: String, _ bytes: [UInt8]) -> String? {
        do { try FileIO.replaceFile(path, bytes, mode: 0o600) } catch { return "\(error)" }
        return nil
    }
}
