import CPidsh

/// `--trace`: the system calls behind each command, in the order made. The C layer
/// records them; the Session hands them on; the interpreter prints them (and aliases
/// ids).
public protocol Tracer: AnyObject {
    func trace(_ calls: [SystemCall], context: TraceContext, lost: Int)
}

/// Runs C calls with a record buffer when tracing (nil when not), then hands what was
/// recorded to the tracer, also when the call failed.
public final class CallRecorder {
    let buffer = CallTrace()
    public let tracer: Tracer

    public init(tracer: Tracer) { self.tracer = tracer }

    func run<R>(_ context: TraceContext, _ body: (UnsafeMutablePointer<pidsh_trace>) throws -> R) rethrows -> R {
        defer { flush(context) }
        return try body(&buffer.raw)
    }

    /// One record made by a thin wrapper (pidsh_pidfd_send_signal...).
    func add(_ record: pidsh_call_record, _ context: TraceContext = TraceContext()) {
        tracer.trace([SystemCall(record)], context: context, lost: 0)
    }

    func flush(_ context: TraceContext) {
        let (calls, lost) = buffer.take()
        if !calls.isEmpty || lost > 0 { tracer.trace(calls, context: context, lost: lost) }
    }
}

extension Optional where Wrapped == CallRecorder {
    /// `body` gets the record buffer when tracing, NULL otherwise.
    func run<R>(_ context: @autoclosure () -> TraceContext,
                _ body: (UnsafeMutablePointer<pidsh_trace>?) throws -> R) rethrows -> R {
        guard let recorder = self else { return try body(nil) }
        return try recorder.run(context()) { try body($0) }
    }

    /// A wrapper's record: kept only when tracing.
    func add(_ record: pidsh_call_record, _ context: TraceContext = TraceContext()) {
        self?.add(record, context)
    }
}
