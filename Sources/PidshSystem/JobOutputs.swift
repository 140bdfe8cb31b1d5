/// Where a job's standard output and standard error go. Programs write straight to a
/// descriptor when they can; output that must pass through pidsh (a capture, stable
/// ids) goes into a pipe that pidsh reads, each chunk handed to a consumer.
public struct JobOutputs {
    public enum Route {
        /// The job writes to this descriptor itself.
        case direct(Int32)
        /// Through a pipe pidsh reads: each chunk goes to the consumer (false: it takes
        /// no more, and the writer gets EPIPE).
        case throughPidsh(([UInt8]) -> Bool)
        /// Standard error only: into standard output's descriptor or pipe, so the two
        /// stay in order.
        case sameAsOutput
    }

    /// The descriptors the job writes its output and its errors to.
    public let output: Int32
    public let error: Int32
    /// The pipes pidsh reads, with their consumers.
    let pumps: [(fd: Int32, consume: ([UInt8]) -> Bool)]
    /// pidsh's copies of those pipes' write ends: closed once the job has its own.
    let writeEnds: [Int32]

    /// Makes the pipes the routes need (none for direct ones).
    public init(output: Route, error: Route) throws {
        var pumps: [(fd: Int32, consume: ([UInt8]) -> Bool)] = []
        var writeEnds: [Int32] = []
        func descriptor(_ route: Route, output: Int32?) throws -> Int32 {
            switch route {
            case .direct(let fd):
                return fd
            case .sameAsOutput:
                guard let output else { preconditionFailure("standard output cannot follow itself") }
                return output
            case .throughPidsh(let consume):
                let (r, w) = try FileIO.pipe()
                pumps.append((r, consume))
                writeEnds.append(w)
                return w
            }
        }
        do {
            self.output = try descriptor(output, output: nil)
            self.error = try descriptor(error, output: self.output)
        } catch {
            for fd in writeEnds + pumps.map(\.fd) { FileIO.close(fd) }
            throw error
        }
        self.pumps = pumps
        self.writeEnds = writeEnds
    }

    /// The job could not start: every pipe goes.
    public func abandon() {
        closeWriteEnds()
        closeReadEnds()
    }

    public func closeWriteEnds() {
        for fd in writeEnds { FileIO.close(fd) }
    }

    /// Nothing will be read after all (the job ended before it began).
    public func closeReadEnds() {
        for pump in pumps { FileIO.close(pump.fd) }
    }

    /// Reads the pipes to their end on this thread (`PipeDrain.pump`).
    func drain() { PipeDrain.pump(pumps) }

    /// Reads the pipes on a thread of their own, keeping at most about `limit` bytes of
    /// each (while the interpreter thread runs stages of the job); nil when there is
    /// nothing to read.
    func readInBackground(limit: Int) throws -> BackgroundReader? {
        pumps.isEmpty ? nil : try BackgroundReader(fds: pumps.map(\.fd), limit: limit)
    }

    /// Hands what `reader` read to the consumers; false when some pipe gave more than
    /// the limit (and was cut short).
    func deliver(_ reader: BackgroundReader) -> Bool {
        for (i, bytes) in reader.finish().enumerated() where !bytes.isEmpty { _ = pumps[i].consume(bytes) }
        return !reader.truncated.contains(true)
    }

    /// Spawns a program writing here (its standard input is `input`), then reads what
    /// passes through pidsh to its end.
    public func spawn(_ options: SpawnOptions, input: Int32, in session: Session) throws -> ProcessHandle {
        var options = options
        options.fileDescriptors = [(0, input), (1, output), (2, error)]
        let process: ProcessHandle
        do {
            process = try session.spawn(options)
        } catch {
            abandon()
            throw error
        }
        closeWriteEnds()
        drain()
        return process
    }
}
