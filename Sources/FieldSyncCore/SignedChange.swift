public import Foundation

/// A change with its author's signature. Relayed unchanged by whoever carries it; verified by the
/// server against the author's enrolled key.
///
/// A signature covers either this change alone (`run == 1`) or a *run*: this change and the
/// `run − 1` changes of the same author just before it (consecutive sequence numbers), signed
/// once. A device pushing its own log signs each run of consecutive changes once, so a push of
/// 500 changes carries one signature instead of 500; the changes inside a run travel with no
/// signature of their own (protocol/binary.md, "Signed runs").
public struct SignedChange: Hashable, Sendable, Codable {
    /// The change.
    public var change: Change
    /// The Ed25519 signature (64 bytes), or `nil` for a change covered by a run signed on a later
    /// change, or not yet signed.
    public var signature: Data?
    /// How many of the author's changes, ending with this one, `signature` covers (1 = this one).
    public var run: Int

    /// Pairs a change with its signature (over `run` changes ending with this one).
    public init(change: Change, signature: Data?, run: Int = 1) {
        self.change = change
        self.signature = signature
        self.run = run
    }

    /// The sequence numbers the signature covers.
    /// (A change of sequence number 0, which no valid change has, covers only itself.)
    public var coveredSeqs: ClosedRange<UInt64> {
        guard change.dot.seq >= 1 else { return 0...0 }
        let first = change.dot.seq >= UInt64(max(run, 1)) ? change.dot.seq - UInt64(max(run, 1)) + 1 : 1
        return first...change.dot.seq
    }

    private enum CodingKeys: String, CodingKey { case change, sig, run }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        change = try c.decode(Change.self, forKey: .change)
        if let s = try c.decodeIfPresent(String.self, forKey: .sig) {
            guard let data = Data(base64Encoded: s), data.count == 64 else {
                throw DecodingError.refused(
                    .badSignature, "sig must be a base64 Ed25519 signature (64 bytes)",
                    at: c.codingPath + [CodingKeys.sig])
            }
            signature = data
        } else {
            signature = nil
        }
        run = try c.decodeIfPresent(Int.self, forKey: .run) ?? 1
        guard (1...1_000).contains(run) else {
            throw DecodingError.refused(
                .invalidRequest, "run must be between 1 and 1,000", at: c.codingPath + [CodingKeys.run])
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(change, forKey: .change)
        try c.encodeIfPresent(signature?.base64EncodedString(), forKey: .sig)
        if run != 1 { try c.encode(run, forKey: .run) }
    }

    /// Replaces the per-change signatures of `author`'s changes in `batch` by one signature per
    /// run of consecutive sequence numbers, made by `sign` over the run's changes in sequence
    /// order. Other authors' changes keep theirs. Order in the batch is kept.
    public static func sealingRuns(
        _ batch: [SignedChange], author: DeviceID, sign: ([Change]) -> Data
    ) -> [SignedChange] {
        let own = batch.indices.filter { batch[$0].change.dot.device == author }.sorted {
            batch[$0].change.dot.seq < batch[$1].change.dot.seq
        }
        guard own.count > 1 else { return batch }
        var result = batch
        var start = 0
        while start < own.count {
            var end = start
            while end + 1 < own.count, batch[own[end + 1]].change.dot.seq == batch[own[end]].change.dot.seq + 1 {
                end += 1
            }
            if end > start {
                let members = own[start...end].map { batch[$0].change }
                for i in own[start..<end] { result[i].signature = nil; result[i].run = 1 }
                result[own[end]].signature = sign(members)
                result[own[end]].run = members.count
            }
            start = end + 1
        }
        return result
    }
}
