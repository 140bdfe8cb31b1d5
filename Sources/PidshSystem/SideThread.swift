import CPidsh

/// Work done in two halves at once: one on a thread of its own (CPidsh's side_thread.c),
/// the other on the calling thread. Only for work that reads and computes — a listing's
/// /proc reads — never for a namespace or signal call: those act on the calling thread,
/// and the process is single-threaded again (to the kernel, not only to pthread) when
/// `both` returns. Where there is one CPU, or no thread can be made, both halves run
/// here, one after the other.
enum SideThread {
    /// Whether a second thread can run beside this one.
    static var worthIt: Bool { pidsh_usable_cpus() > 1 }

    /// `here()` on this thread while `there()` runs on another; both results.
    static func both<A, B>(_ here: () -> A, _ there: @escaping () -> B) -> (A, B) {
        let job = Job(there)
        let context = Unmanaged<Work>.passRetained(job).toOpaque()
        // A C function pointer captures nothing: the job comes through its argument.
        guard let handle = pidsh_side_thread_start({ p in
            Unmanaged<Work>.fromOpaque(p!).takeUnretainedValue().run()
        }, context) else {
            Unmanaged<Work>.fromOpaque(context).release()
            return (here(), there())
        }
        let a = here()
        pidsh_side_thread_join(handle)
        Unmanaged<Work>.fromOpaque(context).release()
        return (a, job.result!)
    }

    /// What the other thread runs.
    private class Work {
        func run() {}
    }

    /// Its half and, once it has run, the result (read only after the join, which
    /// orders the write before the read).
    private final class Job<B>: Work {
        let work: () -> B
        var result: B?
        init(_ work: @escaping () -> B) { self.work = work }
        override func run() { result = work() }
    }
}
