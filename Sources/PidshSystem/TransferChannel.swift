import CPidsh
import Glibc

/// A document of bytes with descriptors (pidfds, namespace fds...) passed between two
/// pidsh processes over a SOCK_SEQPACKET socket: how `inside` hands a block, its values
/// and handles to the pidsh it starts in a namespace, and gets the results back.
public struct TransferDocument {
    public var bytes: [UInt8] = []
    public var fds: [Int32] = []
    public init(bytes: [UInt8] = [], fds: [Int32] = []) {
        self.bytes = bytes
        self.fds = fds
    }
}

/// Sends a document as messages: data chunks, descriptors (four at most per message,
/// SCM_RIGHTS), then an end mark with the total length.
public enum TransferChannel {
    enum Kind: UInt8 { case data = 1, descriptors = 2, end = 3 }
    static let chunk = 16 * 1024
    /// A document larger than this is refused (a script's text and values are far below).
    public static let maximumSize = 64 << 20

    public static func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let e = pidsh_init_channel(&fds)
        if e != 0 { throw SystemError(errnoValue: e, "socketpair") }
        return (fds[0], fds[1])
    }

    public static func send(_ doc: TransferDocument, on sock: Int32) throws {
        var offset = 0
        repeat {
            let n = min(chunk, doc.bytes.count - offset)
            try message(.data, Array(doc.bytes[offset..<offset + n]), fds: [], on: sock)
            offset += n
        } while offset < doc.bytes.count
        var i = 0
        while i < doc.fds.count {
            let part = Array(doc.fds[i..<min(i + 4, doc.fds.count)])
            try message(.descriptors, [], fds: part, on: sock)
            i += 4
        }
        let total = UInt32(doc.bytes.count)
        try message(.end, withUnsafeBytes(of: total.littleEndian) { Array($0) }, fds: [], on: sock)
    }

    static func message(_ kind: Kind, _ payload: [UInt8], fds: [Int32], on sock: Int32) throws {
        let bytes = [kind.rawValue] + payload
        let e = bytes.withUnsafeBytes { raw in
            fds.withUnsafeBufferPointer { pidsh_send_with_fds(sock, raw.baseAddress, raw.count, $0.baseAddress, Int32(fds.count)) }
        }
        if e != 0 { throw SystemError(errnoValue: e, "sendmsg (inside channel)") }
    }

    /// Reads a whole document (blocking); nil at end-of-file before its end mark.
    public static func receive(on sock: Int32) throws -> TransferDocument? {
        var receiver = Receiver()
        while true {
            switch try receiver.readOne(from: sock) {
            case .complete(let doc): return doc
            case .ended: return nil
            case .partial: continue
            }
        }
    }

    /// Collects one document message by message (so a caller can poll other pipes
    /// between two messages).
    public struct Receiver {
        var doc = TransferDocument()
        public init() {}

        public enum Progress { case partial, complete(TransferDocument), ended }

        public mutating func readOne(from sock: Int32) throws -> Progress {
            var buf = [UInt8](repeating: 0, count: TransferChannel.chunk + 16)
            var fds: [Int32] = [-1, -1, -1, -1]
            var count: Int32 = 0
            let n = buf.withUnsafeMutableBytes { raw in
                fds.withUnsafeMutableBufferPointer { pidsh_receive_with_fds(sock, raw.baseAddress, raw.count, $0.baseAddress, &count) }
            }
            if n < 0 { throw SystemError.last("recvmsg (inside channel)") }
            if n == 0 { closeAll(); return .ended }
            doc.fds.append(contentsOf: fds.prefix(Int(count)))
            switch Kind(rawValue: buf[0]) {
            case .data?:
                doc.bytes.append(contentsOf: buf[1..<n])
                if doc.bytes.count > TransferChannel.maximumSize {
                    closeAll()
                    throw SystemError(errnoValue: EMSGSIZE, "inside channel", explanation: "more than \(TransferChannel.maximumSize >> 20) MiB")
                }
            case .end?:
                let done = doc
                doc = TransferDocument()
                return .complete(done)
            default:
                break
            }
            return .partial
        }

        mutating func closeAll() {
            for fd in doc.fds { close(fd) }
            doc.fds.removeAll()
        }
    }
}
