import CPidsh
import Glibc

/// A process held by its pidfd, so signals and waits can never reach a recycled PID.
/// Every field but `status` is read from the kernel when asked, not remembered.
public final class ProcessHandle: @unchecked Sendable {
    /// Its PID as pidsh sees it (the first entry of NSpid in pidsh's /proc).
    public let pid: Int32
    /// The pidfd, -1 once the process has been reaped.
    public private(set) var pidfd: Int32
    /// True when pidsh is its parent and so may wait for it.
    public let isChild: Bool
    /// How it ended, once pidsh reaped it (or saw it end).
    public private(set) var exitStatus: ExitStatus?
    /// The program and arguments pidsh started it with (empty for observed processes).
    public let command: [String]
    /// A name given with `--name`.
    public var label: String?
    /// Where a blocking wait's calls go (`--trace`); set by the session that tracks it.
    public var recorder: CallRecorder?
    /// When this is pidsh's init of a namespace: pidsh's end of its control channel.
    public internal(set) var initChannel: InitChannel?
    /// Fields captured on the way out so an ended process still prints sensibly.
    private var lastKnownPids: [Int32] = []
    private var lastKnownName: String = ""

    /// `transient`: held for one command only (the target of `spawn --enter`): its
    /// pidfd stays where it was opened, and nothing is captured for after its end.
    /// `waitedAtOnce`: a child pidsh waits for right away (`spawn --wait`, a foreground
    /// program): it needs no place among the long-lived descriptors nor in the reaper's
    /// epoll set (the wait watches its pidfd) unless that wait ends before it does.
    init(pid: Int32, pidfd: Int32, isChild: Bool, command: [String], transient: Bool = false, waitedAtOnce: Bool = false) {
        self.pid = pid
        self.pidfd = transient || waitedAtOnce ? pidfd : HighDescriptors.keep(pidfd)
        self.isChild = isChild
        self.command = command
        if isChild && pidfd >= 0 { ChildReaper.shared.register(self, watch: !waitedAtOnce) }
        // A child's last fields are captured when it is reaped (captureLastFields), or
        // when asked for between its end and its reaping (endedFields): reading
        // /proc/PID/status here as well would cost every spawn a second read.
        if !isChild, !transient, let s = ProcStatus.read(pid: pid) {
            lastKnownPids = s.nspid
            lastKnownName = s.name
        }
    }

    deinit { if pidfd >= 0 { close(pidfd) } }

    /// Holds a process pidsh did not start (for `ns id PID`, a namespace's init...);
    /// `transient` for one command's use (see init).
    public static func observe(pid: Int32, transient: Bool = false) throws -> ProcessHandle {
        let fd = pidsh_pidfd_open(pid)
        if fd < 0 {
            throw SystemError.last("pidfd_open(\(pid))", explanation: Glibc.errno == ESRCH ? KernelRules.invisibleProcess(pid) : nil)
        }
        return ProcessHandle(pid: pid, pidfd: fd, isChild: false, command: [], transient: transient)
    }

    /// Adopts a pidfd received from CPidsh.
    public static func adopt(pid: Int32, pidfd: Int32, isChild: Bool, command: [String], waitedAtOnce: Bool = false) -> ProcessHandle {
        ProcessHandle(pid: pid, pidfd: pidfd, isChild: isChild, command: command, waitedAtOnce: waitedAtOnce)
    }

    /// Whether its pidfd is in the reaper's epoll set (ChildReaper).
    var watchedByReaper = false

    /// Its pidfd among the long-lived descriptors, above those a child keeps.
    func keepDescriptorHigh() { if pidfd >= 0 { pidfd = HighDescriptors.keep(pidfd) } }

    /// Not yet ended (a zombie counts as ended: its pidfd is readable). Even a poll that
    /// does not wait fails with EINTR when a signal arrives meanwhile (a burst of
    /// SIGCHLDs at a tear-down does): that says nothing about the process, so ask again.
    public var isRunning: Bool {
        if exitStatus != nil || pidfd < 0 { return false }
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return retryingInterrupts { Glibc.poll(&p, 1, 0) } == 0
    }

    /// Reaps without blocking when it has ended (every other ended child too: see
    /// ChildReaper); returns the status if so.
    @discardableResult
    public func poll() -> ExitStatus? {
        if let exitStatus { return exitStatus }
        guard isChild, pidfd >= 0 else {
            if !isRunning, pidfd >= 0 { captureLastFields(); }
            return nil
        }
        ChildReaper.shared.reapEnded()
        return exitStatus
    }

    /// Blocks until it ends. A SIGINT/SIGTERM to pidsh interrupts the wait with
    /// `Interrupted` (the process is left alone: the caller decides). Meanwhile every
    /// other child of pidsh that ends is reaped (a dying namespace init waits for that).
    /// `capturingFields: false` is for a handle nobody reads after the end (a job
    /// waited for in the foreground): its /proc/PID/status is then not read before the
    /// reap, which saves a costly read per job.
    public func wait(interruptible: Bool = true, capturingFields: Bool = true, signalsSeen: Int32? = nil) throws -> ExitStatus {
        if let exitStatus { return exitStatus }
        guard pidfd >= 0 else { throw SystemError(errnoValue: ECHILD, "wait(\(pid))", explanation: "process \(pid) was already reaped") }
        guard isChild else {
            try waitForExit(interruptible: interruptible, signalsSeen: signalsSeen ?? pidsh_signals_received())
            throw SystemError(errnoValue: ECHILD, "wait(\(pid))", explanation: "process \(pid) is not pidsh's child: it ended, but only its parent learns how")
        }
        capturesFieldsAtExit = capturingFields
        try ChildReaper.shared.waitUntilEnded(self, interruptible: interruptible, recorder: recorder, signalsSeen: signalsSeen)
        guard let exitStatus else {
            throw SystemError(errnoValue: ECHILD, "wait(\(pid))", explanation: "process \(pid) was reaped by someone else")
        }
        return exitStatus
    }

    /// Whether its last fields are read just before it is reaped.
    var capturesFieldsAtExit = true

    /// Called by the reaper just before the reap: the zombie's fields are still there.
    func willBeReaped() { if capturesFieldsAtExit { captureLastFields() } }

    /// Called by the reaper with the status it reaped.
    func reaped(code: Int32, signal: Int32) { finish(code: code, signal: signal) }

    /// Not pidsh's child: waits for its pidfd to become readable (it exits). A signal
    /// for pidsh that came since `seen` throws `Interrupted` when `interruptible`.
    private func waitForExit(interruptible: Bool, signalsSeen: Int32) throws {
        var signals = SignalsSeen(signalsSeen)
        while isRunning {
            var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            let n = pidsh_poll_unless_signalled(&p, 1, -1, interruptible ? signals.seen : -1)
            if n < 0 && Glibc.errno == EINTR && signals.interrupted(stop: { interruptible && pidsh_peek_pending_signal() != 0 }) {
                throw Interrupted(signal: pidsh_peek_pending_signal())
            }
        }
    }

    /// Waits at most `milliseconds` for the process to end (its pidfd to be readable).
    func waitReadable(milliseconds: Int32) {
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&p, 1, milliseconds)
    }

    /// Waits for a foreground job as a shell does. SIGINT and SIGQUIT (a terminal's ^C
    /// and ^\ reach the job too, it is in pidsh's process group) keep waiting: the
    /// caller decides from the job's status. SIGTERM, SIGHUP and pidsh's other stopping
    /// signals (`OwnSignals`) end the wait at once: the job gets the same signal and
    /// `Interrupted` is thrown, so pidsh tears down promptly instead of waiting for a
    /// job that may never end. A process pidsh cannot wait for (not its child) reads as
    /// exit status 127.
    ///
    /// `namespaceInit`: the job is PID 1 of a PID namespace of its own (`spawn --newpid
    /// --wait`). The kernel drops a ^C to it unless it catches SIGINT, so then pidsh
    /// ends it with SIGKILL on SIGINT (or SIGQUIT) and throws `Interrupted`, as the key meant.
    public func waitForeground(capturingFields: Bool = true, namespaceInit: Bool = false) throws -> ExitStatus {
        while true {
            // Checked before each blocking wait too: the signal may have come earlier
            // (while pidsh read the job's output), and then no EINTR would end the wait.
            // One that comes after this look ends the wait at once (`signalsSeen`).
            let seen = pidsh_signals_received()
            let pending = pidsh_peek_pending_signal()
            if pending != 0 && !OwnSignals.belongsToForegroundJob(pending) {
                if isRunning { try? signal(pending) }
                throw Interrupted(signal: pending)
            }
            if pending != 0 && namespaceInit && isRunning && !(procStatus()?.catches(signal: pending) ?? true) {
                try? signal(SIGKILL)
                _ = try? wait(interruptible: false, capturingFields: capturingFields)
                throw Interrupted(signal: pending)
            }
            do {
                return try wait(interruptible: true, capturingFields: capturingFields, signalsSeen: seen)
            } catch is Interrupted {
                continue
            } catch {
                return .exited(127)
            }
        }
    }

    private func finish(code: Int32, signal: Int32) {
        exitStatus = signal != 0 ? .signaled(signal) : .exited(code)
        close(pidfd)
        pidfd = -1
    }

    private func captureLastFields() {
        if let s = ProcStatus.read(pid: pid), !s.nspid.isEmpty {
            lastKnownPids = s.nspid
            lastKnownName = s.name
        }
    }

    /// Waits (20 ms at most) until /proc shows the exec'd program: a command line that
    /// is not empty (the new arguments are loaded) and a name that is the program's.
    /// Stops early when the process has already ended.
    func awaitExecVisible(program: String) {
        let base = program.split(separator: "/").last.map { String($0.prefix(15)) } ?? ""
        for attempt in 0..<400 {
            if let cmdline = ProcFiles.read("/proc/\(pid)/cmdline"), !cmdline.isEmpty,
               let comm = ProcFiles.readString("/proc/\(pid)/comm"),
               comm.hasPrefix(base) || !base.isEmpty && attempt > 100 {
                return
            }
            if !isRunning { return }
            if attempt < 50 { sched_yield() } else { usleep(50) }
        }
    }

    /// Sends a signal through the pidfd; the call's record goes to `recorder` (--trace).
    public func signal(_ sig: Int32, recorder: CallRecorder? = nil) throws {
        guard pidfd >= 0, exitStatus == nil else {
            throw SystemError(errnoValue: ESRCH, "kill -\(Signals.name(of: sig).dropFirst(3)) \(pid)",
                              explanation: "process \(pid) has already ended (\(exitStatus?.description ?? "reaped")): there is nothing left to signal")
        }
        var rec = pidsh_call_record()
        let r = pidsh_pidfd_send_signal(pidfd, sig, pid, &rec)
        let saved = Glibc.errno
        recorder.add(rec)
        Glibc.errno = saved
        if r != 0 {
            let e = Glibc.errno
            throw SystemError(errnoValue: e, "kill -\(Signals.name(of: sig).dropFirst(3)) \(pid)",
                              explanation: e == ESRCH ? "process \(pid) has already ended: there is nothing left to signal"
                                : e == EPERM ? KernelRules.signalPermissionRule(pid) : nil)
        }
    }

    // MARK: fields read from the kernel

    /// /proc/PID/status, checked against the pidfd so a recycled PID is never read.
    public func procStatus() -> ProcStatus? {
        guard exitStatus == nil, pidfd >= 0 else { return nil }
        let s = ProcStatus.read(pid: pid)
        return isRunning ? s : nil
    }

    /// Its PID at every level, pidsh's level first (NSpid).
    public var pids: [Int32] { procStatus()?.nspid ?? endedFields().pids }
    /// Its PID inside its own namespace.
    public var nspid: Int32 { pids.last ?? pid }
    public var name: String { procStatus()?.name ?? endedFields().name }

    /// The fields of an ended process: captured when pidsh reaped it; a child that has
    /// ended but is not reaped yet (a zombie, still in /proc) is read now.
    private func endedFields() -> (pids: [Int32], name: String) {
        if isChild, lastKnownPids.isEmpty, exitStatus == nil, pidfd >= 0 { captureLastFields() }
        return (lastKnownPids, lastKnownName)
    }
    /// Its parent's PID as pidsh sees it (0 when the parent is outside pidsh's view).
    public var ppid: Int32 { procStatus()?.ppid ?? 0 }

    /// Its parent's PID as seen from inside its own namespace: 0 when the parent lives
    /// in an ancestor namespace (as getppid() reports across the boundary).
    public var nsppid: Int32 {
        guard let s = procStatus(), s.ppid > 0 else { return 0 }
        guard let parent = ProcStatus.read(pid: s.ppid) else { return 0 }
        let level = s.nspid.count - 1
        guard parent.nspid.count - 1 == level else { return 0 }
        // Same depth; also the same namespace? A parent is never in a sibling namespace
        // of the same depth, since a child is created in its parent's ns or a descendant.
        return parent.nspid.last ?? 0
    }

    public var commandLine: [String] { exitStatus == nil ? (readCommandLine(pid: pid) ?? []) : command }

    /// Its PID namespace (fails once it has ended).
    public func namespace() throws -> Namespace {
        guard isRunning else {
            throw SystemError(errnoValue: ESRCH, "namespace of \(pid)", explanation: "process \(pid) has ended")
        }
        let ns = try Namespace.of(pid: pid)
        ns.ofProcess = self
        return ns
    }
}

/// pidsh received SIGINT/SIGTERM/SIGHUP while blocked.
public struct Interrupted: Error, CustomStringConvertible {
    public let signal: Int32
    public init(signal: Int32) { self.signal = signal }
    public var description: String { "interrupted by \(Signals.name(of: signal))" }
}
