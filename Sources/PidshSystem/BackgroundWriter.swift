import Glibc

/// Feeds bytes into a pipe on a thread of its own, then closes it: the input of a
/// builtin or def that reads what an earlier in-process stage of the same pipeline
/// wrote (held by a BackgroundReader, since pidsh runs those stages one after another).
/// The reader may stop early (`head`); the write then fails EPIPE and the feed ends.
/// The thread never forks and touches nothing but `fd` and its own copy of the bytes.
final class BackgroundWriter {
    private final class Work {
        let fd: Int32
        let bytes: [UInt8]
        init(fd: Int32, bytes: [UInt8]) { self.fd = fd; self.bytes = bytes }

        func run() {
            bytes.withUnsafeBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = retryingInterrupts { write(fd, buf.baseAddress! + off, buf.count - off) }
                    if n < 0 { break }
                    off += n
                }
            }
            Glibc.close(fd)
        }
    }

    private var thread = pthread_t()
    private var joined = false

    /// Starts writing `bytes` to `fd` (which it closes at the end, or at once on failure).
    init(fd: Int32, bytes: [UInt8]) throws {
        let context = Unmanaged.passRetained(Work(fd: fd, bytes: bytes)).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_SETMASK, &all, nil)
            Unmanaged<Work>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Work>.fromOpaque(context).release()
            Glibc.close(fd)
            throw SystemError(errnoValue: rc, "pthread_create (pipe writer)")
        }
    }

    /// Waits until everything is written or the reader has gone.
    func finish() {
        if !joined {
            pthread_join(thread, nil)
            joined = true
        }
    }

    deinit { finish() }
}
