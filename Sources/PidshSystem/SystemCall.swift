import CPidsh
import Glibc

/// One system call the C layer made and recorded (pidsh_call_record): what `--trace`
/// prints. Nothing here decides which call was made; it only names what C recorded.
public struct SystemCall: Sendable {
    public enum Actor: Sendable, Equatable {
        case pidsh, child, helper, level(Int), janitor
        /// pidsh's init of a namespace, acting on `ns init`.
        case namespaceInit
    }

    public let name: String
    public let actor: Actor
    /// The acting process in pidsh's view (0: unknown, e.g. a nest level).
    public let actorPID: Int32
    public let result: Int64
    public let errno: Int32
    let call: pidsh_call
    let fd: Int64
    let flags: UInt64
    let flags2: UInt64
    let target: UInt64
    public let text: String

    init(_ r: pidsh_call_record) {
        call = pidsh_call(rawValue: UInt32(bitPattern: r.call))
        name = SystemCall.names[Int(r.call)] ?? "call\(r.call)"
        switch r.actor {
        case Int32(PIDSH_ACTOR_CHILD.rawValue): actor = .child
        case Int32(PIDSH_ACTOR_HELPER.rawValue): actor = .helper
        case Int32(PIDSH_ACTOR_LEVEL.rawValue): actor = .level(Int(r.level))
        case Int32(PIDSH_ACTOR_JANITOR.rawValue): actor = .janitor
        case Int32(PIDSH_ACTOR_INIT.rawValue): actor = .namespaceInit
        default: actor = .pidsh
        }
        actorPID = Int32(truncatingIfNeeded: r.actor_pid)
        result = r.result
        errno = r.error
        fd = r.fd
        flags = r.flags
        flags2 = r.flags2
        target = r.target
        text = withUnsafeBytes(of: r.text) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }

    public var failed: Bool { result < 0 }

    /// PIDs in pidsh's own view that the line shows (for `--stable-ids`): the acting
    /// process, a clone's result made from pidsh's namespace, a signalled or awaited PID.
    public var hostPIDs: [Int32] {
        var pids: [Int32] = []
        if actorPID > 0 { pids.append(actorPID) }
        let cloned = call == PIDSH_CALL_CLONE || call == PIDSH_CALL_CLONE3
        if cloned, result > 0, actor == .pidsh || actor == .helper { pids.append(Int32(truncatingIfNeeded: result)) }
        // (An init's kill names a PID of its own namespace, not pidsh's.)
        if call == PIDSH_CALL_PIDFD_SEND_SIGNAL || (call == PIDSH_CALL_WAITID && target != 0) || (call == PIDSH_CALL_KILL && actor == .pidsh) {
            pids.append(Int32(truncatingIfNeeded: target))
        }
        return pids
    }

    /// A namespace inode the line shows (setns), or nil.
    public var namespaceInode: UInt64? { call == PIDSH_CALL_SETNS ? target : nil }

    static let names: [Int: String] = [
        1: "clone", 2: "clone3", 3: "setns", 4: "unshare", 5: "fsopen", 6: "fsconfig", 7: "fsmount",
        8: "move_mount", 9: "open_tree", 10: "mount", 11: "umount2", 12: "pidfd_send_signal", 13: "kill",
        14: "execve", 15: "waitid", 16: "mkdirat", 17: "unlinkat", 18: "pivot_root", 19: "sethostname", 20: "chroot",
        21: "rt_sigprocmask", 22: "rt_sigaction",
    ]
}

/// What the caller knows that makes a line readable: which path a descriptor is (the
/// mount points it opened) and the arguments it prepared for an exec.
public struct TraceContext {
    public var paths: [Int64: String] = [:]
    /// Descriptors pidsh holds for the whole session, by the path they stand for (the
    /// session cgroup's, which a clone3 names): shown in every trace.
    nonisolated(unsafe) static var lasting: [Int64: String] = [:]
    public var argv: [String]?
    public init(paths: [Int64: String] = [:], argv: [String]? = nil) {
        self.paths = paths
        self.argv = argv
    }
}

/// A buffer the C layer records into (pidsh_trace), owned here.
public final class CallTrace {
    private let records: UnsafeMutablePointer<pidsh_call_record>
    public let capacity: Int
    public var raw: pidsh_trace

    public init(capacity: Int = 512) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
        raw = pidsh_trace(records: records, capacity: Int32(capacity), count: 0, lost: 0)
    }

    deinit { records.deallocate() }

    /// The records made since the last call, and how many did not fit.
    public func take() -> (calls: [SystemCall], lost: Int) {
        let calls = (0..<Int(raw.count)).map { SystemCall(records[$0]) }
        let lost = Int(raw.lost)
        raw.count = 0
        raw.lost = 0
        return (calls, lost)
    }
}
