import Glibc

/// Paths and directories: globs, cd, programs on $PATH, directories made, listed and
/// removed (`pidsh test`'s scratch directories among them).
extension FileIO {
    /// Sorted glob matches; nil when nothing matches (the word then stays as written).
    public static func glob(_ pattern: String) -> [String]? {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return nil }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.isEmpty ? nil : out
    }

    public static func changeDirectory(_ path: String) throws {
        if chdir(path) != 0 { throw SystemError.last("cd \(path)") }
    }

    public static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
    }

    /// Where programs are looked for when $PATH is not set.
    public static let defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"

    /// A program by name: a path if it contains `/`, else the first executable on `path`.
    public static func findExecutable(_ name: String, path: String?) -> String? {
        if case .executable(let found) = CommandLookup.find(name, path: path) { return found }
        return nil
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func directoryEntries(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The names of executables in the directories of a PATH (for completion).
    public static func executables(inPath path: String) -> [String] {
        var names = Set<String>()
        for dir in path.split(separator: ":") {
            guard let d = opendir(String(dir)) else { continue }
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name.hasPrefix(".") { continue }
                if access(String(dir) + "/" + name, X_OK) == 0 { names.insert(name) }
            }
            closedir(d)
        }
        return names.sorted()
    }

    /// mkdir that tolerates an existing directory.
    public static func makeDirectory(_ path: String, mode: mode_t) {
        _ = mkdir(path, mode)
    }

    /// mkdtemp: a new directory, mode 0700, named `prefix` plus six random characters.
    public static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw SystemError.last("mkdtemp \(prefix)XXXXXX") }
        return String(cString: made)
    }

    /// rm -r of a directory pidsh made for itself (never follows symlinks).
    public static func removeDirectory(_ path: String) {
        for name in directoryEntries(path) {
            let child = path + "/" + name
            var st = stat()
            if lstat(child, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { removeDirectory(child) }
            else { unlink(child) }
        }
        rmdir(path)
    }
}
