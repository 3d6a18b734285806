import Crypto
public import Foundation

/// Content digests for comparing stores and states, and for checking uploaded bytes (not for
/// secrets).
public enum Digest {
    /// The SHA-256 of `data`, as lower-case hex.
    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// Bytes as lower-case hex (how a SHA-256 names a file).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-1 of `data` (tus's mandatory per-chunk checksum), raw bytes.
    public static func sha1(_ data: Data) -> Data { Data(Insecure.SHA1.hash(data: data)) }

    /// The SHA-256 of `data`, raw bytes.
    public static func sha256(_ data: Data) -> Data { Data(SHA256.hash(data: data)) }

    /// A SHA-256 over bytes given in pieces (a file read in chunks).
    public struct SHA256Stream {
        private var hasher = SHA256()

        /// A fresh hash.
        public init() {}

        /// Adds the next piece.
        public mutating func update(_ data: Data) { hasher.update(data: data) }

        /// The hash of everything added, as lower-case hex.
        public func hex() -> String { Digest.hex(hasher.finalize()) }
    }
}
