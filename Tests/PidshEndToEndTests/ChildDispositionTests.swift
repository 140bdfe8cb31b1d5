import Foundation
import Glibc
import XCTest

/// A child resets only the dispositions pidsh has that are not SIG_DFL (learnt from the
/// kernel, and again after each change): whatever pidsh was started with ignored, traps,
/// or a `spawn --ignore` before it, every program starts with none ignored or caught.
/// The witness is the program's own SigIgn and SigCgt in /proc/PID/status.
final class ChildDispositionTests: EndToEndTestCase {
    /// pidsh started with TTIN and XFSZ ignored (signals it does not handle itself), as a shell's `trap "" SIG` leaves
    /// them (SIG_IGN survives exec), then its dispositions changed between spawns.
    func testEveryProgramStartsWithDefaultDispositions() throws {
        let s = marker(7811)
        let script = """
        \(statusLine("own_ign", "SigIgn", pid: "$$"))
        \(programStatus("plain", "spawn sleep \(s)"))
        trap USR1 { echo caught }
        \(statusLine("own_cgt", "SigCgt", pid: "$$"))
        \(programStatus("trapped", "spawn sleep \(s)"))
        \(programStatus("ignoring", "spawn --ignore TERM sleep \(s)"))
        \(programStatus("after_ignore", "spawn sleep \(s)"))
        trap USR1 -
        \(programStatus("untrapped", "spawn sleep \(s)"))
        """
        let argv = ["/bin/sh", "-c", "trap '' TTIN XFSZ; exec \"$0\" \"$@\"", Self.binary!, "-c", script]
        let r = expectSuccess(run(argv))
        let ignoredAtStart = bit(SIGTTIN) | bit(SIGXFSZ)
        // There was something to reset: pidsh itself ignores what it was started with
        // (bar what it handles) and catches what it traps.
        XCTAssertEqual(mask(r.fields["own_ign"]) & ignoredAtStart, ignoredAtStart, r.transcript)
        XCTAssertNotEqual(mask(r.fields["own_cgt"]) & bit(SIGUSR1), 0, r.transcript)
        for name in ["plain", "trapped", "after_ignore", "untrapped"] {
            XCTAssertEqual(mask(r.fields["\(name)_ign"]), 0, "\(name)\n\(r.transcript)")
            XCTAssertEqual(mask(r.fields["\(name)_cgt"]), 0, "\(name)\n\(r.transcript)")
        }
        XCTAssertEqual(mask(r.fields["ignoring_ign"]), bit(SIGTERM), r.transcript)
        XCTAssertEqual(mask(r.fields["ignoring_cgt"]), 0, r.transcript)
    }

    /// The same for the PID 1 of a new namespace and for a program started inside a
    /// namespace pidsh keeps (its first process is pidsh's init, which catches signals).
    func testProgramsInNewNamespacesStartWithDefaultDispositions() throws {
        try requireRoot("clone(CLONE_NEWPID)")
        let s = marker(7812)
        let script = """
        trap USR1 { echo caught }
        \(programStatus("newpid", "spawn --newpid sleep \(s)"))
        let ns = ns new
        \(programStatus("member", "spawn --ns $ns sleep \(s)"))
        """
        let argv = ["/bin/sh", "-c", "trap '' XFSZ; exec \"$0\" \"$@\"", Self.binary!, "-c", script]
        let r = expectSuccess(run(argv))
        for name in ["newpid", "member"] {
            XCTAssertEqual(mask(r.fields["\(name)_ign"]), 0, "\(name)\n\(r.transcript)")
            XCTAssertEqual(mask(r.fields["\(name)_cgt"]), 0, "\(name)\n\(r.transcript)")
        }
    }

    /// Script lines that start a program with `spawn`, print its SigIgn and SigCgt as
    /// NAME_ign and NAME_cgt, and kill it.
    private func programStatus(_ name: String, _ spawn: String) -> String {
        """
        let \(name) = \(spawn)
        \(statusLine("\(name)_ign", "SigIgn", pid: "$\(name).pid"))
        \(statusLine("\(name)_cgt", "SigCgt", pid: "$\(name).pid"))
        kill -KILL $\(name)
        wait $\(name)
        """
    }
}
