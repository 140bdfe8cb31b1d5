import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// Base class of the real-kernel tests. Each test gets a fresh temporary directory and
/// a fresh Session; tearDown kills and reaps everything the session started, undoes its
/// mounts, and then checks — against the kernel, not the session's bookkeeping — that
/// no mount is left under the temporary directory and no process of the test remains.
///
/// The tests run on XCTest's main thread; pid_for_children is a per-thread setting, so
/// tearDown always sends this thread's children back to its own PID namespace.
class SystemTestCase: XCTestCase {
    var session: Session!
    var tempDir = ""
    /// Every process the session started during the test (including nest levels).
    var started: [ProcessHandle] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        tempDir = try makeTempDir()
        session = Session()
        session.onNewProcess = { [unowned self] p in self.started.append(p) }
    }

    override func tearDownWithError() throws {
        defer {
            session = nil
            started = []
            removeTempDir()
        }
        if getuid() == 0 {
            // Even when the test failed half-way after an unshare/setns.
            XCTAssertNoThrow(try session?.setChildrenNamespaceToOwn(), "could not send children back to the own namespace")
        }
        if let session {
            let failures = session.tearDown()
            XCTAssertEqual(failures, [], "Session.tearDown could not undo everything")
        }
        for p in started {
            XCTAssertFalse(p.isRunning, "process \(p.pid) \(p.command) still running after Session.tearDown")
        }
        let leftMounts = mountPoints(under: tempDir)
        XCTAssertEqual(leftMounts, [], "mounts left under \(tempDir) after the test")
        // Never leave them in the host mount namespace, whatever the test did.
        for m in leftMounts.sorted(by: { $0.count > $1.count }) { _ = pidsh_umount(m, Int32(MNT_DETACH), nil) }

        let leftProcesses = descendants(of: getpid())
        XCTAssertEqual(leftProcesses.map { $0.pid }, [],
                       "processes of the test left behind: \(leftProcesses.map { "\($0.pid) \($0.name) \($0.state)" })")
        for p in leftProcesses { kill(p.pid, SIGKILL) }
        for p in leftProcesses where p.ppid == getpid() { _ = waitpid(p.pid, nil, 0) }
        try super.tearDownWithError()
    }

    // MARK: requirements

    func requireRoot(_ why: String) throws {
        try XCTSkipUnless(getuid() == 0, "needs root: \(why)")
    }

    // MARK: temporary directory

    private func makeTempDir() throws -> String {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array((base + "pidsh-systests.XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError.last("mkdtemp")
        }
        // Resolve /tmp -> /private/tmp style links so mountinfo paths compare equal.
        return URL(fileURLWithPath: String(cString: p)).resolvingSymlinksInPath().path
    }

    private func removeTempDir() {
        guard !tempDir.isEmpty else { return }
        // Never recurse into something still mounted there.
        if mountPoints(under: tempDir).isEmpty {
            try? FileManager.default.removeItem(atPath: tempDir)
        }
        tempDir = ""
    }

    func path(_ name: String) -> String { tempDir + "/" + name }

    // MARK: spawning

    func sleepOptions(newPID: Bool = false, join: Namespace? = nil) -> SpawnOptions {
        var o = SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "1000"])
        o.newPIDNamespace = newPID
        o.joinNamespace = join
        return o
    }

    @discardableResult
    func spawnSleep(newPID: Bool = false, join: Namespace? = nil) throws -> ProcessHandle {
        try session.spawn(sleepOptions(newPID: newPID, join: join))
    }

    /// Runs a program through the session with its stdout (and stderr) on a pipe and
    /// returns what it printed and how it ended.
    func run(_ path: String, _ arguments: [String], configure: (inout SpawnOptions) -> Void = { _ in }) throws -> (output: String, status: ExitStatus) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(cloexecPipe(&fds), 0)
        var o = SpawnOptions(path: path, arguments: arguments)
        o.fileDescriptors = [(1, fds[1]), (2, fds[1])]
        configure(&o)
        let p: ProcessHandle
        do {
            p = try session.spawn(o)
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        close(fds[0])
        let status = try p.wait(interruptible: false)
        return (String(decoding: out, as: UTF8.self), status)
    }

    /// pipe() with both ends close-on-exec (Glibc's overlay has no pipe2).
    func cloexecPipe(_ fds: inout [Int32]) -> Int32 {
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return 0
    }

    // MARK: what the kernel says

    /// Mount points (from /proc/self/mountinfo) at or below `dir`.
    func mountPoints(under dir: String) -> [String] {
        // Read to EOF (Foundation's String(contentsOfFile:) may stop at the first 4 KiB of
        // a procfs file, which reports size 0).
        guard !dir.isEmpty, let text = ProcFiles.readString("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = Self.unescapeMountinfo(String(fields[4]))
            return (point == dir || point.hasPrefix(dir + "/")) ? point : nil
        }
    }

    static func unescapeMountinfo(_ s: String) -> String {
        var it = Array(s.utf8)[...]
        var bytes: [UInt8] = []
        while let c = it.first {
            if c == UInt8(ascii: "\\"), it.count >= 4,
               let v = UInt8(String(decoding: it.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(v)
                it = it.dropFirst(4)
            } else {
                bytes.append(c)
                it = it.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    struct ProcInfo: Equatable { var pid: Int32; var ppid: Int32; var name: String; var state: String }

    /// Every process below `root` in the host's process tree (zombies included).
    func descendants(of root: Int32) -> [ProcInfo] {
        var all: [ProcInfo] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for n in names {
            guard let pid = Int32(n), let s = ProcStatus.read(pid: pid) else { continue }
            all.append(ProcInfo(pid: pid, ppid: s.ppid, name: s.name, state: s.stateLetter))
        }
        var found: [ProcInfo] = []
        var frontier: Set<Int32> = [root]
        while !frontier.isEmpty {
            let next = all.filter { frontier.contains($0.ppid) }
            found += next
            frontier = Set(next.map { $0.pid })
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// Zombie children of this test process.
    func zombieChildren() -> [ProcInfo] {
        descendants(of: getpid()).filter { $0.ppid == getpid() && $0.state == "Z" }
    }

    /// The numeric names in a directory (a procfs mount), sorted.
    func numericEntries(_ dir: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap { Int($0) }.sorted()
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Polls until `condition` holds or `timeout` passes.
    func eventually(timeout: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

    // MARK: errors

    /// "ENOMEM" for ENOMEM (SystemPackage's Errno is not imported by the tests).
    func errnoName(_ value: Int32) -> String { SystemError(errnoValue: value, "").errnoName }

    /// Asserts that `body` throws a SystemError with `errno`, whose explanation (or
    /// whole description) contains each of `mentions`; returns it.
    @discardableResult
    func assertSystemError<T>(_ errnoValue: Int32, mentions: [String] = [], inExplanation: Bool = true,
                              file: StaticString = #filePath, line: UInt = #line,
                              _ body: () throws -> T) -> SystemError? {
        do {
            _ = try body()
            XCTFail("expected \(errnoName(errnoValue)), but it succeeded", file: file, line: line)
            return nil
        } catch let e as SystemError {
            XCTAssertEqual(e.errno.rawValue, errnoValue, "wrong errno in: \(e)", file: file, line: line)
            let text = inExplanation ? (e.explanation ?? "") : e.description
            for m in mentions {
                XCTAssertTrue(text.contains(m), "\"\(m)\" not mentioned in: \(e)", file: file, line: line)
            }
            return e
        } catch {
            XCTFail("expected SystemError \(errnoName(errnoValue)), got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts that `body` throws a UsageError whose message contains each of `mentions`.
    func assertUsageError<T>(mentions: [String], file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected a refusal, but it succeeded", file: file, line: line)
        } catch let e as UsageError {
            for m in mentions {
                XCTAssertTrue(e.description.contains(m), "\"\(m)\" not mentioned in: \(e)", file: file, line: line)
            }
        } catch {
            XCTFail("expected UsageError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }
}
