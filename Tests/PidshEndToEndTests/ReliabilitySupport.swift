import Foundation
import Glibc
import XCTest

/// A `pidsh` started without waiting for it, so a test can signal it mid-run.
final class BackgroundRun {
    let pid: pid_t
    let outPath: String
    let errPath: String
    /// The exit code once reaped (128+N for signal N).
    var status: Int32?

    init(pid: pid_t, outPath: String, errPath: String) {
        self.pid = pid
        self.outPath = outPath
        self.errPath = errPath
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// `key=value` lines of stdout, as `PidshRun.fields`.
    var fields: [String: String] { PidshRun(stdout: stdout, stderr: "", status: 0).fields }

    var transcript: String { "exit \(status.map(String.init) ?? "(running)")\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)" }
}

/// One process as /proc/PID/stat shows it; `start` (clock ticks after boot) tells a
/// recycled PID from the process that had it.
struct ProcStat: Equatable {
    var pid: Int32
    var state: Character
    var ppid: Int32
    var start: UInt64
}

/// Shared machinery of the Reliability*Tests: background runs, signals, and the kernel's
/// view of what a pidsh left (processes by PID and start time, PID namespaces by inode,
/// mounts, directories). Built on EndToEndTestCase, whose tear-down already checks that
/// no process or mount of the test remains.
class ReliabilityTestCase: EndToEndTestCase {
    private var backgroundCount = 0
    /// Background runs not reaped yet: reapStrays leaves them to poll().
    private var unreaped: Set<pid_t> = []

    /// Reaps zombies re-parented to this process (it is a subreaper while a test runs),
    /// except the background runs, whose status poll() collects.
    func reapStrays() {
        let me = getpid()
        for p in allProcStats() where p.ppid == me && p.state == "Z" && !unreaped.contains(p.pid) {
            _ = waitpid(p.pid, nil, WNOHANG)
        }
    }


    /// Starts argv in the background, stdin /dev/null, stdout/stderr to files. With
    /// `ownProcessGroup` it leads a process group of its own, as a shell's foreground
    /// job does, so a "terminal ^C" can be sent to the whole group.
    func start(_ argv: [String], ownProcessGroup: Bool = false, env: [String: String] = [:], blockedSignals: [Int32] = [],
               file: StaticString = #filePath, line: UInt = #line) -> BackgroundRun? {
        backgroundCount += 1
        let outPath = tempDir + "/.bg\(backgroundCount).out", errPath = tempDir + "/.bg\(backgroundCount).err"
        guard let pid = spawnWithOutputFiles(argv, env: environment(env), stdout: outPath, stderr: errPath,
                                             ownProcessGroup: ownProcessGroup, blockedSignals: blockedSignals,
                                             file: file, line: line) else { return nil }
        unreaped.insert(pid)
        return BackgroundRun(pid: pid, outPath: outPath, errPath: errPath)
    }

    /// `pidsh [FLAGS] -c CODE` in the background.
    func startPidsh(_ code: String, flags: [String] = [], asNobody: Bool = false, ownProcessGroup: Bool = false,
                    blockedSignals: [Int32] = [], file: StaticString = #filePath, line: UInt = #line) -> BackgroundRun? {
        var argv = [Self.binary!] + flags + ["-c", code]
        if asNobody { argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv }
        return start(argv, ownProcessGroup: ownProcessGroup, blockedSignals: blockedSignals, file: file, line: line)
    }

    /// Waits until stdout holds `text` (false if the run ended or time ran out first).
    @discardableResult
    func waitForOutput(_ run: BackgroundRun, _ text: String, timeout: TimeInterval = 15,
                       file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if run.stdout.contains(text) { return true }
            if run.status != nil || poll(run) { break }
            usleep(5_000)
        }
        if run.stdout.contains(text) { return true }
        XCTFail("pidsh never printed \(text.debugDescription):\n\(run.transcript)", file: file, line: line)
        return false
    }

    /// Reaps the run if it has ended; true then.
    @discardableResult
    func poll(_ run: BackgroundRun) -> Bool {
        if run.status != nil { return true }
        var w: Int32 = 0
        let r = waitpid(run.pid, &w, WNOHANG)
        guard r == run.pid else { return false }
        unreaped.remove(run.pid)
        run.status = (w & 0x7f) == 0 ? (w >> 8) & 0xff : 128 + (w & 0x7f)
        return true
    }

    /// Waits for the run to end; kills it (and fails) after `timeout`.
    @discardableResult
    func waitForExit(_ run: BackgroundRun, timeout: TimeInterval = 15,
                     file: StaticString = #filePath, line: UInt = #line) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while !poll(run) {
            if Date() > deadline {
                XCTFail("pidsh did not end within \(timeout) s:\n\(run.transcript)\n--- the kernel's view of it\n\(kernelView(of: run.pid))",
                        file: file, line: line)
                kill(run.pid, SIGKILL)
                _ = waitUntil(timeout: 5) { self.poll(run) }
                return nil
            }
            usleep(2_000)
        }
        return run.status
    }

    /// What the kernel says of a process that should have ended: for each of its
    /// threads, its state, signal masks and pending sets (/proc/PID/task/TID/status),
    /// where it sleeps (wchan) and its kernel stack when readable; and its children. So
    /// a hang that happens once in hundreds of runs says where it was.
    func kernelView(of pid: Int32) -> String {
        func read(_ path: String) -> String {
            (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(unreadable)\n"
        }
        var out = ""
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for tid in tasks.sorted() {
            let dir = "/proc/\(pid)/task/\(tid)"
            let status = read(dir + "/status").split(separator: "\n").filter { line in
                ["Name:", "State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:"].contains { line.hasPrefix($0) }
            }
            out += "task \(tid): " + status.joined(separator: " | ") + "\n"
            out += "  wchan: " + read(dir + "/wchan") + "\n"
            out += "  children: " + read(dir + "/children") + "\n"
            out += read(dir + "/stack").split(separator: "\n").prefix(12).map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        return out.isEmpty ? "(no such process)" : out
    }

    /// Polls `condition` every 2 ms until it holds or `timeout` passes.
    func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if condition() { return true }
            if Date() > deadline { return false }
            reapStrays()
            usleep(2_000)
        }
    }

    // MARK: the kernel's view

    /// /proc/PID/stat, parsed after the last `)` (a command name may hold spaces).
    func procStat(_ pid: Int32) -> ProcStat? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: data, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let f = text[text.index(after: close)...].split(separator: " ")
        // After the name: state(3) ppid(4) ... starttime(22).
        guard f.count > 19, let state = f[0].first, let ppid = Int32(f[1]), let start = UInt64(f[19]) else { return nil }
        return ProcStat(pid: pid, state: state, ppid: ppid, start: start)
    }

    func allProcStats() -> [ProcStat] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.compactMap(procStat)
    }

    /// `pid` and every process below it (by parent links), with their start times.
    func tree(of pid: Int32) -> [ProcStat] {
        let all = allProcStats()
        guard let root = all.first(where: { $0.pid == pid }) else { return [] }
        var out = [root]
        var frontier: Set<Int32> = [pid]
        while !frontier.isEmpty {
            let next = all.filter { frontier.contains($0.ppid) && !out.contains($0) }
            out += next
            frontier = Set(next.map { $0.pid })
        }
        return out
    }

    /// Still a live process: its PID exists with the same start time and is no zombie.
    func isAlive(_ p: ProcStat) -> Bool {
        guard let now = procStat(p.pid), now.start == p.start else { return false }
        return now.state != "Z" && now.state != "X"
    }

    /// The inode of a process's PID namespace (nil for a zombie or a gone process).
    func pidNamespaceInode(_ pid: Int32) -> UInt64? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/pid"),
              let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]") else { return nil }
        return UInt64(link[link.index(after: open)..<close])
    }

    /// Live processes in any of these PID namespaces.
    func members(of namespaces: Set<UInt64>) -> [Int32] {
        allProcStats().filter { $0.state != "Z" && pidNamespaceInode($0.pid).map(namespaces.contains) ?? false }.map { $0.pid }
    }

    /// Every mount point in this (the host's) mount namespace.
    func hostMountPoints() -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { l in
            let parts = l.split(separator: " ")
            return parts.count > 1 ? String(parts[1]) : nil
        }
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Asserts a run ended on its own terms: no signal, no Swift runtime trap.
    func assertNoCrash(_ status: Int32?, _ stderr: String, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotNil(status, what, file: file, line: line)
        if let status { XCTAssertLessThan(status, 128, "\(what): pidsh ended by a signal\n\(stderr.prefix(2000))", file: file, line: line) }
        for crash in ["Fatal error", "Backtrac", "Segmentation", "Signal 11", "Illegal instruction"] {
            XCTAssertFalse(stderr.contains(crash), "\(what): pidsh crashed (\(crash)):\n\(stderr.prefix(2000))", file: file, line: line)
        }
    }

    /// Asserts `stderr` holds a located error: `WHERE: error: ...message...` followed
    /// (not necessarily at once: explanation lines may come first) by a caret line.
    func assertLocatedError(_ stderr: String, at location: String, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let i = lines.firstIndex(where: { $0.hasPrefix("\(location): error: ") }) else {
            XCTFail("no error located at \(location) in:\n\(stderr.prefix(3000))", file: file, line: line)
            return
        }
        XCTAssertTrue(lines[i...].prefix(8).joined(separator: "\n").contains(message),
                      "the error at \(location) does not say \(message.debugDescription):\n\(stderr.prefix(3000))", file: file, line: line)
        let caret = lines[(i + 1)...].prefix(8).contains { l in
            let t = l.drop { $0 == " " }
            return t.hasPrefix("^") && t.allSatisfy { $0 == "^" || $0 == "~" }
        }
        XCTAssertTrue(caret, "no caret line under the error at \(location):\n\(stderr.prefix(3000))", file: file, line: line)
    }

    /// A directory for a rootless pidsh (uid 65534) to create mount points in.
    func nobodyDirectory(_ name: String = "nobody") -> String {
        let d = tempDir + "/" + name
        mkdir(d, 0o755)
        chown(d, 65534, 65534)
        return d
    }
}
