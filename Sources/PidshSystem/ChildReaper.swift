import CPidsh
import Glibc

/// The one place pidsh reaps its children, whoever asked: a `wait`, a spawn, the end of
/// a namespace, the tear-down. Each status goes to the handle of the child it belongs
/// to, so a later `wait` on that handle gets it instead of ECHILD. Waiting for any
/// child while waiting for one is what keeps pidsh from hanging when a namespace's
/// PID 1 dies: the kernel finishes that exit (zap_pid_ns_processes) only once every
/// other member is reaped, and some of them may be pidsh's own children.
public final class ChildReaper: @unchecked Sendable {
    public static let shared = ChildReaper()

    /// Live children pidsh holds a handle of, by PID (a PID is not reused before pidsh
    /// reaps it, so this never names the wrong process).
    private var handles: [Int32: ProcessHandle] = [:]
    /// Called after a round that reaped something (the session forgets what ended).
    public var onReaped: (() -> Void)?

    func register(_ p: ProcessHandle) { handles[p.pid] = p }

    /// Reaps every child that has ended, without blocking; true if any was.
    @discardableResult
    public func reapAll() -> Bool {
        var reaped = false
        while true {
            let pid = pidsh_wait_any(1, nil)
            guard pid > 0 else { break }
            if pid == pidsh_janitor_pid() {
                // Killed from outside: reap it, or it would read as ended for ever.
                var code: Int32 = 0, sig: Int32 = 0
                _ = pidsh_reap_child(pid, &code, &sig, nil)
                pidsh_janitor_gone()
                continue
            }
            if HelperJanitors.contains(pid) { HelperJanitors.reaped(pid) }
            reap(pid)
            reaped = true
        }
        if reaped { onReaped?() }
        return reaped
    }

    /// Reaps `pid`, found waitable: its handle (if pidsh has one) gets the status.
    private func reap(_ pid: Int32) {
        let handle = handles.removeValue(forKey: pid)
        handle?.willBeReaped()
        var code: Int32 = 0, sig: Int32 = 0
        var rec = pidsh_call_record()
        let r = pidsh_reap_child(pid, &code, &sig, &rec)
        // The reap of a process pidsh started is part of its story (--trace).
        handle?.recorder.add(rec)
        if r == 0 { handle?.reaped(code: code, signal: sig) }
    }

    /// Blocks until some child has ended (or a signal for pidsh arrives: `Interrupted`
    /// when `interruptible`), then reaps every ended one. The blocking call goes to
    /// `recorder` (--trace). ECHILD (no child left) returns at once.
    public func waitForAny(interruptible: Bool, recorder: CallRecorder?) throws {
        while true {
            var rec = pidsh_call_record()
            let pid = pidsh_wait_any(0, &rec)
            let e = Glibc.errno
            if pid >= 0 || e != EINTR { recorder.add(rec) }
            if pid > 0 || e == ECHILD { reapAll(); return }
            if e == EINTR, interruptible, pidsh_peek_pending_signal() != 0 {
                throw Interrupted(signal: pidsh_peek_pending_signal())
            }
            if e != EINTR { reapAll(); return }
        }
    }

    /// Waits until `process` has ended and is reaped (a child) or has exited (any
    /// other), reaping pidsh's other children meanwhile.
    public func waitUntilEnded(_ process: ProcessHandle, interruptible: Bool, recorder: CallRecorder?) throws {
        while true {
            reapAll()
            if process.exitStatus != nil { return }
            if !process.isChild {
                if !process.isRunning { return }
                process.waitReadable(milliseconds: 5)
                continue
            }
            try waitForAny(interruptible: interruptible, recorder: recorder)
        }
    }

    /// At the end of a session: the janitors it forked for pidsh processes inside
    /// namespaces finish their undo (those processes are gone) and are reaped; at most
    /// a few seconds.
    public func waitForHelperJanitors() {
        var rounds = 0
        while HelperJanitors.count > 0 && rounds < 3000 {
            reapAll()
            if HelperJanitors.count > 0 { usleep(1000) }
            rounds += 1
        }
    }

    // MARK: waiting for events (wait --timeout, wait --any, traps)

    /// How a wait for events ended.
    public enum WaitOutcome: Equatable {
        /// These processes had ended (the first in the order given, for `any`).
        case ended(Int)
        case timedOut
        /// A signal the script traps arrived (its trap runs next).
        case trapped
    }

    /// Waits until one of `processes` has ended (`any`) or all have, at most `timeout`
    /// seconds (nil: no limit), or until a signal the script traps arrives. Every child
    /// of pidsh that ends meanwhile is reaped (a dying init waits for that). Processes
    /// are watched by pidfd, so a recycled PID is never mistaken for one. A signal that
    /// stops pidsh throws `Interrupted`.
    public func waitForEvents(_ processes: [ProcessHandle], any: Bool, timeout: Double?) throws -> WaitOutcome {
        let deadline = timeout.map { FileIO.monotonicMilliseconds() + Int64(($0 * 1000).rounded(.up)) }
        while true {
            reapAll()
            let ended = processes.indices.filter { !processes[$0].isRunning }
            if !processes.isEmpty && (any ? !ended.isEmpty : ended.count == processes.count) {
                return .ended(any ? ended[0] : processes.count - 1)
            }
            if pidsh_peek_trapped_signal() != 0 { return .trapped }
            // Pidfds of what is waited for, and of every other child pidsh holds (its end
            // wakes the wait to reap it); orphans pidsh adopted have none: a slice bounds
            // how long one of those stays a zombie.
            var fds = processes.filter { $0.isRunning && $0.pidfd >= 0 }.map { $0.pidfd }
            for (_, h) in handles where h.pidfd >= 0 && fds.count < 200 { fds.append(h.pidfd) }
            var slice: Int64 = 100
            if let deadline {
                let left = deadline - FileIO.monotonicMilliseconds()
                if left <= 0 { return .timedOut }
                slice = min(slice, left)
            }
            var revents = [Int16](repeating: 0, count: fds.count)
            let n = pidsh_wait_for_events(fds, Int32(fds.count), slice, &revents)
            if n < 0 && Glibc.errno == EINTR && pidsh_peek_pending_signal() != 0 {
                throw Interrupted(signal: pidsh_peek_pending_signal())
            }
        }
    }
}
