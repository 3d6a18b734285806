import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import Foundation
import Testing

/// `protocol/vectors/peer/v1.json`: the peer protocol's bytes, for another implementation to check
/// itself against. Every message decodes to what the file says and encodes back to the same
/// bytes; every signature in it checks; every malformed frame is refused with its code.
/// `FIELDSYNC_WRITE_VECTORS=1 swift test --filter PeerVectorTests` writes the file again.
@Suite struct PeerVectorTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol/vectors/peer/v1.json")

    struct Vectors: Codable {
        var description: String
        var serverKey: Key
        var deviceKey: Key
        var peerKey: Key
        var certificate: Certificate
        var proof: Proof
        var messages: [Message]
        var malformed: [Malformed]

        enum CodingKeys: String, CodingKey {
            case description, certificate, proof, messages, malformed
            case serverKey = "server_key"
            case deviceKey = "device_key"
            case peerKey = "peer_key"
        }
    }

    struct Key: Codable {
        var privateKey: String
        var publicKey: String
        enum CodingKeys: String, CodingKey {
            case privateKey = "private_hex"
            case publicKey = "public_hex"
        }
    }

    struct Certificate: Codable {
        var device: String
        var county: String
        var issuedMillis: UInt64
        var expiresMillis: UInt64
        var encoded: String
        var signingInput: String
        var signed: String
        enum CodingKeys: String, CodingKey {
            case device, county, encoded, signed
            case issuedMillis = "issued_ms"
            case expiresMillis = "expires_ms"
            case signingInput = "signing_input_hex"
        }
    }

    struct Proof: Codable {
        var prover: String
        var verifier: String
        var verifierChallenge: String
        var proverChallenge: String
        var signingInput: String
        var signature: String
        enum CodingKeys: String, CodingKey {
            case prover, verifier, signature
            case verifierChallenge = "verifier_challenge_hex"
            case proverChallenge = "prover_challenge_hex"
            case signingInput = "signing_input_hex"
        }
    }

    struct Message: Codable {
        var name: String
        var note: String
        var hex: String
    }

    struct Malformed: Codable {
        var note: String
        var hex: String
        var code: String
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// The vectors as this implementation makes them (signatures from fixed keys).
    static func make() throws -> Vectors {
        let server = try DeviceKey(rawRepresentation: Data(repeating: 1, count: 32))
        let device = try DeviceKey(rawRepresentation: Data(repeating: 2, count: 32))
        let peer = try DeviceKey(rawRepresentation: Data(repeating: 3, count: 32))
        let certificate = DeviceCertificate(
            device: DeviceID(rawValue: "tab-a")!, county: "kisumu", publicKey: device.publicKey,
            issuedMillis: 1_790_000_000_000, expiresMillis: 1_792_592_000_000)
        let signed = server.sign(certificate)
        let peerCertificate = server.sign(
            DeviceCertificate(
                device: DeviceID(rawValue: "tab-b")!, county: "kisumu", publicKey: peer.publicKey,
                issuedMillis: 1_790_000_000_000, expiresMillis: 1_792_592_000_000))
        let challengeA = Data(repeating: 0xA1, count: 32), challengeB = Data(repeating: 0xB2, count: 32)
        let statement = PeerProof(
            prover: certificate.device, verifier: DeviceID(rawValue: "tab-b")!, verifierChallenge: challengeB,
            proverChallenge: challengeA)
        let proof = device.prove(statement)
        let change = Change(
            dot: Dot(device: certificate.device, seq: 1), report: ReportID(rawValue: "pot-1")!, county: "kisumu",
            context: VersionVector(), hlc: HybridTimestamp(millis: 1_790_000_100_000),
            ops: [.create(county: "kisumu"), .set(field: .status, value: "open")])
        let revocations = Revocations(
            county: "kisumu", devices: [DeviceID(rawValue: "tab-lost")!], atMillis: 1_790_000_050_000)
        let messages: [(String, String, PeerMessage)] = [
            (
                "hello", "version 1, tab-a's certificate, a challenge, the signed revocations it holds",
                .hello(
                    PeerHello(
                        certificate: signed, challenge: challengeA,
                        revocations: (revocations, server.sign(revocations))))
            ),
            ("hello", "without revocations", .hello(PeerHello(certificate: peerCertificate, challenge: challengeB))),
            ("proof", "tab-a's signature over the proof statement below", .proof(proof)),
            (
                "summary", "the last part: tab-a holds 1–7 but 3 and 5; tab-b holds 1–2",
                .summary(
                    [
                        PeerLogSummary(device: certificate.device, head: 7, missing: [3, 5]),
                        PeerLogSummary(device: DeviceID(rawValue: "tab-b")!, head: 2),
                    ], last: true)
            ),
            ("certificates", "one author's certificate", .certificates([peerCertificate])),
            (
                "changes", "a plain batch (flag 0) of one change with its signature and run 1",
                .changes([device.signed(change)])
            ),
            ("done", "41 changes sent", .done(count: 41)),
            (
                "media_offer", "one photo offered",
                .mediaOffer([
                    PeerMediaOffer(sha256: Data(repeating: 0xCD, count: 32), size: 300_000, contentType: "image/jpeg")
                ])
            ),
            ("media_want", "that photo wanted", .mediaWant([Data(repeating: 0xCD, count: 32)])),
            (
                "media_piece", "its last piece, 4 bytes at offset 262144",
                .mediaPiece(sha256: Data(repeating: 0xCD, count: 32), offset: 262_144, bytes: [1, 2, 3, 4], last: true)
            ),
            ("media_done", "", .mediaDone),
            ("bye", "26 changes taken", .bye(applied: 26)),
            ("refuse", "the meeting refused", .refuse(FieldSyncError(.wrongCounty, "the peer is of another county"))),
        ]
        return Vectors(
            description:
                "FieldSync peer protocol v1 vectors (protocol/peer.md). Keys are Ed25519 from the 32-byte private keys given; every hex is a frame's payload (without its 4-byte length).",
            serverKey: Key(privateKey: hex(server.rawRepresentation), publicKey: hex(server.publicKey)),
            deviceKey: Key(privateKey: hex(device.rawRepresentation), publicKey: hex(device.publicKey)),
            peerKey: Key(privateKey: hex(peer.rawRepresentation), publicKey: hex(peer.publicKey)),
            certificate: Certificate(
                device: "tab-a", county: "kisumu", issuedMillis: certificate.issuedMillis,
                expiresMillis: certificate.expiresMillis, encoded: hex(certificate.encoded),
                signingInput: hex(certificate.signingInput), signed: hex(signed.bytes)),
            proof: Proof(
                prover: "tab-a", verifier: "tab-b", verifierChallenge: hex(challengeB),
                proverChallenge: hex(challengeA),
                signingInput: hex(statement.signingInput), signature: hex(proof)),
            messages: messages.map { Message(name: $0.0, note: $0.1, hex: hex($0.2.encoded)) },
            malformed: [
                Malformed(note: "an unknown message type", hex: "7f", code: "malformed"),
                Malformed(note: "a proof cut short", hex: "0240aabb", code: "malformed"),
                Malformed(
                    note: "a summary naming a missing sequence number at or above its log's head",
                    hex: "03010105" + "7461622d61" + "0300" + "0103", code: "invalid_sequence"),
                Malformed(note: "a batch with an unknown encoding flag", hex: "050200", code: "unsupported_encoding"),
                Malformed(note: "bytes after a message", hex: "060500", code: "malformed"),
                Malformed(
                    note: "a device id outside 1–64 of A–Z a–z 0–9 - _ .", hex: "03010103" + "612f62" + "0100" + "00",
                    code: "invalid_identifier"),
            ])
    }

    @Test func vectorsMatchThisImplementation() throws {
        let made = try Self.make()
        if ProcessInfo.processInfo.environment["FIELDSYNC_WRITE_VECTORS"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try (encoder.encode(made) + Data("\n".utf8)).write(to: Self.file)
        }
        let v = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: Self.file))
        let serverKey = Data(Self.bytes(v.serverKey.publicKey))
        let signed = try SignedCertificate(bytes: Self.bytes(v.certificate.signed))
        #expect(CertificateSignature.isValid(signed, serverKey: serverKey))
        #expect(Self.hex(signed.certificate.encoded) == v.certificate.encoded)
        #expect(Self.hex(signed.certificate.signingInput) == v.certificate.signingInput)
        #expect(
            signed.certificate.device.rawValue == v.certificate.device
                && signed.certificate.county == v.certificate.county)
        let statement = PeerProof(
            prover: DeviceID(rawValue: v.proof.prover)!, verifier: DeviceID(rawValue: v.proof.verifier)!,
            verifierChallenge: Data(Self.bytes(v.proof.verifierChallenge)),
            proverChallenge: Data(Self.bytes(v.proof.proverChallenge)))
        #expect(Self.hex(statement.signingInput) == v.proof.signingInput)
        #expect(
            statement.isValid(Data(Self.bytes(v.proof.signature)), publicKey: Data(Self.bytes(v.deviceKey.publicKey))))
        #expect(v.messages.map(\.name) == made.messages.map(\.name))
        for m in v.messages {
            let decoded = try PeerMessage(decoding: Self.bytes(m.hex))
            #expect(decoded.name == m.name)
            #expect(Self.hex(decoded.encoded) == m.hex, "\(m.name): \(m.note)")
        }
        for bad in v.malformed {
            #expect(throws: FieldSyncError.self, "\(bad.note)") { try PeerMessage(decoding: Self.bytes(bad.hex)) }
            do {
                _ = try PeerMessage(decoding: Self.bytes(bad.hex))
            } catch {
                #expect(error.code.rawValue == bad.code, "\(bad.note): \(error)")
            }
        }
    }

    @Test func aCompressedBatchDecodesToTheSameChanges() throws {
        let key = try DeviceKey(rawRepresentation: Data(repeating: 2, count: 32))
        let changes = (1...40).map { i in
            key.signed(
                Change(
                    dot: Dot(device: DeviceID(rawValue: "tab-a")!, seq: UInt64(i)),
                    report: ReportID(rawValue: "r-\(i)")!,
                    county: "kisumu", context: VersionVector(),
                    hlc: HybridTimestamp(millis: 1_790_000_000_000 + UInt64(i)),
                    ops: [.create(county: "kisumu"), .set(field: .status, value: "open")]))
        }
        let bytes = PeerMessage.changes(changes).encoded
        #expect(bytes[1] == 1, "a batch over 256 bytes is deflated")
        #expect(try PeerMessage(decoding: bytes) == .changes(changes))
    }
}
