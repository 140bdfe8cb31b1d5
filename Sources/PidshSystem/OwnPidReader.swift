import CPidsh
import Glibc

/// A process's PID inside its own PID namespace and its effective uid, asked of the
/// kernel (NS_GET_TGID_IN_PIDNS on the namespace, PIDFD_GET_INFO on a pidfd) instead of
/// read from /proc/PID/status, which the kernel makes in more time than the two
/// ioctls, a pidfd and /proc/PID/comm together (docs/performance.md, "Listing at
/// scale"). Holds one descriptor per namespace asked about, closed with it.
final class OwnPidReader {
    private var namespaces: [UInt64: Int32] = [:]
    /// False when the kernel lacks either ioctl (an older kernel), or /proc numbers
    /// processes in another namespace than pidsh's (the ioctls take pidsh's numbers):
    /// then every answer comes from status.
    private(set) var usable: Bool

    init() {
        usable = Self.procIsOwnNamespace()
    }

    deinit {
        for fd in namespaces.values { close(fd) }
    }

    /// Its PID in the namespace `inode` (where its ns/pid link placed it) and its
    /// effective uid; nil when the kernel did not answer (the process ended, is no
    /// longer in that namespace, or the kernel has no such ioctl): status answers then.
    func ownPidAndEuid(of pid: Int32, inNamespace inode: UInt64) -> (pid: Int32, euid: UInt32)? {
        guard usable, let nsfd = descriptor(of: inode, through: pid) else { return nil }
        var own: pid_t = 0
        var euid: UInt32 = 0
        let r = pidsh_process_own_pid_and_euid(nsfd, pid, &own, &euid)
        if r == 0 { return (own, euid) }
        // ENOTTY/EINVAL: an ioctl this kernel does not know; it will not know it for
        // the next process either.
        if r != -Int32(PIDSH_OWN_PID_PIDFD), errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP { usable = false }
        return nil
    }

    /// The namespace's descriptor, opened through a member's ns/pid the first time;
    /// nil when that member is gone or its link now names another namespace.
    private func descriptor(of inode: UInt64, through pid: Int32) -> Int32? {
        if let fd = namespaces[inode] { return fd }
        let fd = open("/proc/\(pid)/ns/pid", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_ino) == inode else { close(fd); return nil }
        namespaces[inode] = fd
        return fd
    }

    /// /proc/self is pidsh under the PID pidsh has in its own namespace only when
    /// /proc is that namespace's.
    private static func procIsOwnNamespace() -> Bool {
        var text = [CChar](repeating: 0, count: 32)
        let n = readlink("/proc/self", &text, text.count - 1)
        guard n > 0 else { return false }
        return String(decoding: text[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == String(getpid())
    }
}
