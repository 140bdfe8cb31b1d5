import Foundation
import Glibc
import PidshSystem
import XCTest

/// A signal that arrives while pidsh asks whether a child still runs (a poll of its
/// pidfd) must not make a live child look ended: the tear-down then skipped its SIGKILL
/// and waited for it for five seconds. Killing many children at once is what brings
/// such signals (their SIGCHLDs); here another thread sends them, many per millisecond.
final class TearDownUnderSignalsTests: SystemTestCase {
    func testEveryChildIsKilledWhileSignalsKeepArriving() throws {
        let local = Session()
        let children = try (0..<60).map { _ in try local.spawn(sleepOptions()) }
        let storm = SignalStorm(target: pthread_self())
        storm.start()
        // Asked often while signals arrive: a live child never looks ended.
        let seenEnded = (0..<20_000).filter { i in !children[i % children.count].isRunning }.count
        XCTAssertEqual(seenEnded, 0, "a live child looked ended \(seenEnded) times")
        let failures = local.tearDown()
        storm.stop()
        XCTAssertEqual(failures, [])
        for child in children {
            XCTAssertEqual(child.exitStatus, .signaled(SIGKILL), "process \(child.pid) was not killed by the tear-down")
        }
        XCTAssertEqual(descendants(of: getpid()), [])
    }
}

/// Sends SIGURG (a no-op handler installed for the test) to one thread, over and over,
/// from a thread of its own, until stopped.
private final class SignalStorm: @unchecked Sendable {
    private let target: pthread_t
    private var running = true
    private let lock = NSLock()
    private var thread: Thread?
    private var previous = sigaction()

    init(target: pthread_t) { self.target = target }

    func start() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        sigaction(SIGURG, &action, &previous)
        OwnSignals.dispositionsChanged()
        let t = Thread { [self] in
            while lock.withLock({ running }) {
                pthread_kill(target, SIGURG)
                usleep(20)
            }
        }
        thread = t
        t.start()
    }

    func stop() {
        lock.withLock { running = false }
        usleep(5000)
        sigaction(SIGURG, &previous, nil)
        OwnSignals.dispositionsChanged()
    }
}
