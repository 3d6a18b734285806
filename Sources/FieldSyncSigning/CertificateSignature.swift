import Crypto
public import FieldSyncCore
public import Foundation

extension DeviceKey {
    /// Signs a device's certificate (the server's key).
    public func sign(_ certificate: DeviceCertificate) -> SignedCertificate {
        SignedCertificate(certificate: certificate, signature: signature(for: certificate.signingInput))
    }

    /// Signs `bytes` (already domain-separated by the caller).
    func signature(for bytes: Data) -> Data {
        // Signing with a valid key over in-memory bytes does not fail.
        (try? Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation).signature(for: bytes)) ?? Data()
    }

    /// This device's proof in a peer meeting (`PeerProof`).
    public func prove(_ proof: PeerProof) -> Data { signature(for: proof.signingInput) }
}

/// How a device checks a certificate the server signed.
public enum CertificateSignature {
    /// Whether `signed` carries the server's (`serverKey`) signature.
    public static func isValid(_ signed: SignedCertificate, serverKey: Data) -> Bool {
        guard signed.signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: serverKey)
        else { return false }
        return key.isValidSignature(signed.signature, for: signed.certificate.signingInput)
    }
}

/// What each side of a peer meeting signs to prove it holds the key its certificate names: the
/// challenge the other side sent, its own challenge, and both device ids, so that a proof is good
/// for this meeting, this direction and these two devices only.
public struct PeerProof: Hashable, Sendable {
    /// Domain separation.
    public static let domain = Data("fieldsync/peer-proof/v1\0".utf8)
    /// The device proving.
    public var prover: DeviceID
    /// The device it proves itself to.
    public var verifier: DeviceID
    /// The verifier's challenge (32 random bytes).
    public var verifierChallenge: Data
    /// The prover's own challenge.
    public var proverChallenge: Data

    /// A proof's statement.
    public init(prover: DeviceID, verifier: DeviceID, verifierChallenge: Data, proverChallenge: Data) {
        self.prover = prover
        self.verifier = verifier
        self.verifierChallenge = verifierChallenge
        self.proverChallenge = proverChallenge
    }

    /// The bytes signed: the domain, then both ids and both challenges with varint lengths.
    public var signingInput: Data {
        var w = BinaryWriter(capacity: 160)
        w.string(prover.rawValue)
        w.string(verifier.rawValue)
        w.blob(verifierChallenge)
        w.blob(proverChallenge)
        return Self.domain + Data(w.bytes)
    }

    /// Whether `signature` proves this statement by the holder of `publicKey`.
    public func isValid(_ signature: Data, publicKey: Data) -> Bool {
        guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            return false
        }
        return key.isValidSignature(signature, for: signingInput)
    }
}
