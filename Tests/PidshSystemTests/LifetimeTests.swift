import CPidsh
import Foundation
import Glibc
import PidshSystem
import XCTest

/// "Every process pidsh starts dies with pidsh, even if pidsh is SIGKILLed": the test
/// runs this very test binary again as a stand-in for pidsh (only the helper test
/// below, selected by an environment variable), lets it start a namespace with members
/// and a plain child, SIGKILLs it, and checks that all of them die.
final class LifetimeTests: SystemTestCase {
    func testEverythingDiesWhenPidshIsKilled() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let exe = try XCTUnwrap(ProcFiles.readLink("/proc/self/exe"))
        let helper = Process()
        helper.executableURL = URL(fileURLWithPath: exe)
        helper.arguments = ["PidshSystemTests.LifetimeHelper/testStartThingsAndDie"]
        var env = ProcessInfo.processInfo.environment
        env[LifetimeHelper.variable] = "1"
        helper.environment = env
        let out = Pipe()
        helper.standardOutput = out
        helper.standardError = FileHandle.nullDevice
        try helper.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        helper.waitUntilExit()
        XCTAssertEqual(helper.terminationReason, .uncaughtSignal)
        XCTAssertEqual(helper.terminationStatus, SIGKILL)

        let text = String(decoding: data, as: UTF8.self)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix(LifetimeHelper.marker) },
                                 "the helper reported nothing: \(text)")
        let pids = line.dropFirst(LifetimeHelper.marker.count).split(separator: " ").compactMap { Int32($0) }
        XCTAssertEqual(pids.count, 4, "init, two members, a plain child")
        for pid in pids {
            XCTAssertTrue(eventually(timeout: 5) {
                guard let s = ProcStatus.read(pid: pid) else { return true }
                return s.stateLetter == "Z"  // dead, not yet reaped by PID 1
            }, "process \(pid) outlived the pidsh that started it")
        }
        // Reaping the zombies is PID 1's business now; give it a moment so a `ps` right
        // after the suite does not show them (not asserted).
        _ = eventually(timeout: 5) { pids.allSatisfy { ProcStatus.read(pid: $0) == nil } }
    }
}

/// Not a test of its own: the stand-in for pidsh that LifetimeTests starts and kills.
final class LifetimeHelper: XCTestCase {
    static let variable = "PIDSH_SYSTESTS_LIFETIME_HELPER"
    static let marker = "PIDSH-LIFETIME-PIDS "

    func testStartThingsAndDie() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment[Self.variable] != nil,
                          "runs only as the helper process of LifetimeTests")
        try XCTSkipUnless(getuid() == 0, "needs root: clone(CLONE_NEWPID)")
        let session = Session()
        let ns = try session.newNamespace()
        var members: [ProcessHandle] = []
        for _ in 0..<2 {
            var o = SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "1000"])
            o.joinNamespace = ns
            members.append(try session.spawn(o))
        }
        let plain = try session.spawn(SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "1000"]))
        let pids = [ns.initProcess!.pid] + members.map { $0.pid } + [plain.pid]
        let line = Self.marker + pids.map(String.init).joined(separator: " ") + "\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        kill(getpid(), SIGKILL)
        sleep(10)
    }
}
