public import FieldSyncCore

/// How peer messages travel on a byte stream: each as a frame of a 4-byte big-endian length,
/// then that many bytes (`PeerMessage.encoded`). A frame longer than `maxBytes` ends the meeting.
public enum PeerFrame {
    /// The longest frame: a batch at its limit, compressed or not, with room for its header.
    public static let maxBytes = PeerMessage.maxBatchBytes + 4_096

    /// A frame's bytes for `payload`.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(truncatingIfNeeded: payload.count)
        return [
            UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ] + payload
    }

    /// Reassembles frames from the bytes of a stream as they arrive.
    public struct Decoder: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0

        /// An empty decoder.
        public init() {}

        /// Adds bytes read from the stream.
        public mutating func append(_ bytes: some Sequence<UInt8>) {
            if start > 0, start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next whole frame's payload, if one has arrived; `malformed` for a frame too long.
        public mutating func next() throws(FieldSyncError) -> [UInt8]? {
            guard buffer.count - start >= 4 else { return nil }
            let n =
                Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
                | Int(buffer[start + 3])
            guard n <= maxBytes else {
                throw FieldSyncError(.bodyTooLarge, "a peer frame of \(n) bytes is over the limit of \(maxBytes)")
            }
            guard buffer.count - start - 4 >= n else { return nil }
            let payload = Array(buffer[(start + 4)..<(start + 4 + n)])
            start += 4 + n
            return payload
        }

        /// Bytes received that do not yet make a whole frame.
        public var pending: Int { buffer.count - start }
    }
}
