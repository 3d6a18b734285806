import FieldSyncCore
import FieldSyncSigning
import Foundation
import Testing

/// Change signatures (one change, and a run of a device's consecutive changes) and token hashes.
@Suite struct SignatureTests {
    static let device = DeviceID(rawValue: "tab-1")!

    static func change(seq: UInt64, status: String = "open") -> Change {
        Change(
            dot: Dot(device: device, seq: seq), report: ReportID(rawValue: "r-1")!, county: "kisumu",
            context: seq > 1 ? VersionVector([device: seq - 1]) : VersionVector(),
            hlc: HybridTimestamp(millis: 1_795_000_000_000 + seq, counter: 0),
            ops: seq == 1 ? [.create(county: "kisumu")] : [.set(field: .status, value: .string(status))], resolves: [:])
    }

    @Test func aSignedChangeVerifiesAndAnAlteredOneDoesNot() {
        let key = DeviceKey()
        let signed = key.signed(Self.change(seq: 2))
        #expect(ChangeSignature.isValid(signed, publicKey: key.publicKey))
        let altered = SignedChange(change: Self.change(seq: 2, status: "closed"), signature: signed.signature)
        #expect(!ChangeSignature.isValid(altered, publicKey: key.publicKey))
        #expect(!ChangeSignature.isValid(signed, publicKey: DeviceKey().publicKey))
        #expect(!ChangeSignature.isValid(SignedChange(change: signed.change, signature: nil), publicKey: key.publicKey))
    }

    @Test func theSigningInputIsTheCanonicalForm() {
        let c = Self.change(seq: 3)
        #expect(ChangeSignature.signingInput(c) == ChangeSignature.signingInput(c))
        #expect(ChangeSignature.signingInput(c) != ChangeSignature.signingInput(Self.change(seq: 3, status: "x")))
    }

    @Test func aRunSignatureCoversEveryChangeOfTheRun() {
        let key = DeviceKey()
        let run = (1...5).map { Self.change(seq: UInt64($0)) }
        let signature = key.signRun(run)
        #expect(ChangeSignature.isValidRun(run, signature: signature, publicKey: key.publicKey))
        var altered = run
        altered[2] = Self.change(seq: 3, status: "closed")
        #expect(!ChangeSignature.isValidRun(altered, signature: signature, publicKey: key.publicKey))
        #expect(!ChangeSignature.isValidRun(Array(run.dropLast()), signature: signature, publicKey: key.publicKey))
    }

    @Test func keysRoundTripAndBadKeysAreRefused() throws {
        let key = DeviceKey()
        #expect(try DeviceKey(rawRepresentation: key.rawRepresentation).publicKey == key.publicKey)
        #expect(throws: FieldSyncError.self) { try DeviceKey(rawRepresentation: Data(count: 5)) }
        #expect(ChangeSignature.isValidPublicKey(key.publicKey))
        #expect(!ChangeSignature.isValidPublicKey(Data(count: 31)))
    }

    @Test func tokensAreRandomAndStoredOnlyAsHashes() {
        let a = Tokens.generate(prefix: "fsd_")
        let b = Tokens.generate(prefix: "fsd_")
        #expect(a.hasPrefix("fsd_") && a != b)
        #expect(Tokens.hash(a) == Tokens.hash(a))
        #expect(Tokens.hash(a) != Tokens.hash(b))
        #expect(Tokens.hash(a).count == 32)
        #expect(!Tokens.hash(a).contains(Data(a.utf8).prefix(8)))
    }
}
