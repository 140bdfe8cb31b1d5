import CPidsh
import Glibc

/// The one loop that reads several descriptors as they fill: poll them, read each
/// ready one once, again until each is done. A pipeline's output on its way through
/// pidsh (`pump`), the pipes a `BackgroundReader` holds, what a pidsh started by
/// `inside` sends back, and `pidsh test`'s runs (`PipeWatch`) are all read by it.
enum PipeDrain {
    /// What a source says after a read.
    enum Step {
        /// Poll it again.
        case again
        /// It is finished: no longer polled.
        case done
        /// End the whole drain now (the sources not done are left to the caller).
        case stop
    }

    /// A descriptor to read when it is ready, and what reading it means.
    struct Source {
        let fd: Int32
        /// Reads once, into a scratch buffer.
        let readReady: (UnsafeMutableRawBufferPointer) -> Step

        init(fd: Int32, readReady: @escaping (UnsafeMutableRawBufferPointer) -> Step) {
            self.fd = fd
            self.readReady = readReady
        }
    }

    /// A pipe whose chunks go to `consume` as they arrive. It is closed at its end, and
    /// as soon as `consume` returns false (it takes no more): its writer then gets
    /// EPIPE rather than going on for ever.
    static func pipe(_ fd: Int32, consume: @escaping ([UInt8]) -> Bool) -> Source {
        Source(fd: fd) { buffer in
            let n = readChunk(fd, into: buffer)
            if n > 0 && consume(Array(buffer[0..<n])) { return .again }
            if n < 0 && errno == EAGAIN { return .again }
            Glibc.close(fd)
            return .done
        }
    }

    /// One read(2) of what `fd` holds (made again when a signal interrupts it).
    static func readChunk(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        retryingInterrupts { read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Reads `sources` until each is done; those done leave the array. A wait that a
    /// signal interrupts is made again while `keepWaiting()` says so, which is also
    /// asked once first (a signal that came before the drain). When it does not, the
    /// wait itself fails, or a source says stop, the sources left are those not done,
    /// their descriptors open: the caller decides.
    static func run(_ sources: inout [Source], keepWaiting: () -> Bool = { true }) {
        guard !sources.isEmpty else { return }
        // Counted before the first look: a signal after it ends the first wait at once.
        var signals = SignalsSeen()
        guard keepWaiting() else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while !sources.isEmpty {
            guard serve(&sources, timeoutMilliseconds: -1, buffer: buffer, signals: &signals, keepWaiting: keepWaiting) else { return }
        }
    }

    /// One wait: polls `sources` (at most `timeoutMilliseconds`; -1 waits for ever) and
    /// reads each ready one once, in order; one that is done leaves the array at once.
    /// False when the drain is to end: the wait failed (EINTR: a signal ended it and
    /// `keepWaiting()` said stop), or a source said stop. One of pidsh's signals that
    /// came after `signals` was counted ends the wait even if it came before the sleep.
    static func serve(_ sources: inout [Source], timeoutMilliseconds: Int32, buffer: UnsafeMutableRawBufferPointer,
                      signals: inout SignalsSeen, keepWaiting: () -> Bool) -> Bool {
        var polls = sources.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var ready: Int32
        while true {
            ready = pidsh_poll_unless_signalled(&polls, Int32(polls.count), timeoutMilliseconds, signals.seen)
            guard ready < 0 && errno == EINTR else { break }
            if signals.interrupted(stop: { !keepWaiting() }) { return false }
        }
        if ready < 0 { return false }
        var gone = 0
        for (i, polled) in polls.enumerated() where polled.revents != 0 {
            switch sources[i - gone].readReady(buffer) {
            case .again: break
            case .done: sources.remove(at: i - gone); gone += 1
            case .stop: return false
            }
        }
        return true
    }

    /// Reads every pipe to its end in the foreground, handing each chunk to its
    /// consumer as it arrives (so neither side of a pipeline blocks on a full pipe); a
    /// consumer that returns false takes no more (see `pipe`). A SIGTERM, SIGHUP... to
    /// pidsh ends it, every pipe closed (pidsh is stopping; a writer may never close
    /// its end); a SIGINT or SIGQUIT does not: the job decides.
    static func pump(_ pipes: [(fd: Int32, consume: ([UInt8]) -> Bool)]) {
        var open = pipes.map { pipe($0.fd, consume: $0.consume) }
        run(&open) {
            let pending = pidsh_peek_pending_signal()
            return pending == 0 || OwnSignals.belongsToForegroundJob(pending)
        }
        for source in open { Glibc.close(source.fd) }
    }
}

/// Reads several pipes at once, as they fill: `pidsh test -j N` collects the output
/// of N test runs in one thread this way.
public enum PipeWatch {
    public enum Event: Equatable {
        case data(Int32, [UInt8])
        case closed(Int32)
    }

    /// Waits until at least one of `fds` can be read (or `timeoutMilliseconds` pass; -1
    /// waits for ever), then reads each ready one once. A signal to pidsh ends the wait
    /// early with no events, so the caller can look at its pending signals.
    public static func next(_ fds: [Int32], timeoutMilliseconds: Int32) -> [Event] {
        var events: [Event] = []
        var sources = fds.map { fd in
            PipeDrain.Source(fd: fd) { buffer in
                let n = PipeDrain.readChunk(fd, into: buffer)
                if n > 0 { events.append(.data(fd, Array(buffer[0..<n]))) }
                else if n == 0 || errno != EAGAIN { events.append(.closed(fd)) }
                return .again
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        var signals = SignalsSeen()
        _ = PipeDrain.serve(&sources, timeoutMilliseconds: timeoutMilliseconds, buffer: buffer, signals: &signals, keepWaiting: { false })
        return events
    }
}
