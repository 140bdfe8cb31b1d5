import Glibc

/// The names of the sources locations point into, each numbered once (SourceLocation
/// holds the number). Append-only: a process parses a handful of files (a script, what
/// it `source`s, `-c`, the REPL's lines). A lock, because `pidsh test` and embedders
/// may parse on more than one thread.
public enum SourceNames {
    nonisolated(unsafe) private static var names: [String] = [""]
    nonisolated(unsafe) private static var ids: [String: Int32] = ["": 0]
    nonisolated(unsafe) private static var lock: pthread_mutex_t = {
        var m = pthread_mutex_t()
        pthread_mutex_init(&m, nil)
        return m
    }()

    public static func id(of name: String) -> Int32 {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let id = ids[name] { return id }
        let id = Int32(names.count)
        names.append(name)
        ids[name] = id
        return id
    }

    public static func name(of id: Int32) -> String {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return id >= 0 && Int(id) < names.count ? names[Int(id)] : ""
    }
}
