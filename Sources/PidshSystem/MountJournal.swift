import CPidsh
import Glibc
import SystemPackage

/// The `--shared-mounts` journal in /run/pidsh, for `pidsh cleanup` after a run *and*
/// its janitor were killed: binary records (kind, device, inode, mount id, path with its
/// length), so no byte of a path can forge a record. Cleanup walks each path one
/// component at a time without following symlinks, and acts only where the mount id or
/// the device and inode are what was recorded.
public enum MountJournal {
    public struct Entry: Equatable {
        public enum Kind: UInt8 { case directory = 1, mount = 2, file = 3 }
        public let kind: Kind
        public let path: String
        public let dev: UInt64
        public let ino: UInt64
        public let mountID: UInt64
        public init(kind: Kind, path: String, dev: UInt64, ino: UInt64, mountID: UInt64) {
            self.kind = kind; self.path = path; self.dev = dev; self.ino = ino; self.mountID = mountID
        }
    }

    static let magic: [UInt8] = Array("PIDSHJ2\n".utf8)

    /// The mounts and the directories pidsh made (not those it found).
    static func entries(of log: MountLog) -> [Entry] {
        log.records.compactMap { record in
            switch record {
            case .mount(let m): return Entry(kind: .mount, path: m.path, dev: 0, ino: 0, mountID: m.mountID)
            case .directory(let d): return d.made ? Entry(kind: d.isFile ? .file : .directory, path: d.path, dev: d.dev, ino: d.ino, mountID: 0) : nil
            }
        }
    }

    static func encode(_ entries: [Entry]) -> [UInt8] {
        var out = magic
        func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        for e in entries {
            out.append(e.kind.rawValue)
            put(e.dev); put(e.ino); put(e.mountID)
            let bytes = Array(e.path.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out += $0 }
            out += bytes
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) -> [Entry] {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { return [] }
        var i = magic.count
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard i + n <= bytes.count else { return nil }
            defer { i += n }
            return bytes[i..<i + n]
        }
        func u64() -> UInt64? { take(8).map { $0.reversed().reduce(0) { $0 << 8 | UInt64($1) } } }
        var out: [Entry] = []
        while let k = take(1), let kind = Entry.Kind(rawValue: k.first!), let dev = u64(), let ino = u64(), let id = u64(),
              let len = take(4).map({ $0.reversed().reduce(0) { $0 << 8 | Int($1) } }), let path = take(len) {
            out.append(Entry(kind: kind, path: String(decoding: path, as: UTF8.self), dev: dev, ino: ino, mountID: id))
        }
        return out
    }

    /// Rewrites the journal (write, then rename), or removes it when nothing is left.
    static func write(_ log: MountLog) {
        guard let path = log.journalPath else { return }
        let entries = entries(of: log)
        if entries.isEmpty { unlink(path); return }
        try? FileIO.replaceFile(path, encode(entries), mode: 0o600)
    }

    public static func read(_ path: String) -> [Entry] {
        guard let bytes = try? FileIO.readFile(path) else { return [] }
        return decode(bytes)
    }

    /// Undoes a dead run's journal, newest first; `report` gets a line per act.
    public static func undo(_ entries: [Entry], report: (String) -> Void) -> [String] {
        var failures: [String] = []
        for e in entries.reversed() {
            switch e.kind {
            case .mount: if let f = unmount(e, report: report) { failures.append(f) }
            case .directory, .file: if let f = remove(e, report: report) { failures.append(f) }
            }
        }
        return failures
    }

    static func unmount(_ e: Entry, report: (String) -> Void) -> String? {
        let fd = walk(e.path)
        guard fd >= 0 else { return nil }   // gone already
        defer { close(fd) }
        guard pidsh_mount_id_of(fd) == e.mountID else {
            return "\(e.path): the mount there now is not the one pidsh made (mount id differs): left alone"
        }
        let r = pidsh_unmount_handle(fd, e.mountID, nil)
        if r == 0 { report("unmounted \(e.path)"); return nil }
        return r == EINVAL ? nil : "umount \(e.path): \(Errno.symbolicName(r))"
    }

    static func remove(_ e: Entry, report: (String) -> Void) -> String? {
        let (parentPath, name) = split(e.path)
        let parent = walk(parentPath)
        guard parent >= 0 else { return nil }
        defer { close(parent) }
        let r: Int32
        if e.kind == .file {
            r = pidsh_remove_file_handle(parent, name, e.dev, e.ino, nil)
        } else {
            let dir = MountPath.openComponent(parent, name).fd
            guard dir >= 0 else { return nil }
            defer { close(dir) }
            r = pidsh_remove_if_last_user(parent, dir, name, e.dev, e.ino, 1, nil)
        }
        switch r {
        case 0: report("removed \(e.path)"); return nil
        case ENOENT: return nil
        case EBUSY: return "\(e.path): another pidsh session mounts there now: left to it"
        case ESTALE: return "\(e.path): not the directory pidsh made (device and inode differ): left alone"
        default: return "rmdir \(e.path): \(Errno.symbolicName(r))"
        }
    }

    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let parent = String(path[..<slash])
        return (parent.isEmpty ? "/" : parent, String(path[path.index(after: slash)...]))
    }

    /// Opens an absolute path one component at a time, never through a symlink: -1 when
    /// any component is missing or a link.
    static func walk(_ path: String) -> Int32 {
        var fd = pidsh_open_path_dir("/")
        for name in path.split(separator: "/").map(String.init) where name != "." {
            guard fd >= 0, name != ".." else { if fd >= 0 { close(fd) }; return -1 }
            let next = MountPath.openComponent(fd, name).fd
            close(fd)
            fd = next
        }
        return fd
    }
}
