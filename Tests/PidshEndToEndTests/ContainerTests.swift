import Foundation
import Glibc
import XCTest

/// Containers (issue 19, item 7; walkthrough claim 7.8): pidsh lists, enters and leaves a
/// real OCI container that runc starts from a bundle made here without any image
/// registry (a root filesystem of busybox-static, `runc spec`), and `spawn --enter`
/// joins what util-linux `nsenter -a` joins. Every claim is checked by this test itself:
/// readlink of /proc/PID/ns/*, stat of /proc/PID/root, NSpid, the container's cgroup;
/// pidsh's output only says what pidsh claims.
final class ContainerTests: ReliabilityTestCase {
    /// Whether runc and a static busybox are there (nil), else why not: provisioned
    /// (apt-get) once per test run.
    private static var provisioning: String?? = .none

    static let runcCandidates = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"]
    static let busyboxCandidates = ["/bin/busybox", "/usr/bin/busybox"]

    static var runc: String? { runcCandidates.first { access($0, X_OK) == 0 } }
    /// busybox-static's binary: a root filesystem of that one file needs no library.
    static var staticBusybox: String? { busyboxCandidates.first { access($0, X_OK) == 0 && isStaticELF($0) } }

    func requireContainerTools() throws {
        try requireRoot("runc starts containers as root, and apt-get installs as root")
        if Self.provisioning == nil { Self.provisioning = .some(provision()) }
        if let why = Self.provisioning! { throw XCTSkip(why) }
    }

    /// `apt-get update` once, then `apt-get install -y runc busybox-static`, where either
    /// is missing. nil when both are there afterwards, else the reason to skip.
    private func provision() -> String? {
        if Self.runc != nil && Self.staticBusybox != nil { return nil }
        guard access("/usr/bin/apt-get", X_OK) == 0 else { return "runc or busybox-static is missing, and there is no apt-get to install them" }
        let apt = ["/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "/usr/bin/timeout", "240", "/usr/bin/apt-get"]
        let update = run(apt + ["update"], timeout: 250)
        guard update.status == 0 else {
            return "runc or busybox-static is missing, and `apt-get update` failed (exit \(update.status)): \(update.stderr.suffix(300))"
        }
        let install = run(apt + ["install", "-y", "runc", "busybox-static"], timeout: 250)
        guard install.status == 0 else {
            return "`apt-get install -y runc busybox-static` failed (exit \(install.status)): \(install.stderr.suffix(300))"
        }
        if Self.runc == nil { return "apt-get installed runc, yet no runc is found in \(Self.runcCandidates)" }
        if Self.staticBusybox == nil { return "apt-get installed busybox-static, yet no static busybox is found in \(Self.busyboxCandidates)" }
        return nil
    }

    // MARK: runc

    func testPidshListsEntersAndLeavesARuncContainer() throws {
        try requireContainerTools()
        let c = try startContainer()
        defer { deleteContainer(c) }
        let initLinks = namespaceLinks(of: c.initPID)
        XCTAssertGreaterThanOrEqual(initLinks.count, 8, "the kernel's namespace types: \(initLinks.keys.sorted())")

        // It lists it: each namespace runc's default spec makes, with the container's
        // init as its only process.
        let listed = expectSuccess(pidsh("ns list --type all --json"))
        let entries = (parseJSON(listed.stdout) as? [[String: Any]]) ?? []
        for type in ["pid", "net", "ipc", "uts", "mnt"] {
            let link = try XCTUnwrap(initLinks[type])
            XCTAssertNotEqual(link, readLink("/proc/self/ns/\(type)"), "runc's default spec makes a new \(type) namespace")
            let entry = entries.first { ($0["ns"] as? String) == link }
            XCTAssertNotNil(entry, "ns list --type all shows \(link):\n\(listed.stdout.prefix(3000))")
            XCTAssertEqual(entry?["type"] as? String, type)
            XCTAssertEqual((entry?["pid"] as? NSNumber)?.int32Value, c.initPID, "\(link): its lowest PID is the init")
            XCTAssertEqual((entry?["nprocs"] as? NSNumber)?.intValue, 1, "\(link): the init alone")
            XCTAssertEqual(entry?["command"] as? String, "sleep \(c.sleep)")
        }

        // It enters it, as nsenter -a -r -w: a process that stays, and programs that
        // print what they see (they exist only in the container's root filesystem).
        let fifo = tempDir + "/go"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let stay = marker(7381)
        guard let run = startPidsh("""
            let p = spawn --enter \(c.initPID) sleep \(stay)
            echo "entered=$p.pid"
            spawn --enter \(c.initPID) --wait hostname
            spawn --enter \(c.initPID) --wait cat /etc/pidsh-rootfs-marker
            spawn --enter \(c.initPID) --wait sh -c 'echo "inside=$$ cwd=$(pwd)"'
            try spawn --enter \(c.initPID) --wait no-such-program-\(stay)
            echo ready
            cat \(fifo) > /dev/null
            """) else { return }
        defer { if !poll(run) { kill(run.pid, SIGTERM); waitForExit(run) } }
        guard waitForOutput(run, "ready\n") else { return }
        let entered = try XCTUnwrap(run.fields["entered"].flatMap { Int32($0) }, run.transcript)
        // Every namespace link equals the init's, every type this kernel has.
        for (name, link) in initLinks {
            XCTAssertEqual(readLink("/proc/\(entered)/ns/\(name)"), link, "/proc/\(entered)/ns/\(name) is the container's")
        }
        // Its root directory is the container's root filesystem, not the host's.
        XCTAssertEqual(fileID("/proc/\(entered)/root/"), fileID("/proc/\(c.initPID)/root/"))
        XCTAssertNotEqual(fileID("/proc/\(entered)/root/"), fileID("/"))
        // In the container's PID namespace it has a PID of its own there (NSpid).
        let nspid = statusField("/proc/\(entered)/status", "NSpid").split(separator: "\t").compactMap { Int32($0) }
        XCTAssertEqual(nspid.first, entered)
        XCTAssertEqual(nspid.count, 2, "a PID here and one in the container")
        // What the programs saw: runc's default host name, the file only the rootfs has,
        // the init's working directory, a small PID of the container's namespace.
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("runc"), run.transcript)
        XCTAssertTrue(lines.contains(c.rootfsMarker), run.transcript)
        let inside = run.fields["inside"].flatMap { $0.split(separator: " ").first }.flatMap { Int32($0) }
        XCTAssertNotNil(inside, run.transcript)
        XCTAssertLessThan(inside ?? 1_000_000, 100, "a PID of the container's namespace")
        assertContains(run.stdout, " cwd=/\n")
        // A program the container does not have is looked for there, and not found.
        assertContains(run.stderr, "command not found: no-such-program-\(stay) (not on $PATH in the filesystem it entered")
        XCTAssertEqual(pidNamespaceMembers(initLinks["pid"]!).sorted(), [c.initPID, entered].sorted(), "pidsh's process is in the container while pidsh runs")

        // It leaves nothing in it: once pidsh has exited, the container's PID namespace
        // and its cgroup hold the init alone.
        let go = open(fifo, O_WRONLY)
        XCTAssertGreaterThanOrEqual(go, 0)
        _ = write(go, "go\n", 3)
        close(go)
        XCTAssertEqual(waitForExit(run), 0, run.transcript)
        XCTAssertEqual(pidNamespaceMembers(initLinks["pid"]!), [c.initPID], "no process of pidsh's left in the container")
        if let procs = c.cgroupDirectory.map({ $0 + "/cgroup.procs" }) {
            let members = ((try? String(contentsOfFile: procs, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
            XCTAssertEqual(members, [c.initPID], "\(procs): the container's cgroup holds its init alone")
        }
    }

    // MARK: util-linux

    /// `spawn --enter PID` joins the namespace set `nsenter -a -t PID` joins, for a set
    /// made by util-linux unshare (mount, UTS, IPC, network and PID, with its procfs).
    func testSpawnEnterJoinsWhatNsenterAllJoins() throws {
        try requireRoot("unshare makes namespaces, and nsenter -a joins them, as root")
        try XCTSkipUnless(access("/usr/bin/unshare", X_OK) == 0 && access("/usr/bin/nsenter", X_OK) == 0, "needs util-linux unshare and nsenter")
        let m = marker(7382)
        guard let holder = start(["/usr/bin/unshare", "-m", "-u", "-i", "-n", "-p", "-f", "--mount-proc", "sleep", m]) else { return }
        // The sleep, unshare's child, is PID 1 of the new PID namespace.
        var target: Int32 = 0
        XCTAssertTrue(waitUntil(timeout: 10) {
            target = self.allProcStats().first { $0.ppid == holder.pid && self.commandLine($0.pid) == "sleep \(m)" }?.pid ?? 0
            return target > 0
        }, "unshare's sleep appeared")
        defer {
            if target > 0 { kill(target, SIGKILL) }
            waitForExit(holder)
        }
        guard target > 0 else { return }
        let types = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
        let paths = types.map { "/proc/self/ns/\($0)" }
        let viaNsenter = run(["/usr/bin/nsenter", "-a", "-t", String(target), "readlink"] + paths)
        XCTAssertEqual(viaNsenter.status, 0, viaNsenter.transcript)
        let viaPidsh = expectSuccess(pidsh("spawn --enter \(target) --wait readlink " + paths.joined(separator: " ")))
        XCTAssertEqual(viaPidsh.stdoutLines, viaNsenter.stdoutLines)
        // Both are the target's own, as this test reads them...
        XCTAssertEqual(viaNsenter.stdoutLines, types.map { readLink("/proc/\(target)/ns/\($0)") })
        // ...and five of them are not the host's: the experiment could tell them apart.
        for t in ["ipc", "mnt", "net", "pid", "uts"] {
            XCTAssertNotEqual(readLink("/proc/\(target)/ns/\(t)"), readLink("/proc/self/ns/\(t)"), t)
        }
    }

    // MARK: the container

    struct Container {
        let id: String
        /// runc's state directory for this test (`runc --root`), under tempDir.
        let state: String
        let initPID: Int32
        /// The init's `sleep` argument, and the text of the file only its rootfs has.
        let sleep: String
        let rootfsMarker: String
        /// Its cgroup v2 directory, where there is a cgroup2 mount.
        let cgroupDirectory: String?
    }

    /// A bundle (rootfs of a static busybox and its applets' links, `runc spec` with
    /// terminal false and a long sleep), run detached.
    func startContainer(file: StaticString = #filePath, line: UInt = #line) throws -> Container {
        let runc = try XCTUnwrap(Self.runc), busybox = try XCTUnwrap(Self.staticBusybox)
        let fm = FileManager.default
        let bundle = tempDir + "/bundle", rootfs = bundle + "/rootfs"
        for dir in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
            try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
        chmod(rootfs + "/bin/busybox", 0o755)
        for applet in ["sh", "sleep", "cat", "hostname", "readlink", "ls", "pwd"] {
            try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        let rootfsMarker = "only in the container's root filesystem \(UInt32.random(in: 0 ... UInt32.max))"
        try (rootfsMarker + "\n").write(toFile: rootfs + "/etc/pidsh-rootfs-marker", atomically: true, encoding: .utf8)
        let spec = run([runc, "spec", "--bundle", bundle])
        XCTAssertEqual(spec.status, 0, spec.transcript, file: file, line: line)
        let configPath = bundle + "/config.json"
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        var process = try XCTUnwrap(config["process"] as? [String: Any])
        let sleep = marker(7383)
        process["terminal"] = false
        process["args"] = ["sleep", sleep]
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))

        let id = "pidsh-e2e-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        let state = tempDir + "/runc-state"
        let started = run([runc, "--root", state, "run", "--detach", "--bundle", bundle, id])
        guard started.status == 0 else {
            XCTFail("runc run: \(started.transcript)", file: file, line: line)
            throw XCTSkip("the container did not start")
        }
        let info = run([runc, "--root", state, "state", id])
        let object = parseJSON(info.stdout) as? [String: Any]
        guard let initPID = (object?["pid"] as? NSNumber)?.int32Value, initPID > 0 else {
            _ = run([runc, "--root", state, "delete", "--force", id])
            XCTFail("runc state: \(info.transcript)", file: file, line: line)
            throw XCTSkip("no container init")
        }
        let c = Container(id: id, state: state, initPID: initPID, sleep: sleep, rootfsMarker: rootfsMarker,
                          cgroupDirectory: cgroupV2Directory(of: initPID))
        // runc returns once the init runs; its exec of sleep may come a moment later.
        XCTAssertTrue(waitUntil(timeout: 10) { self.commandLine(initPID) == "sleep \(sleep)" }, "the container's init execs sleep",
                      file: file, line: line)
        return c
    }

    /// `runc delete --force`, then the test sees it gone: no init, no cgroup, no state.
    func deleteContainer(_ c: Container) {
        guard let runc = Self.runc else { return }
        let deleted = run([runc, "--root", c.state, "delete", "--force", c.id])
        XCTAssertEqual(deleted.status, 0, deleted.transcript)
        // The init was re-parented to this test (a subreaper while it runs): reap it.
        XCTAssertTrue(waitUntil(timeout: 10) {
            self.reapStrays()
            return self.procStat(c.initPID) == nil
        }, "the container's init is gone")
        if let dir = c.cgroupDirectory { XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "runc removed \(dir)") }
        XCTAssertNotEqual(run([runc, "--root", c.state, "state", c.id]).status, 0, "runc knows the container no more")
    }

    // MARK: the kernel's view

    func readLink(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
    }

    /// /proc/PID/ns: every entry (pid_for_children and time_for_children too) and its link.
    func namespaceLinks(of pid: Int32) -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/ns")) ?? []
        return Dictionary(uniqueKeysWithValues: names.map { ($0, readLink("/proc/\(pid)/ns/\($0)")) })
    }

    /// Every process whose PID namespace is `link`.
    func pidNamespaceMembers(_ link: String) -> [Int32] {
        allProcStats().map { $0.pid }.filter { readLink("/proc/\($0)/ns/pid") == link }
    }

    func fileID(_ path: String) -> [UInt64] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    func commandLine(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return "" }
        return String(decoding: data.dropLast().map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// The cgroup2 mount point joined with the `0::` line of /proc/PID/cgroup.
    func cgroupV2Directory(of pid: Int32) -> String? {
        let cgroups = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        guard let line = cgroups.split(separator: "\n").first(where: { $0.hasPrefix("0::") }),
              let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for entry in mounts.split(separator: "\n") where entry.contains(" - cgroup2 ") {
            let fields = entry.split(separator: " ")
            guard fields.count > 4, fields[3] == "/" else { continue }
            return String(fields[4]) + String(line.dropFirst(3))
        }
        return nil
    }

    /// An ELF file without a PT_INTERP program header: it needs no dynamic loader (a
    /// root filesystem of that one file can run it).
    static func isStaticELF(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), data.count > 64,
              data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), data[4] == 2, data[5] == 1 else { return false }
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            data.subdata(in: offset ..< offset + MemoryLayout<T>.size).withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        let phoff = Int(integer(0x20, UInt64.self)), size = Int(integer(0x36, UInt16.self)), count = Int(integer(0x38, UInt16.self))
        for i in 0 ..< count {
            let at = phoff + i * size
            guard at + 4 <= data.count else { return false }
            if integer(at, UInt32.self) == 3 { return false }   // PT_INTERP
        }
        return true
    }
}
