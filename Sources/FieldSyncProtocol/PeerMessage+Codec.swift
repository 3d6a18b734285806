public import FieldSyncCore
import Foundation

extension PeerMessage {
    /// The message's bytes: its type, then its body (`protocol/peer.md`, "Messages").
    public var encoded: [UInt8] {
        var w = BinaryWriter(capacity: 256)
        switch self {
        case .hello(let h):
            w.byte(Kind.hello.rawValue)
            w.varint(h.version)
            h.certificate.encode(into: &w)
            w.blob(h.challenge)
            if let (list, signature) = h.revocations {
                w.byte(1)
                w.string(list.county)
                w.varint(list.atMillis)
                w.varint(UInt64(list.devices.count))
                for d in list.devices { w.string(d.rawValue) }
                w.blob(signature)
            } else {
                w.byte(0)
            }
        case .proof(let signature):
            w.byte(Kind.proof.rawValue)
            w.blob(signature)
        case .summary(let logs, let last):
            w.byte(Kind.summary.rawValue)
            w.byte(last ? 1 : 0)
            w.varint(UInt64(logs.count))
            for log in logs { Self.encode(log, into: &w) }
        case .certificates(let certificates):
            w.byte(Kind.certificates.rawValue)
            w.varint(UInt64(certificates.count))
            for c in certificates { c.encode(into: &w) }
        case .changes(let changes):
            w.byte(Kind.changes.rawValue)
            Self.encodeBatch(changes, into: &w)
        case .done(let count):
            w.byte(Kind.done.rawValue)
            w.varint(count)
        case .bye(let applied):
            w.byte(Kind.bye.rawValue)
            w.varint(applied)
        case .refuse(let error):
            w.byte(Kind.refuse.rawValue)
            w.string(error.code.rawValue)
            w.string(String(error.message.prefix(1_000)))
        case .mediaOffer(let offers):
            w.byte(Kind.mediaOffer.rawValue)
            w.varint(UInt64(offers.count))
            for o in offers {
                w.blob(o.sha256)
                w.varint(o.size)
                w.string(o.contentType)
            }
        case .mediaWant(let hashes):
            w.byte(Kind.mediaWant.rawValue)
            w.varint(UInt64(hashes.count))
            for h in hashes { w.blob(h) }
        case .mediaPiece(let sha256, let offset, let bytes, let last):
            w.byte(Kind.mediaPiece.rawValue)
            w.blob(sha256)
            w.varint(offset)
            w.blob(bytes)
            w.byte(last ? 1 : 0)
        case .mediaDone:
            w.byte(Kind.mediaDone.rawValue)
        }
        return w.bytes
    }

    private static func encode(_ log: PeerLogSummary, into w: inout BinaryWriter) {
        w.string(log.device.rawValue)
        w.varint(log.head)
        w.byte(log.moreMissing ? 1 : 0)
        w.varint(UInt64(log.missing.count))
        for m in log.missing { w.varint(m) }
    }

    /// A batch: a flag (0: plain, 1: deflate), then the changes' bytes as a blob — a count, then
    /// each change's binary form as a blob, its signature as a blob (empty: none) and its run.
    private static func encodeBatch(_ changes: [SignedChange], into w: inout BinaryWriter) {
        var inner = BinaryWriter(capacity: 160 * changes.count + 8)
        inner.varint(UInt64(changes.count))
        for s in changes {
            inner.blob(ChangeCodec.encode(s.change))
            inner.blob(s.signature ?? Data())
            inner.varint(UInt64(max(s.run, 1)))
        }
        if inner.bytes.count > 256 {
            w.byte(1)
            w.blob(BodyCompression.deflate.compress(Data(inner.bytes)))
        } else {
            w.byte(0)
            w.blob(inner.bytes)
        }
    }

    /// Reads a message from a frame's untrusted bytes: `malformed` (or the code of the value
    /// refused) when it is not exactly one well-formed message within the limits.
    public init(decoding bytes: [UInt8]) throws(FieldSyncError) {
        let result: Result<PeerMessage, FieldSyncError> = bytes.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(FieldSyncError) {
                let m = try Self.decode(&r)
                guard r.isAtEnd else { throw FieldSyncError(.malformed, "\(r.remaining) bytes follow the message") }
                return .success(m)
            } catch { return .failure(error) }
        }
        self = try result.get()
    }

    private static func decode(_ r: inout BinaryReader) throws(FieldSyncError) -> PeerMessage {
        let type = try r.byte()
        switch Kind(rawValue: type) {
        case .hello: return .hello(try decodeHello(&r))
        case .proof: return .proof(Data(try r.blob(maxBytes: 64)))
        case .summary:
            let last = try flag(&r)
            let n = try r.count(max: maxSummaryEntries, of: "summary entry")
            var logs: [PeerLogSummary] = []
            logs.reserveCapacity(n)
            for _ in 0..<n { logs.append(try decodeLog(&r)) }
            return .summary(logs, last: last)
        case .certificates:
            let n = try r.count(max: maxCertificates, of: "certificate")
            var certificates: [SignedCertificate] = []
            for _ in 0..<n { certificates.append(try SignedCertificate(from: &r)) }
            return .certificates(certificates)
        case .changes: return .changes(try decodeBatch(&r))
        case .done: return .done(count: try r.varint())
        case .bye: return .bye(applied: try r.varint())
        case .refuse:
            let code = try r.string(maxBytes: 64)
            let message = try r.string(maxBytes: 4_000)
            return .refuse(FieldSyncError(FieldSyncError.Code(rawValue: code) ?? .internalError, message))
        case .mediaOffer:
            let n = try r.count(max: maxMedia, of: "offered photo")
            var offers: [PeerMediaOffer] = []
            for _ in 0..<n {
                let sha = try sha256(&r)
                let size = try r.varint()
                offers.append(PeerMediaOffer(sha256: sha, size: size, contentType: try r.string(maxBytes: 100)))
            }
            return .mediaOffer(offers)
        case .mediaWant:
            let n = try r.count(max: maxMedia, of: "wanted photo")
            var hashes: [Data] = []
            for _ in 0..<n { hashes.append(try sha256(&r)) }
            return .mediaWant(hashes)
        case .mediaPiece:
            let sha = try sha256(&r)
            let offset = try r.varint()
            let bytes = try r.blob(maxBytes: maxPieceBytes)
            return .mediaPiece(sha256: sha, offset: offset, bytes: bytes, last: try flag(&r))
        case .mediaDone: return .mediaDone
        case nil: throw FieldSyncError(.malformed, "unknown peer message type \(type)")
        }
    }

    /// A flag byte: 0 or 1, anything else is malformed.
    private static func flag(_ r: inout BinaryReader) throws(FieldSyncError) -> Bool {
        let b = try r.byte()
        guard b <= 1 else { throw FieldSyncError(.malformed, "a flag byte is 0 or 1, not \(b)") }
        return b == 1
    }

    private static func sha256(_ r: inout BinaryReader) throws(FieldSyncError) -> Data {
        let sha = try r.blob(maxBytes: 32)
        guard sha.count == 32 else { throw FieldSyncError(.malformed, "a photo's SHA-256 is 32 bytes") }
        return Data(sha)
    }

    private static func decodeHello(_ r: inout BinaryReader) throws(FieldSyncError) -> PeerHello {
        let version = try r.varint()
        let certificate = try SignedCertificate(from: &r)
        let challenge = Data(try r.blob(maxBytes: 64))
        guard challenge.count == 32 else { throw FieldSyncError(.malformed, "a hello's challenge is 32 bytes") }
        var revocations: (Revocations, Data)?
        if try flag(&r) {
            let county = try r.string(maxBytes: 64)
            let at = try r.varint()
            let n = try r.count(max: maxRevoked, of: "revoked device")
            var devices: [DeviceID] = []
            devices.reserveCapacity(n)
            for _ in 0..<n { devices.append(try DeviceID(validating: try r.string(maxBytes: 64))) }
            let signature = Data(try r.blob(maxBytes: 64))
            revocations = (Revocations(county: county, devices: devices, atMillis: at), signature)
        }
        return PeerHello(version: version, certificate: certificate, challenge: challenge, revocations: revocations)
    }

    private static func decodeLog(_ r: inout BinaryReader) throws(FieldSyncError) -> PeerLogSummary {
        let device = try DeviceID(validating: try r.string(maxBytes: 64))
        let head = try r.varint()
        let more = try flag(&r)
        let n = try r.count(max: maxMissingListed, of: "missing sequence number")
        var missing: [UInt64] = []
        for _ in 0..<n {
            let m = try r.varint()
            guard m >= 1, m < head else {
                throw FieldSyncError(.invalidSequence, "a missing sequence number is between 1 and the log's head")
            }
            missing.append(m)
        }
        return PeerLogSummary(device: device, head: head, missing: missing, moreMissing: more)
    }

    private static func decodeBatch(_ r: inout BinaryReader) throws(FieldSyncError) -> [SignedChange] {
        let compressed = try r.byte()
        guard compressed <= 1 else { throw FieldSyncError(.unsupportedEncoding, "a batch is plain (0) or deflate (1)") }
        var bytes = try r.blob(maxBytes: maxBatchBytes)
        if compressed == 1 {
            bytes = [UInt8](try BodyCompression.deflate.decompress(Data(bytes), maxBytes: maxBatchBytes))
        }
        let result: Result<[SignedChange], FieldSyncError> = bytes.withUnsafeBytes { raw in
            var b = BinaryReader(raw)
            do throws(FieldSyncError) {
                let n = try b.count(max: maxBatchChanges, of: "change")
                var changes: [SignedChange] = []
                changes.reserveCapacity(n)
                for _ in 0..<n {
                    let change = try ChangeCodec.decode(try b.blob(maxBytes: maxBatchBytes))
                    let signature = try b.blob(maxBytes: 64)
                    let run = try b.varint()
                    guard (1...1_000).contains(run), signature.isEmpty || signature.count == 64 else {
                        throw FieldSyncError(
                            .badSignature, "change \(change.dot): a signature is 64 bytes, a run 1–1,000")
                    }
                    changes.append(
                        SignedChange(
                            change: change, signature: signature.isEmpty ? nil : Data(signature), run: Int(run)))
                }
                guard b.isAtEnd else { throw FieldSyncError(.malformed, "bytes follow a batch's changes") }
                return .success(changes)
            } catch { return .failure(error) }
        }
        return try result.get()
    }
}
