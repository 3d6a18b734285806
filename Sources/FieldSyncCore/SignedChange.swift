import Foundation

/// A change with its author's signature over its canonical binary form. Relayed unchanged by
/// whoever carries it; verified by the server against the author's enrolled key.
public struct SignedChange: Hashable, Sendable, Codable {
    /// The change.
    public var change: Change
    /// The Ed25519 signature (64 bytes), or `nil` for a change not yet signed.
    public var signature: Data?

    /// Pairs a change with its signature.
    public init(change: Change, signature: Data?) {
        self.change = change
        self.signature = signature
    }

    private enum CodingKeys: String, CodingKey { case change, sig }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        change = try c.decode(Change.self, forKey: .change)
        if let s = try c.decodeIfPresent(String.self, forKey: .sig) {
            guard let data = Data(base64Encoded: s) else {
                throw DecodingError.dataCorruptedError(forKey: .sig, in: c, debugDescription: "sig is not base64")
            }
            signature = data
        } else {
            signature = nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(change, forKey: .change)
        try c.encodeIfPresent(signature?.base64EncodedString(), forKey: .sig)
    }
}
