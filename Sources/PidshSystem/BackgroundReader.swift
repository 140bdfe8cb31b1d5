import Glibc

/// Drains pipes on a thread of its own while the interpreter thread runs in-process
/// pipeline stages (a builtin or def feeding an external program whose output pidsh
/// captures): without it, the builtin blocks on a full pipe while nobody reads the
/// program's output. The bytes are handed over on `finish()`, on the caller's thread,
/// so all rewriting and printing stays single-threaded. The thread never forks.
final class BackgroundReader {
    private final class Work {
        let fds: [Int32]
        let limit: Int
        var outputs: [[UInt8]]
        var truncated: [Bool]
        init(fds: [Int32], limit: Int) {
            self.fds = fds
            self.limit = limit
            self.outputs = Array(repeating: [], count: fds.count)
            self.truncated = Array(repeating: false, count: fds.count)
        }

        func run() {
            var pipes = fds.indices.map { k in
                PipeDrain.pipe(fds[k]) { bytes in
                    self.outputs[k].append(contentsOf: bytes)
                    // Past the limit it stops and closes the pipe: its writer gets
                    // EPIPE instead of filling pidsh's memory.
                    if self.outputs[k].count > self.limit { self.truncated[k] = true; return false }
                    return true
                }
            }
            PipeDrain.run(&pipes)
            for left in pipes { Glibc.close(left.fd) }
        }
    }

    private var thread = pthread_t()
    private let work: Work
    private var joined = false

    /// Starts reading `fds` (it closes each at its end), at most a little more than
    /// `limit` bytes of each (see `truncated`).
    init(fds: [Int32], limit: Int = .max) throws {
        work = Work(fds: fds, limit: limit)
        let context = Unmanaged.passRetained(work).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            // Signals are the interpreter thread's business.
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_SETMASK, &all, nil)
            let work = Unmanaged<Work>.fromOpaque(arg!).takeRetainedValue()
            work.run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Work>.fromOpaque(context).release()
            throw SystemError(errnoValue: rc, "pthread_create (pipe reader)")
        }
    }

    /// Waits until every pipe reached its end; the bytes of each, in `fds` order.
    func finish() -> [[UInt8]] {
        if !joined {
            pthread_join(thread, nil)
            joined = true
        }
        return work.outputs
    }

    /// After `finish()`: which pipes gave more than the limit (and were cut short).
    var truncated: [Bool] {
        _ = finish()
        return work.truncated
    }

    deinit { _ = finish() }
}
