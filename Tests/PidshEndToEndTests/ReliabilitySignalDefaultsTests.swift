import Foundation
import Glibc
import XCTest

/// The signals a user may send besides SIGINT/SIGTERM/SIGHUP. Before, SIGQUIT, SIGUSR1,
/// SIGUSR2, SIGALRM and SIGXCPU killed pidsh at once, without its tear-down or a word
/// (its janitor and the death signals cleaned up after it). By default each is handled
/// as SIGTERM: the message, the tear-down, exit 128+N; SIGQUIT, which a terminal's ^\
/// sends to the whole foreground job, belongs to a running foreground program.
extension ReliabilityFaultTests {
    func testQuitUsr1Usr2AlrmXcpuStopAScriptLikeSigterm() throws {
        try requireRoot("ns new and procfs mounts")
        for signal in [SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU] {
            interrupt(signal, waitingIn: "while true {}", expect: 128 + signal)
        }
        // During a foreground program: it gets the same signal, and pidsh stops at once.
        interrupt(SIGUSR1, waitingIn: "sleep SECONDS", expect: 128 + SIGUSR1)
    }

    /// SIGQUIT to the whole job (a terminal's ^\): the program dies of it, the script stops.
    func testTerminalQuitDuringAForegroundCommand() throws {
        try requireRoot("ns new and procfs mounts")
        interrupt(SIGQUIT, toGroup: true, waitingIn: "sleep SECONDS", expect: 128 + SIGQUIT)
    }
}

extension ReliabilityRootlessTests {
    /// Rootless with a PID namespace of its own, the PID the caller knows is the outer
    /// process: it forwards SIGUSR1 (as SIGTERM) to pidsh, which tears down and says so.
    /// Before, SIGUSR1 killed the outer process, and pidsh died of its death signal.
    func testUsr1ToTheOuterProcessIsForwarded() throws {
        try requireSetpriv()
        try requireRoot("to switch to uid 65534")
        let d = nobodyDirectory()
        guard let (run, before) = startRootless(d, sleep: marker(7604)) else { return }
        kill(run.pid, SIGUSR1)
        XCTAssertEqual(waitForExit(run, timeout: 5), 128 + SIGUSR1, run.transcript)
        assertContains(run.stderr, "interrupted by SIGUSR1")
        XCTAssertFalse(exists(d + "/rl"))
        XCTAssertTrue(waitUntil(timeout: 1) { !before.contains(where: isAlive) }, "\(before.filter(isAlive))")
    }
}
