import CPidsh
import Glibc
import SystemPackage

/// A cgroup (v2) of the session's own, where pidsh may make one (as root): every
/// process pidsh starts stays in it, and so does every descendant, in any namespace
/// and whoever adopts it — an orphan re-parented to a namespace's PID 1 pidsh did not
/// make, or to the host's init. At the end `cgroup.kill` ends them all; after a SIGKILL
/// the janitor does it. (A subreaper does not reach into another PID namespace, and a
/// death signal is not inherited: neither finds those orphans.)
public final class SessionCgroup {
    let parentFD: Int32
    let fd: Int32
    let name: String
    public let path: String
    /// The janitor's record of it.
    let record: UInt64

    init(parentFD: Int32, fd: Int32, name: String, path: String, record: UInt64, placesChildren: Bool = false) {
        self.placesChildren = placesChildren
        self.parentFD = parentFD
        self.fd = fd
        self.name = name
        self.path = path
        self.record = record
    }

    /// The cgroup v2 directory pidsh is in (the unified hierarchy's mount point joined
    /// with /proc/self/cgroup's `0::` path), or nil where there is none. Read as bytes:
    /// splitting mountinfo into Strings and searching each line by Character cost ten
    /// times the two reads, at every session's start.
    static func currentDirectory() -> String? {
        guard let own = ownPath(), let mountinfo = ProcFiles.read("/proc/self/mountinfo") else { return nil }
        for line in mountinfo.split(separator: UInt8(ascii: "\n")) {
            // `ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS`
            guard let dash = cgroup2Marker(in: line) else { continue }
            let fields = line[line.startIndex..<dash].split(separator: UInt8(ascii: " "))
            guard fields.count >= 5 else { continue }
            let root = String(decoding: fields[3], as: UTF8.self), mountPoint = String(decoding: fields[4], as: UTF8.self)
            guard own.hasPrefix(root) else { continue }
            let below = root == "/" ? own : String(own.dropFirst(root.count))
            return mountPoint + (below == "/" ? "" : below)
        }
        return nil
    }

    /// Where ` - cgroup2 ` starts in a mountinfo line, or nil.
    private static func cgroup2Marker(in line: ArraySlice<UInt8>) -> Int? {
        let marker = Array(" - cgroup2 ".utf8)
        guard line.count >= marker.count else { return nil }
        var i = line.startIndex
        while i <= line.endIndex - marker.count {
            if line[i] == marker[0] && line[i..<i + marker.count].elementsEqual(marker) { return i }
            i += 1
        }
        return nil
    }

    /// pidsh's cgroup v2 path (the `0::` line of /proc/self/cgroup), or nil.
    static func ownPath() -> String? {
        guard let bytes = ProcFiles.read("/proc/self/cgroup") else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: "0::".utf8) {
            return String(decoding: line.dropFirst(3), as: UTF8.self)
        }
        return nil
    }

    /// Where this pidsh's janitor goes when pidsh runs inside another pidsh's session
    /// cgroup (a `pidsh-N` directory on its cgroup path): the cgroup that outer session
    /// began in. Set before the janitor starts; where pidsh may not write there
    /// (rootless), nothing changes.
    public static func prepareJanitorEscape() {
        guard let dir = currentDirectory() else { return }
        startDirectory = dir
        let parts = dir.split(separator: "/", omittingEmptySubsequences: false)
        guard let first = parts.firstIndex(where: { isSessionName($0) }) else { return }
        let outside = parts[..<first].joined(separator: "/")
        let fd = open(outside + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        if fd >= 0 { pidsh_janitor_cgroup_procs = fd }
    }

    /// pidsh's cgroup directory as the session started (prepareJanitorEscape found it):
    /// the session's cgroup is asked for right after, with nothing run in between.
    nonisolated(unsafe) static var startDirectory: String?

    /// `pidsh-` and digits: a session cgroup's name.
    static func isSessionName(_ s: Substring) -> Bool {
        s.hasPrefix("pidsh-") && s.count > 6 && s.dropFirst(6).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Whether pidsh itself joins the cgroup (set by the launcher): at the prompt, and
    /// for a script that names cgroups (CgroupUse), pidsh moves itself in as a shell
    /// would, so /proc/$$/cgroup shows it there and `echo $$ > .../cgroup.procs` steers
    /// where its next child is born. Otherwise its children are born in the cgroup
    /// (pidsh_cgroup_place_children) and pidsh stays where it was started: the kernel
    /// makes each move of pidsh, in and out again at the end, wait for an RCU grace
    /// period (7-14 ms here; docs/performance.md), during which nothing on the machine
    /// can fork.
    nonisolated(unsafe) public static var pidshJoins = true

    /// Its children are born in it while pidsh stays outside (see pidshJoins).
    let placesChildren: Bool

    /// Makes `pidsh-PID` in pidsh's cgroup and moves pidsh into it, or has its children
    /// born there (pidshJoins). nil, with nothing changed, where pidsh may not.
    ///
    /// The cgroup v2 files are written from here (not from C) because nothing runs
    /// between fork and exec here; `cgroup.kill` needs Linux 5.14.
    public static func create(record: UInt64) -> SessionCgroup? {
        guard let dir = currentDirectory() else { return nil }
        let parent = pidsh_open_path_dir(dir)
        guard parent >= 0 else { return nil }
        let name = "pidsh-\(getpid())"
        // Made by the janitor, so it is recorded the moment it exists.
        var fd: Int32 = -1
        guard pidsh_janitor_make_cgroup(parent, name, record, &fd) == 0 else { close(parent); return nil }
        return finish(parent: parent, fd: fd, name: name, dir: dir, record: record)
    }

    /// The cgroup asked of the janitor ahead (`request`), its answer still to be taken.
    public struct Requested {
        let parent: Int32
        let name: String
        let dir: String
        let record: UInt64
        /// pidsh's cgroup when it asked (a script may move pidsh before its first process).
        let own: String
    }

    /// Asks the janitor for `pidsh-PID` at the session's start, without waiting: the
    /// janitor, just forked, makes it while pidsh goes on, and `complete` takes it at
    /// the first spawn (the answer was half a millisecond, on the first spawn's path).
    /// nil when there is no cgroup v2 or no janitor (`create` then does it all).
    public static func request(record: UInt64) -> Requested? {
        guard let own = ownPath(), let dir = startDirectory ?? currentDirectory() else { return nil }
        let parent = pidsh_open_path_dir(dir)
        guard parent >= 0 else { return nil }
        let name = "pidsh-\(getpid())"
        guard pidsh_janitor_request_cgroup(parent, name, record) == 0 else { close(parent); return nil }
        return Requested(parent: parent, name: name, dir: dir, record: record, own: own)
    }

    /// The requested cgroup, made ready as `create` makes it; nil when the janitor could
    /// not. If the script moved pidsh since (`echo $$ > .../cgroup.procs`), the session's
    /// cgroup is made where pidsh is now, as without the early request.
    public static func complete(_ r: Requested, record: () -> UInt64) -> SessionCgroup? {
        guard ownPath() == r.own else {
            abandon(r)
            return create(record: record())
        }
        var fd: Int32 = -1
        guard pidsh_janitor_cgroup_answer(&fd) == 0 else { close(r.parent); return nil }
        return finish(parent: r.parent, fd: fd, name: r.name, dir: r.dir, record: r.record)
    }

    /// A requested cgroup no process ever used (the session ended first): removed.
    public static func abandon(_ r: Requested) {
        var fd: Int32 = -1
        if pidsh_janitor_cgroup_answer(&fd) == 0 {
            close(fd)
            unlinkat(r.parent, r.name, AT_REMOVEDIR)
            _ = pidsh_janitor_forget(r.record)
        }
        close(r.parent)
    }

    /// Holds the cgroup made, and has pidsh's children born in it or moves pidsh there.
    private static func finish(parent: Int32, fd made: Int32, name: String, dir: String, record: UInt64) -> SessionCgroup? {
        let fd = HighDescriptors.keep(made)   // held for the session, as every long-lived one
        // As root only: a normal user's right to place a child there is the right to
        // move pidsh there (the same check), and the write is the test of it.
        let places = !pidshJoins && SessionSetup.isRoot && !SessionSetup.inUserNamespace && pidsh_cgroup_place_children(fd, HighDescriptors.base) == 0
        if !places {
            guard write("\(getpid())\n", to: "cgroup.procs", in: fd) else {
                close(fd)
                unlinkat(parent, name, AT_REMOVEDIR)
                _ = pidsh_janitor_forget(record)
                close(parent)
                return nil
            }
            // A janitor this pidsh forks from now on (an `inside` block's) stays outside.
            if pidsh_janitor_cgroup_procs < 0 {
                let procs = openat(parent, "cgroup.procs", O_WRONLY | O_CLOEXEC)
                if procs >= 0 { pidsh_janitor_cgroup_procs = procs }
            }
        }
        TraceContext.lasting[Int64(fd)] = dir + "/" + name
        return SessionCgroup(parentFD: parent, fd: fd, name: name, path: dir + "/" + name, record: record, placesChildren: places)
    }

    static func write(_ text: String, to file: String, in dir: Int32) -> Bool {
        let f = openat(dir, file, O_WRONLY | O_CLOEXEC)
        guard f >= 0 else { return false }
        defer { close(f) }
        return text.withCString { Glibc.write(f, $0, strlen($0)) } == text.utf8.count
    }

    static func read(_ file: String, in dir: Int32) -> String {
        let f = openat(dir, file, O_RDONLY | O_CLOEXEC)
        guard f >= 0 else { return "" }
        defer { close(f) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(f, &buf, buf.count)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    /// Whether any process is left in it (`populated 1` in cgroup.events).
    var populated: Bool { Self.read("cgroup.events", in: fd).contains("populated 1") }

    /// At the end: pidsh steps out to its parent cgroup (when it is in this one or a
    /// script moved it), every process left in this one is killed (cgroup.kill), and
    /// once it is empty it is removed. Returns the number of processes that were still
    /// there, or nil when it could not be emptied.
    @discardableResult
    public func killAndRemove(reap: () -> Void) -> Int? {
        if !placesChildren || pidsh_cgroup_pidsh_unmoved() == 0 {
            _ = Self.write("\(getpid())\n", to: "cgroup.procs", in: parentFD)
        }
        if placesChildren { pidsh_cgroup_place_children(-1, 0) }
        TraceContext.lasting[Int64(fd)] = nil
        let left = Self.read("cgroup.procs", in: fd).split(separator: "\n").count
        if populated { _ = Self.write("1\n", to: "cgroup.kill", in: fd) }
        var rounds = 0
        while populated && rounds < 2000 { reap(); usleep(1000); rounds += 1 }
        let empty = !populated
        // A cgroup the script made inside it keeps it from going: only then are its
        // entries looked through (20 and more files to stat otherwise).
        if empty && unlinkat(parentFD, name, AT_REMOVEDIR) != 0 && Glibc.errno == EBUSY {
            Self.removeChildCgroups(of: path)
            unlinkat(parentFD, name, AT_REMOVEDIR)
        }
        _ = pidsh_janitor_forget(record)
        close(fd)
        close(parentFD)
        return empty ? left : nil
    }

    /// The cgroups a script made inside the session's (`mkdir $cg/sub`, as the cgroup
    /// tutorial does), deepest first: once the kill has emptied them, they go with it
    /// (a cgroup with children cannot be removed).
    static func removeChildCgroups(of dir: String) {
        for entry in FileIO.directoryEntries(dir) {
            let child = dir + "/" + entry
            var st = stat()
            guard lstat(child, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { continue }
            removeChildCgroups(of: child)
            rmdir(child)
        }
    }

    /// `pidsh cleanup`: the cgroups of sessions that are gone (pidsh and its janitor both
    /// killed) in the cgroup this command runs in: what is left in each is killed, and
    /// the cgroup removed. `report` gets a line per cgroup.
    public static func cleanUpStale(report: (String) -> Void) -> [String] {
        guard let dir = currentDirectory() else { return [] }
        let parent = pidsh_open_path_dir(dir)
        guard parent >= 0 else { return [] }
        defer { close(parent) }
        var failures: [String] = []
        for name in FileIO.directoryEntries(dir) where name.hasPrefix("pidsh-") {
            guard let pid = Int32(name.dropFirst(6)), !FileIO.processExists(pid) else { continue }
            let fd = pidsh_open_tree_nofollow(parent, name)
            guard fd >= 0 else { continue }
            let stale = SessionCgroup(parentFD: parent, fd: fd, name: name, path: dir + "/" + name, record: 0)
            let left = read("cgroup.procs", in: fd).split(separator: "\n").count
            if stale.populated { _ = write("1\n", to: "cgroup.kill", in: fd) }
            var rounds = 0
            while stale.populated && rounds < 2000 { usleep(1000); rounds += 1 }
            if !stale.populated { removeChildCgroups(of: stale.path) }
            if unlinkat(parent, name, AT_REMOVEDIR) == 0 {
                report("removed the cgroup \(stale.path) of run \(pid)" + (left > 0 ? " (ended \(left) process\(left == 1 ? "" : "es") left in it)" : ""))
            } else {
                failures.append("rmdir \(stale.path): \(Errno.symbolicName(Glibc.errno))")
            }
            close(fd)
        }
        return failures
    }
}
