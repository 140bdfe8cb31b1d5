import CPidsh
import Glibc
import XCTest
@testable import PidshSystem

/// A signal for pidsh that comes after the caller looked at its pending signals but
/// before the wait sleeps must still end the wait: a plain poll would sleep through it
/// (the handler already ran), for as long as the program waited for runs. The signal
/// here is raised in that gap on purpose; the program sleeps 3 s, so a wait that
/// missed it would end with the program instead of throwing.
final class SignalBeforeWaitTests: SystemTestCase {
    private var previous = sigaction()

    override func setUpWithError() throws {
        try super.setUpWithError()
        sigaction(SIGUSR2, nil, &previous)
        pidsh_handle_signal(SIGUSR2)
    }

    override func tearDownWithError() throws {
        _ = pidsh_take_pending_signal()
        sigaction(SIGUSR2, &previous, nil)
        OwnSignals.dispositionsChanged()
        try super.tearDownWithError()
    }

    func testAChildsWaitEndsForASignalThatCameBeforeItSlept() throws {
        var o = SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "3"])
        o.waitedAtOnce = true
        let p = try session.spawn(o)
        defer { try? p.signal(SIGKILL); _ = try? p.wait(interruptible: false) }
        let seen = pidsh_signals_received()
        raise(SIGUSR2)   // after the look, before the wait
        XCTAssertThrowsError(try p.wait(interruptible: true, signalsSeen: seen)) { error in
            XCTAssertEqual((error as? Interrupted)?.signal, SIGUSR2)
        }
        XCTAssertTrue(p.isRunning, "the wait ended for the signal, not with the program")
    }

    func testAnotherProcesssWaitEndsForASignalThatCameBeforeItSlept() throws {
        let child = try session.spawn(SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "3"]))
        defer { try? child.signal(SIGKILL); _ = try? child.wait(interruptible: false) }
        // The same process through a handle of a process that is not pidsh's child.
        let observed = try ProcessHandle.observe(pid: child.pid)
        let seen = pidsh_signals_received()
        raise(SIGUSR2)
        XCTAssertThrowsError(try observed.wait(interruptible: true, signalsSeen: seen)) { error in
            XCTAssertEqual((error as? Interrupted)?.signal, SIGUSR2)
        }
        XCTAssertTrue(child.isRunning)
    }

    /// A signal already looked at (counted in `seen`) does not end the wait: a
    /// foreground job's ^C, which pidsh leaves to the job, must not make it spin.
    func testASignalAlreadySeenDoesNotEndTheWait() throws {
        var o = SpawnOptions(path: "/bin/sleep", arguments: ["sleep", "0.3"])
        o.waitedAtOnce = true
        let p = try session.spawn(o)
        raise(SIGUSR2)
        let seen = pidsh_signals_received()
        XCTAssertEqual(try p.wait(interruptible: true, signalsSeen: seen), .exited(0))
    }
}
