import CPidsh
import Glibc

/// `kill SIG -1`: kill(-1, SIG), which the kernel sends to every process the sender
/// sees with a PID above 1, but the sender itself (kill_something_info): from a
/// namespace's init or any member, every other member but the init.
public enum SignalEveryone {
    /// The initial PID namespace's inode (PROC_PID_INIT_INO): there kill(-1) would
    /// reach every process of the machine.
    public static let initialNamespaceInode: UInt64 = 0xEFFF_FFFC

    /// The processes kill(-1) from pidsh would reach, with their status read now (the
    /// verdicts depend on what the signal meets), lowest PID first.
    public static func targets() -> [(pid: Int32, status: ProcStatus)] {
        let me = getpid()
        var out: [(Int32, ProcStatus)] = []
        for name in FileIO.directoryEntries("/proc") {
            guard let pid = Int32(name), pid > 1, pid != me, let s = ProcStatus.read(pid: pid) else { continue }
            // A zombie is gone for signals (the kernel skips no zombie, but nothing happens).
            if s.state.hasPrefix("Z") { continue }
            out.append((pid, s))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Sends; throws the kernel's refusal (ESRCH: nobody to signal).
    public static func send(_ signal: Int32, recorder: CallRecorder?) throws {
        var rec = pidsh_call_record()
        let r = pidsh_kill(-1, signal, &rec)
        let e = Glibc.errno
        recorder.add(rec)
        if r != 0 {
            throw SystemError(errnoValue: e, "kill(-1, \(Signals.name(of: signal)))",
                              explanation: e == ESRCH ? "there is no process to signal: kill(-1) reaches every process pidsh sees with a PID above 1 but pidsh itself, and there is none" : nil)
        }
    }
}
