import Crypto
public import Foundation

/// Content digests for comparing stores and states (not for secrets).
public enum Digest {
    /// The SHA-256 of `data`, as lower-case hex.
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
