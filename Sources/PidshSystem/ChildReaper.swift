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
    /// The pidfds of `handles`, in one epoll set (child_watch.c): which ended is known
    /// without waitid(P_ALL), which walks every child in the kernel.
    private let watched: Int32
    /// How many pidfds are in `watched`: none (a script that waits for each child at
    /// once) spares the epoll_wait of every quick round, on the path from one spawn to
    /// the next. Never below the truth: it drops only where a child leaves the set.
    private var watchedCount = 0
    /// When the last waitid(P_ALL) sweep was (it finds children pidsh holds no pidfd of).
    private var lastSweep: Int64 = 0
    /// A quick round sweeps at most this often while watched children keep ending.
    static let sweepInterval: Int64 = 50

    init() { watched = pidsh_watch_child_exits() }

    /// Holds a new child; `watch`: its pidfd joins the epoll set (see `watch`).
    func register(_ p: ProcessHandle, watch: Bool = true) {
        handles[p.pid] = p
        if watch { self.watch(p) }
    }

    /// Puts a child's pidfd in the epoll set, so any wait learns of its end. A child
    /// waited for at once is not there (its wait watches its pidfd, and a SIGCHLD's
    /// sweep reaps it otherwise); it joins when that wait ends before the child does.
    func watch(_ p: ProcessHandle) {
        guard !p.watchedByReaper, p.exitStatus == nil, p.pidfd >= 0, watched >= 0, !endedForTracer.contains(p.pid) else { return }
        p.keepDescriptorHigh()
        if pidsh_watch_child(watched, p.pidfd, p.pid) == 0 {
            p.watchedByReaper = true
            watchedCount += 1
        }
    }

    /// Sleeps until a watched child ends or a signal arrives (SIGCHLD for any other),
    /// at most `milliseconds`.
    public func waitForAnyEnd(milliseconds: Int32) {
        _ = pidsh_wait_child_event(-1, watched, milliseconds)
    }

    /// Reaps every child that has ended, without blocking; true if any was. Thorough:
    /// also asks the kernel about every child (the tear-down, the end of a namespace).
    @discardableResult
    public func reapAll() -> Bool {
        let ready = reapWatched()
        let swept = sweep()
        if ready || swept { onReaped?() }
        return ready || swept
    }

    /// The quick round, at every statement and spawn: the watched children that ended,
    /// and a sweep only when a SIGCHLD says some child changed state that was not a
    /// watched one (or, while watched ones keep ending, every `sweepInterval` ms), so its
    /// cost does not grow with the number of children alive.
    @discardableResult
    public func reapEnded() -> Bool {
        let noted = pidsh_child_exit_noted() != 0
        let ready = reapWatched()
        if noted && ready { oweSweepForNote() }
        var swept = false
        if (noted && !ready) || (sweepOwed && FileIO.monotonicMilliseconds() - lastSweep >= Self.sweepInterval) {
            swept = sweep()
        }
        if ready || swept { onReaped?() }
        return ready || swept
    }

    /// A SIGCHLD came that a watched child may not explain, and no sweep followed yet.
    private var sweepOwed = false

    /// The SIGCHLD noted is most likely that of the child just reaped; another child
    /// may have ended too: a sweep is owed, made within `sweepInterval`.
    private func oweSweepForNote() {
        pidsh_clear_child_exit_note()
        sweepOwed = true
    }

    /// Reaps the watched children whose pidfds are readable.
    private func reapWatched() -> Bool {
        guard watched >= 0, watchedCount > 0 else { return false }
        var reaped = false
        while true {
            let n = Int(pidsh_ended_children(watched, endedBuffer, Int32(Self.endedBufferSize)))
            guard n > 0 else { break }
            for i in 0..<n { reap(endedBuffer[i]) }
            reaped = true
            if n < Self.endedBufferSize { break }
        }
        return reaped
    }

    /// Where pidsh_ended_children writes, allocated once: this runs at every statement.
    private static let endedBufferSize = 64
    private let endedBuffer = UnsafeMutablePointer<Int32>.allocate(capacity: ChildReaper.endedBufferSize)

    /// waitid(P_ALL, WNOHANG) until none is left: every child, watched or not.
    private func sweep() -> Bool {
        pidsh_clear_child_exit_note()
        sweepOwed = false
        lastSweep = FileIO.monotonicMilliseconds()
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
        return reaped
    }

    /// Reaps `pid`, found ended: its handle (if pidsh has one) gets the status. A child
    /// that a debugger traces has ended (its pidfd reads so) before pidsh may reap it:
    /// the kernel shows the zombie to the tracer first and passes it on, with a SIGCHLD,
    /// once the tracer has waited for it (wait_consider_task). Until then the handle stays
    /// here, out of the epoll set (its pidfd would wake every wait at once), and the
    /// SIGCHLD's sweep reaps it: its status is never lost.
    private func reap(_ pid: Int32) {
        let handle = handles[pid]
        handle?.willBeReaped()
        var code: Int32 = 0, sig: Int32 = 0
        var rec = pidsh_call_record()
        let r = pidsh_reap_child(pid, &code, &sig, &rec)
        // The reap of a process pidsh started is part of its story (--trace).
        handle?.recorder.add(rec)
        if let handle, handle.watchedByReaper {
            pidsh_unwatch_child(watched, handle.pidfd)
            handle.watchedByReaper = false
            watchedCount -= 1
        }
        if r == 1, handle != nil {
            endedForTracer.insert(pid)
            return
        }
        // Reaped now, or by someone else (ECHILD: SIGCHLD ignored by an embedder): either
        // way it is gone, and a wait for it says so.
        handles.removeValue(forKey: pid)
        endedForTracer.remove(pid)
        if r == 0 { handle?.reaped(code: code, signal: sig) }
    }

    /// Reaps a child the epoll set does not watch, whose own pidfd says it ended: its
    /// SIGCHLD then needs no sweep of every child (as for a watched one, a sweep is
    /// owed within `sweepInterval` in case another child's SIGCHLD came with it).
    private func reapUnwatched(_ process: ProcessHandle) {
        reap(process.pid)
        guard process.exitStatus != nil else { return }
        if pidsh_child_exit_noted() != 0 { oweSweepForNote() }
        onReaped?()
    }

    /// Children whose end their tracer has yet to see: not reapable yet (see `reap`).
    private var endedForTracer: Set<Int32> = []

    /// Waits until `process` has ended and is reaped (a child) or has exited (any
    /// other), reaping pidsh's other children meanwhile: a dying namespace's PID 1 waits
    /// until every other member is reaped, and some may be pidsh's own. Wakes on the
    /// process's pidfd, on any watched child's, and every 100 ms for a sweep (an
    /// adopted orphan has no pidfd). A signal for pidsh throws `Interrupted` when
    /// `interruptible`: one that came after `signalsSeen` was read (the caller's look
    /// at its pending signals; by default this call's start), even just before a sleep.
    public func waitUntilEnded(_ process: ProcessHandle, interruptible: Bool, recorder: CallRecorder?,
                               signalsSeen: Int32? = nil) throws {
        // A child left running (a signal ended the wait) is watched from now on.
        defer { if process.isChild, process.exitStatus == nil, handles[process.pid] === process { watch(process) } }
        var signals = SignalsSeen(signalsSeen)
        while true {
            reapEnded()
            if process.exitStatus != nil { return }
            if !process.isChild && !process.isRunning { return }
            if process.isChild && process.pidfd < 0 {
                // No pidfd to wait on (an adopted child): the kernel's waitid for it.
                reapAll()
                if process.exitStatus != nil { return }
            }
            // A child its tracer has yet to release reads as ended already: wait for the
            // SIGCHLD that comes with the release (or the slice), not on its pidfd.
            let waitsForTracer = endedForTracer.contains(process.pid)
            let pidfd = waitsForTracer ? -1 : process.pidfd
            let others = process.isChild && watchedCount > 0 ? watched : -1
            let n = pidsh_wait_child_event_since(pidfd, others, waitsForTracer ? 10 : 100, interruptible ? signals.seen : -1)
            if n > 0 && Int(n) & PIDSH_CHILD_EVENT_PIDFD != 0 && process.isChild && !process.watchedByReaper {
                reapUnwatched(process)
            }
            if n < 0 && Glibc.errno == EINTR && signals.interrupted(stop: { interruptible && pidsh_peek_pending_signal() != 0 }) {
                throw Interrupted(signal: pidsh_peek_pending_signal())
            }
            if n == 0 { reapAll() }
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
            reapEnded()
            // A child its tracer has yet to release has not ended for pidsh: no status yet.
            let ended = processes.indices.filter { !processes[$0].isRunning && !endedForTracer.contains(processes[$0].pid) }
            if !processes.isEmpty && (any ? !ended.isEmpty : ended.count == processes.count) {
                return .ended(any ? ended[0] : processes.count - 1)
            }
            if pidsh_peek_trapped_signal() != 0 { return .trapped }
            // Pidfds of what is waited for, and the set of every other child pidsh holds
            // (its end wakes the wait to reap it); orphans pidsh adopted have none: a
            // slice bounds how long one of those stays a zombie.
            var fds = processes.filter { $0.isRunning && $0.pidfd >= 0 }.map { $0.pidfd }
            if watched >= 0 { fds.append(watched) }
            // Its release comes with a SIGCHLD, which ends the poll; the short slice
            // covers one that came just before it.
            var slice: Int64 = processes.contains { endedForTracer.contains($0.pid) } ? 10 : 100
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
