import Foundation
import Glibc
import XCTest

/// What one run of the `pidsh` binary left: its output streams and exit code.
struct PidshRun {
    var stdout: String
    var stderr: String
    /// The exit code; 128+N when a signal N ended it.
    var status: Int32

    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }

    /// `key=value` lines of stdout (the first `=` splits), for scripts that echo fields.
    var fields: [String: String] {
        var out: [String: String] = [:]
        for line in stdoutLines {
            guard let eq = line.firstIndex(of: "="), !line.hasPrefix(" ") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    var transcript: String { "exit \(status)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)" }
}

/// Base class of the end-to-end tests: each runs the built `pidsh` binary as a
/// subprocess (it enters a private mount namespace at start-up, so its mounts vanish
/// with it) and asserts on stdout, stderr and the exit code.
///
/// After every test it checks, against the kernel, that nothing of the test remains:
/// no process that carries the test's environment tag (every process pidsh forks or
/// spawns inherits it, pidsh's init included, since it never execs), no orphan
/// re-parented to this process (it is a child subreaper while a test runs), no process
/// whose command line holds one of the test's unique markers (`sleep 7391`), and no
/// mount under the test's temporary directory.
class EndToEndTestCase: XCTestCase {
    /// The `pidsh` executable next to the test bundle (see `locateBinary`).
    static let binary: String? = locateBinary()

    /// A fresh directory under /tmp for the test's mount points and files.
    var tempDir = ""
    /// Unique strings (sleep durations...) whose processes must all be gone at the end.
    var markers: [String] = []
    /// Tags this test's pidsh processes through their environment.
    private var tag = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let binary = Self.binary else {
            XCTFail("the pidsh executable was not found next to the test bundle; build it with `swift build --build-tests` (or set PIDSH_BINARY)")
            throw XCTSkip("no pidsh binary")
        }
        _ = binary
        tag = "pidsh-e2e-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        var template = Array("/tmp/pidsh-e2e.XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw NSError(domain: "mkdtemp", code: Int(errno))
        }
        tempDir = String(cString: p)
        chmod(tempDir, 0o755)
        // Orphans of pidsh's children come back to this process, so none escapes notice.
        _ = Self.setChildSubreaper(true)
    }

    override func tearDownWithError() throws {
        defer {
            _ = Self.setChildSubreaper(false)
            if mountPoints(under: tempDir).isEmpty { try? FileManager.default.removeItem(atPath: tempDir) }
        }
        // pidsh's janitor may outlive it by a moment; give stragglers up to 3 s.
        var left = leftoverProcesses()
        let deadline = Date().addingTimeInterval(3)
        while !left.isEmpty && Date() < deadline {
            reapOrphans()
            usleep(20_000)
            left = leftoverProcesses()
        }
        XCTAssertEqual(left.map { "\($0.pid) \($0.name)" }, [], "processes of the test left behind")
        // Kill what is left, and reap it here, so it cannot fail the next test.
        for p in left { kill(p.pid, SIGKILL) }
        for p in left where p.ppid == getpid() { _ = waitpid(p.pid, nil, 0) }
        var tries = 0
        while !left.isEmpty && tries < 100 && !leftoverProcesses().isEmpty {
            reapOrphans()
            usleep(10_000)
            tries += 1
        }

        let mounts = mountPoints(under: tempDir)
        XCTAssertEqual(mounts, [], "mounts left under \(tempDir)")
        for m in mounts.sorted(by: { $0.count > $1.count }) { _ = umount2(m, Int32(MNT_DETACH)) }
        try super.tearDownWithError()
    }

    // MARK: running pidsh

    /// Runs `pidsh [FLAGS] -c CODE [ARGS]`, as root or (asNobody) as uid/gid 65534.
    func pidsh(_ code: String, flags: [String] = [], arguments: [String] = [], asNobody: Bool = false,
               setprivOptions: [String] = [], timeout: TimeInterval = 20,
               file: StaticString = #filePath, line: UInt = #line) -> PidshRun {
        var argv = [Self.binary!] + flags + ["-c", code] + arguments
        if asNobody && getuid() == 0 {
            // Already a normal user (the suite run as uid 65534): as it is; setpriv
            // could not clear the groups anyway.
            argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        } else if !setprivOptions.isEmpty {
            argv = ["/usr/bin/setpriv"] + setprivOptions + argv
        }
        return run(argv, timeout: timeout, file: file, line: line)
    }

    /// The environment every pidsh of these tests gets: this one's, in the C locale,
    /// without colour, 80 columns, plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String] {
        var env = ProcessInfo.processInfo.environment
        env["LANG"] = "C"
        env["LC_ALL"] = "C"
        env["NO_COLOR"] = "1"
        env["COLUMNS"] = "80"
        for (k, v) in extra { env[k] = v }
        return env.map { "\($0.key)=\($0.value)" }
    }

    /// posix_spawn of argv with stdin from /dev/null and stdout/stderr to the two files;
    /// with `ownProcessGroup` it leads a process group of its own. nil (after an
    /// XCTFail) when it could not be started.
    /// `blockedSignals`: the signal mask the program starts with (a mask survives exec).
    func spawnWithOutputFiles(_ argv: [String], env: [String], stdout outPath: String, stderr errPath: String,
                              ownProcessGroup: Bool = false, blockedSignals: [Int32] = [],
                              file: StaticString, line: UInt) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags: Int32 = 0
        if ownProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        if !blockedSignals.isEmpty {
            var mask = sigset_t()
            sigemptyset(&mask)
            for signal in blockedSignals { sigaddset(&mask, signal) }
            flags |= Int32(POSIX_SPAWN_SETSIGMASK)
            posix_spawnattr_setsigmask(&attr, &mask)
        }
        if flags != 0 { posix_spawnattr_setflags(&attr, Int16(flags)) }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { a in
            withCStrings(env) { e in posix_spawn(&pid, argv[0], &actions, &attr, a, e) }
        }
        guard rc == 0 else {
            XCTFail("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))", file: file, line: line)
            return nil
        }
        return pid
    }

    /// Runs a program with stdin from /dev/null and stdout/stderr to files.
    func run(_ argv: [String], timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line) -> PidshRun {
        let outPath = tempDir + "/.stdout", errPath = tempDir + "/.stderr"
        guard let pid = spawnWithOutputFiles(argv, env: environment(["PIDSH_E2E_TAG": tag]), stdout: outPath, stderr: errPath,
                                             file: file, line: line) else {
            return PidshRun(stdout: "", stderr: "", status: -1)
        }
        var wstatus: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = waitpid(pid, &wstatus, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                XCTFail("pidsh did not finish within \(timeout) s: \(argv.suffix(2).joined(separator: " ").prefix(200))", file: file, line: line)
                kill(pid, SIGKILL)
                _ = waitpid(pid, &wstatus, 0)
                break
            }
            usleep(2_000)
        }
        let status: Int32 = (wstatus & 0x7f) == 0 ? (wstatus >> 8) & 0xff : 128 + (wstatus & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        unlink(outPath)
        unlink(errPath)
        return PidshRun(stdout: out, stderr: err, status: status)
    }

    /// Asserts the run succeeded (exit 0), showing its transcript when not.
    @discardableResult
    func expectSuccess(_ r: PidshRun, file: StaticString = #filePath, line: UInt = #line) -> PidshRun {
        XCTAssertEqual(r.status, 0, "pidsh failed:\n\(r.transcript)", file: file, line: line)
        return r
    }

    /// A unique `sleep` duration (seconds) recorded as a marker for the leftover check.
    func marker(_ seconds: Int) -> String {
        markers.append("sleep \(seconds)")
        return String(seconds)
    }

    func assertContains(_ text: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(text.contains(needle), "expected to find \(needle.debugDescription) in:\n\(text)", file: file, line: line)
    }

    func assertNotContains(_ text: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(text.contains(needle), "did not expect \(needle.debugDescription) in:\n\(text)", file: file, line: line)
    }

    /// Parses JSON text (a whole document) with JSONSerialization.
    func parseJSON(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Any? {
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            XCTFail("not valid JSON (\(error)):\n\(text)", file: file, line: line)
            return nil
        }
    }

    // MARK: the kernel's view

    struct ProcInfo { var pid: Int32; var ppid: Int32; var name: String }

    func processes() -> [ProcInfo] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { n -> ProcInfo? in
            guard let pid = Int32(n), let status = try? String(contentsOfFile: "/proc/\(n)/status", encoding: .utf8) else { return nil }
            var ppid: Int32 = 0, name = ""
            for line in status.split(separator: "\n") {
                if line.hasPrefix("PPid:") { ppid = Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) ?? 0 }
                if line.hasPrefix("Name:") { name = line.dropFirst(5).trimmingCharacters(in: .whitespaces) }
            }
            return ProcInfo(pid: pid, ppid: ppid, name: name)
        }
    }

    /// Processes of this test still alive (zombies count until reaped).
    func leftoverProcesses() -> [ProcInfo] {
        let me = getpid()
        let tagBytes = Array("PIDSH_E2E_TAG=\(tag)\0".utf8)
        return processes().filter { p in
            if p.pid == me { return false }
            if p.ppid == me { return true }
            if let env = FileManager.default.contents(atPath: "/proc/\(p.pid)/environ"),
               env.count >= tagBytes.count, Self.contains(Array(env), tagBytes) { return true }
            if !markers.isEmpty, let cmd = FileManager.default.contents(atPath: "/proc/\(p.pid)/cmdline") {
                let text = String(decoding: cmd.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                if markers.contains(where: { text.contains($0) }) { return true }
            }
            return false
        }
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], Array(hay[i ..< i + needle.count]) == needle { return true }
            i += 1
        }
        return false
    }

    /// Reaps zombies re-parented to this process (only those: never another waiter's).
    func reapOrphans() {
        let me = getpid()
        for p in processes() where p.ppid == me { _ = waitpid(p.pid, nil, WNOHANG) }
    }

    /// Mount points (in this process's mount namespace) at or under `dir`.
    func mountPoints(under dir: String) -> [String] {
        guard !dir.isEmpty, let text = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count > 1 else { return nil }
            let point = String(parts[1])
            return point == dir || point.hasPrefix(dir + "/") ? point : nil
        }
    }

    // MARK: requirements

    func requireRoot(_ why: String) throws {
        try XCTSkipUnless(getuid() == 0, "needs root: \(why)")
    }

    func requireSetpriv() throws {
        try XCTSkipUnless(access("/usr/bin/setpriv", X_OK) == 0, "needs /usr/bin/setpriv (util-linux)")
    }

    // MARK: locating the binary

    /// `pidsh` in the products directory the tests were built into: beside this test
    /// runner (`.build/<triple>/<config>/pidshPackageTests.xctest`), else found by
    /// walking up from this source file to the package's `.build`.
    static func locateBinary() -> String? {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["PIDSH_BINARY"] { candidates.append(env) }
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pidsh").path)
        }
        let bundle = Bundle(for: EndToEndTestCase.self).bundleURL
        candidates.append(bundle.appendingPathComponent("pidsh").path)
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("pidsh").path)
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                for config in ["debug", "release"] { candidates.append(dir.path + "/.build/\(config)/pidsh") }
                break
            }
            dir.deleteLastPathComponent()
        }
        var isDir: ObjCBool = false
        return candidates.first { fm.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue && access($0, X_OK) == 0 }
    }

    // MARK: C helpers

    /// prctl(PR_SET_CHILD_SUBREAPER): prctl is variadic (not importable), so it is
    /// called through its address with every argument an integer, as the ABI allows.
    static func setChildSubreaper(_ on: Bool) -> Int32 {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let sym = dlsym(nil, "prctl") else { return -1 }   // RTLD_DEFAULT
        return unsafeBitCast(sym, to: Prctl.self)(36 /* PR_SET_CHILD_SUBREAPER */, on ? 1 : 0, 0, 0, 0)
    }
}

/// A NULL-terminated `char *[]` for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return body(ptrs)
}
