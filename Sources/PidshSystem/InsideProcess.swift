import CPidsh
import Glibc

/// A pidsh started as a member of a PID namespace to run one block of a script there
/// (`inside NS { ... }`): through the normal spawn path (setns + clone, or a helper when
/// pidsh may not move), with a private mount namespace and a /proc of that namespace,
/// so it numbers processes as the namespace does. It talks to this pidsh over a socket
/// (TransferChannel); its janitor is forked here, outside the namespace, so it is no
/// member of it and still undoes what the block made if that pidsh is killed.
public final class InsideProcess {
    public let process: ProcessHandle
    /// This pidsh's end of the channel.
    public let channel: Int32
    /// The janitor's socket until it is handed over (then -1).
    public private(set) var janitorSocket: Int32

    init(process: ProcessHandle, channel: Int32, janitorSocket: Int32) {
        self.process = process
        self.channel = channel
        self.janitorSocket = janitorSocket
    }

    deinit {
        close(channel)
        if janitorSocket >= 0 { close(janitorSocket) }
    }

    /// The pidsh executable by its real path: `$PIDSH` (pidsh sets it to its own at
    /// start, and embedders set it: under `swift test` this process is the test runner),
    /// else /proc/self/exe when that is a `pidsh`.
    public static func executable() throws -> String {
        if let path = FileIO.environment("PIDSH"), path.hasPrefix("/"), access(path, X_OK) == 0 { return path }
        if let path = ProcFiles.readLink("/proc/self/exe"), path.hasSuffix("/pidsh"), access(path, X_OK) == 0 { return path }
        throw UsageError("cannot find the pidsh executable to start inside the namespace: this process is not pidsh (\(ProcFiles.readLink("/proc/self/exe") ?? "?")); set PIDSH to pidsh's path")
    }

    /// Starts it: stdio as given, the channel at descriptor 3.
    public static func start(in namespace: Namespace, session: Session, stdin: Int32, stdout: Int32, stderr: Int32) throws -> InsideProcess {
        let path = try executable()
        let (mine, theirs) = try TransferChannel.socketPair()
        defer { close(theirs) }
        var janitor: Int32 = -1
        var janitorPID: pid_t = 0
        let e = pidsh_fork_janitor(&janitor, &janitorPID)
        if e != 0 {
            close(mine)
            throw SystemError(errnoValue: e, "fork of the janitor for the pidsh inside")
        }
        HelperJanitors.note(janitorPID)
        var opts = SpawnOptions(path: path, arguments: ["pidsh", "--inside"])
        opts.joinNamespace = namespace
        opts.remountProc = true
        opts.fileDescriptors = [(0, stdin), (1, stdout), (2, stderr), (3, theirs)]
        opts.awaitExecVisible = false
        do {
            let p = try session.spawn(opts)
            return InsideProcess(process: p, channel: mine, janitorSocket: janitor)
        } catch {
            close(mine)
            close(janitor)
            throw error
        }
    }

    /// Sends the request (its descriptors pass to the other pidsh); the janitor's socket
    /// goes with it and is closed here.
    public func send(_ doc: TransferDocument) throws {
        defer {
            if janitorSocket >= 0 { close(janitorSocket) }
            janitorSocket = -1
        }
        try TransferChannel.send(doc, on: channel)
    }

    /// Reads the block's output pipes (to their end) and the channel, handing each chunk
    /// of output on as it comes, until the result document has come and the pipes are
    /// done; nil when the other pidsh ended without one (it was killed). SIGTERM/SIGHUP
    /// to this pidsh are passed on to it and end the wait (`Interrupted`).
    public func collect(outputs: JobOutputs) throws -> TransferDocument? {
        var receiver = TransferChannel.Receiver()
        var result: TransferDocument?
        var channelError: Error?
        // The reply channel: read first in each round, done once the document came.
        let reply = PipeDrain.Source(fd: channel) { [channel] _ in
            do {
                switch try receiver.readOne(from: channel) {
                case .complete(let doc): result = doc; return .done
                case .ended: return .done
                case .partial: return .again
                }
            } catch {
                channelError = error
                return .stop
            }
        }
        // Its output is passed on whatever becomes of it: the block runs to its end.
        var sources = [reply] + outputs.pumps.map { pump in PipeDrain.pipe(pump.fd) { _ = pump.consume($0); return true } }
        defer { for source in sources where source.fd != channel { close(source.fd) } }
        var stoppedBy: Int32 = 0
        PipeDrain.run(&sources) {
            let pending = pidsh_peek_pending_signal()
            if pending != 0 && pending != SIGINT { stoppedBy = pending; return false }
            return true
        }
        if let channelError { throw channelError }
        if stoppedBy != 0 {
            try? process.signal(stoppedBy)
            throw Interrupted(signal: stoppedBy)
        }
        return result
    }
}

/// Janitors this pidsh forked for others (a pidsh inside a namespace): not its own, so
/// a tear-down must not kill them (they undo what that pidsh left), only wait for them.
public enum HelperJanitors {
    private static var pids: Set<Int32> = []

    static func note(_ pid: Int32) { pids.insert(pid) }
    public static func contains(_ pid: Int32) -> Bool { pids.contains(pid) }
    static func reaped(_ pid: Int32) { pids.remove(pid) }

    static var count: Int { pids.count }
}

/// The other side: what a pidsh started by `inside` does after its block.
public enum InsideMember {
    /// The channel it was given (descriptor 3).
    public static let channel: Int32 = 3

    /// Adopts the janitor the outer pidsh forked for it (before the session starts).
    public static func adoptJanitor(_ sock: Int32) { if sock >= 0 { pidsh_adopt_janitor(sock) } }

    /// Stays while processes it handed back run (they die with it), until each has
    /// ended or the outer pidsh lets go of the channel (it ended, or was killed).
    /// Standard streams go first: the outer pidsh reads them until they close.
    public static func linger(keeping processes: [ProcessHandle]) {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 {
            for fd: Int32 in 0...2 { dup2(null, fd) }
            close(null)
        }
        while processes.contains(where: { $0.isRunning }) {
            ChildReaper.shared.reapAll()
            var fds = processes.filter { $0.isRunning && $0.pidfd >= 0 }.map { $0.pidfd }
            fds.append(channel)
            var revents = [Int16](repeating: 0, count: fds.count)
            let n = retryingInterrupts(stoppingWhen: { pidsh_peek_pending_signal() != 0 }) {
                pidsh_wait_for_events(fds, Int32(fds.count), 1000, &revents)
            }
            if n < 0 && Glibc.errno == EINTR { return }
            if n > 0 && revents.last! != 0 { return }   // the outer pidsh closed its end
        }
    }
}
