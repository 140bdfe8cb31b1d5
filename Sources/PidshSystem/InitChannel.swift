import CPidsh
import Glibc

/// How a `spawn --newpid` namespace gets its PID 1.
public enum InitMode: String, Sendable, CaseIterable {
    /// The program itself is PID 1 (as clone(CLONE_NEWPID) makes it).
    case none
    /// pidsh's init is PID 1, the program PID 2; the namespace outlives the program.
    case reaper
    /// pidsh's init is PID 1 and runs the program as PID 2, passes it the signals it
    /// catches, and exits with its status (as tini does).
    case forwarder
}

/// What `ns init NS ACTION` asks pidsh's init to do itself.
public enum InitAction: Sendable {
    case block(SignalSet), unblock(SignalSet), catchSignals(SignalSet), ignore(SignalSet), reset(SignalSet)
    /// kill(target, signal) by the init: target as its namespace numbers processes.
    case kill(signal: Int32, target: Int32)

    var command: pidsh_init_command {
        var c = pidsh_init_command()
        switch self {
        case .block(let s): c.action = Int32(PIDSH_INIT_BLOCK.rawValue); c.signals = s.bits
        case .unblock(let s): c.action = Int32(PIDSH_INIT_UNBLOCK.rawValue); c.signals = s.bits
        case .catchSignals(let s): c.action = Int32(PIDSH_INIT_CATCH.rawValue); c.signals = s.bits
        case .ignore(let s): c.action = Int32(PIDSH_INIT_IGNORE.rawValue); c.signals = s.bits
        case .reset(let s): c.action = Int32(PIDSH_INIT_DEFAULT.rawValue); c.signals = s.bits
        case .kill(let signal, let target):
            c.action = Int32(PIDSH_INIT_KILL.rawValue)
            c.signal = signal
            c.target = target
        }
        return c
    }

    /// The call the init makes, in words, for errors.
    public var callText: String {
        func list(_ s: SignalSet) -> String { s.names().joined(separator: " ") }
        switch self {
        case .block(let s): return "sigprocmask(SIG_BLOCK, [\(list(s))])"
        case .unblock(let s): return "sigprocmask(SIG_UNBLOCK, [\(list(s))])"
        case .catchSignals(let s): return "sigaction(\(list(s)), a handler)"
        case .ignore(let s): return "sigaction(\(list(s)), SIG_IGN)"
        case .reset(let s): return "sigaction(\(list(s)), SIG_DFL)"
        case .kill(let signal, let target): return "kill(\(target), \(Signals.name(of: signal)))"
        }
    }
}

/// One signal pidsh's init caught, from the siginfo the kernel gave it.
public struct ReceivedSignal: Equatable, Sendable {
    public let signal: Int32
    /// si_code: SI_USER (kill), SI_KERNEL, SI_QUEUE, CLD_EXITED (SIGCHLD)...
    public let code: Int32
    /// si_pid as the init's namespace numbers the sender; 0 when the sender is not in
    /// it (an ancestor namespace).
    public let pid: Int32
    /// si_uid as the init's user namespace sees the sender's uid.
    public let uid: UInt32
    /// SIGCHLD: si_status (the exit code, or the signal).
    public let status: Int32

    init(_ s: pidsh_init_signal) {
        signal = s.signo
        code = s.code
        pid = s.pid
        uid = s.uid
        status = s.status
    }
}

/// pidsh's end of the control channel of an init it started: commands go as fixed
/// binary records and each reply says what the kernel did (init.c, init_link.c).
public final class InitChannel: @unchecked Sendable {
    public let fd: Int32
    private var sequence: UInt32 = 0
    /// How long pidsh waits for an answer: the init answers at once unless it is
    /// stopped (then pidsh refuses before asking) or gone.
    static let timeoutMilliseconds: Int32 = 5000
    static let slice: Int32 = 50

    static func stoppedError(what: String) -> SystemError {
        SystemError(errnoValue: EAGAIN, what, explanation: "pidsh's init is stopped (SIGSTOP): it cannot act until a SIGCONT resumes it (the command waits for it, and is done then)")
    }

    public init(fd: Int32) { self.fd = HighDescriptors.keep(fd) }
    deinit { close(fd) }

    /// The reply to one command; the init's calls go to `recorder` (--trace) as made by
    /// `initPID` (pidsh's view).
    func request(_ command: pidsh_init_command, recorder: CallRecorder?, initPID: Int32, what: String) throws -> pidsh_init_reply {
        var cmd = command
        sequence &+= 1
        cmd.sequence = sequence
        cmd.trace = recorder == nil ? 0 : 1
        var reply = pidsh_init_reply()
        var e: Int32
        var sent = false
        var waited: Int32 = 0
        // In slices: an init that a SIGSTOP stopped meanwhile cannot answer until a
        // SIGCONT; that is said at once instead of after the whole time-out.
        repeat {
            e = retryingErrnoInterrupts({
                let e = pidsh_init_request(fd, &cmd, &reply, Self.slice, sent ? 0 : 1)
                if e != EPIPE { sent = true }
                return e
            }, stoppingWhen: { pidsh_peek_pending_signal() != 0 })
            if e == EINTR { throw Interrupted(signal: pidsh_peek_pending_signal()) }
            if e == ETIMEDOUT {
                waited += Self.slice
                if ProcStatus.read(pid: initPID)?.isStopped == true { throw Self.stoppedError(what: what) }
            }
        } while e == ETIMEDOUT && waited < Self.timeoutMilliseconds
        if e != 0 { throw Self.channelError(e, what: what) }
        withUnsafeBytes(of: reply.calls) { raw in
            let calls = raw.bindMemory(to: pidsh_call_record.self)
            for i in 0..<min(Int(reply.ncalls), calls.count) {
                var r = calls[i]
                r.actor_pid = Int64(initPID)
                recorder.add(r)
            }
        }
        return reply
    }

    static func channelError(_ e: Int32, what: String) -> SystemError {
        switch e {
        case ETIMEDOUT:
            return SystemError(errnoValue: e, what, explanation: "pidsh's init did not answer within \(timeoutMilliseconds / 1000) s (is it stopped, or traced?)")
        case EPIPE, ECONNRESET:
            return SystemError(errnoValue: e, what, explanation: "pidsh's init of that namespace has ended: there is nobody left to ask")
        default:
            return SystemError(errnoValue: e, what, explanation: "the control channel to pidsh's init failed")
        }
    }

    /// Has the init do `action`; the kernel's refusal comes back as its errno.
    public func perform(_ action: InitAction, recorder: CallRecorder?, initPID: Int32) throws {
        let reply = try request(action.command, recorder: recorder, initPID: initPID, what: "ns init: \(action.callText)")
        if reply.error != 0 { throw KernelRules.initActionError(reply.error, action: action) }
    }

    /// Every signal the init caught since it started (the oldest first), and how many
    /// older ones its log no longer holds.
    public func received(recorder: CallRecorder?, initPID: Int32) throws -> (signals: [ReceivedSignal], dropped: Int) {
        var out: [ReceivedSignal] = []
        var from: UInt32 = 0
        var dropped = 0
        while true {
            var cmd = pidsh_init_command()
            cmd.action = Int32(PIDSH_INIT_RECEIVED.rawValue)
            cmd.from = from
            let reply = try request(cmd, recorder: nil, initPID: initPID, what: "signals received")
            if from == 0 { dropped = Int(reply.oldest) }
            withUnsafeBytes(of: reply.signals) { raw in
                let entries = raw.bindMemory(to: pidsh_init_signal.self)
                for i in 0..<min(Int(reply.count), entries.count) { out.append(ReceivedSignal(entries[i])) }
            }
            from = reply.first &+ reply.count
            if reply.count == 0 || from >= reply.total { break }
        }
        return (out, dropped)
    }

    /// A new channel: (pidsh's end, the init's end). Both close-on-exec.
    static func makePair() throws -> (InitChannel, Int32) {
        var fds: [Int32] = [-1, -1]
        let e = pidsh_init_channel(&fds)
        if e != 0 { throw SystemError(errnoValue: e, "socketpair for the control channel of pidsh's init") }
        return (InitChannel(fd: fds[0]), fds[1])
    }
}

extension InitMode {
    /// What a forwarder passes on without `--catch`, as tini: every standard signal it
    /// can catch but SIGCHLD (its own), the faults the kernel raises for the init itself
    /// and the terminal's stop-on-I/O signals. (Real-time signals only with --catch.)
    public static let forwardedByDefault: SignalSet = {
        var set = SignalSet(0x7fff_ffff)
        for s in [SIGKILL, SIGSTOP, SIGCHLD, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGTTIN, SIGTTOU] {
            set.bits &= ~SignalSet.bit(s)
        }
        return set
    }()
}
