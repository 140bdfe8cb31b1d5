import CPidsh
import Glibc

// pidsh catches its own signals without SA_RESTART (`OwnSignals`), so a blocking call
// returns EINTR when one comes. Whether to make the call again or to stop and let the
// interpreter see the signal is each caller's decision; making it again is done here,
// and only here.

/// Makes `call` again while it fails with EINTR, until `stop` (asked after each
/// interruption) says to give up. Returns the last result: negative, with errno set,
/// when the call failed (EINTR when `stop` ended the retries).
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(stoppingWhen stop: () -> Bool = { false }, _ call: () -> T) -> T {
    retrying(call, interrupted: { $0 < 0 && errno == EINTR }, stoppingWhen: stop)
}

/// The same for a call that returns an errno value itself (0 when it succeeded). A name
/// of its own: as an overload of the one above, a trailing closure returning Int32 (a
/// poll) picked this one and took its -1 for "not interrupted".
@inline(__always)
func retryingErrnoInterrupts(_ call: () -> Int32, stoppingWhen stop: () -> Bool = { false }) -> Int32 {
    retrying(call, interrupted: { $0 == EINTR }, stoppingWhen: stop)
}

@inline(__always)
private func retrying<T>(_ call: () -> T, interrupted: (T) -> Bool, stoppingWhen stop: () -> Bool) -> T {
    while true {
        let result = call()
        if !interrupted(result) || stop() { return result }
    }
}

/// pidsh's own signals counted at a look at them (pidsh_signals_received): a wait
/// given `seen` (pidsh_poll_unless_signalled) ends at once for one that came after the
/// look, even just before its sleep, where a plain poll would sleep through it.
struct SignalsSeen {
    private(set) var seen: Int32

    init(_ seen: Int32? = nil) { self.seen = seen ?? pidsh_signals_received() }

    /// After a wait a signal ended: true when `stop()` says so. Otherwise the signals
    /// counted so far are seen, and only a later one ends the next wait. The count is
    /// read before `stop()` looks: one that comes in between ends the next wait.
    mutating func interrupted(stop: () -> Bool) -> Bool {
        let now = pidsh_signals_received()
        if stop() { return true }
        seen = now
        return false
    }
}
