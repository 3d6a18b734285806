import Crypto
public import FieldSyncCore
public import Foundation

/// A device's (or the server's) Ed25519 signing key. The private half never leaves the device;
/// the public half is registered at enrollment.
public struct DeviceKey: Sendable {
    /// The 32-byte raw private key, for storing on the device.
    public let rawRepresentation: Data
    /// The 32-byte public key.
    public let publicKey: Data

    private var key: Curve25519.Signing.PrivateKey {
        // Checked valid at init.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    /// A new random key.
    public init() {
        let key = Curve25519.Signing.PrivateKey()
        rawRepresentation = key.rawRepresentation
        publicKey = key.publicKey.rawRepresentation
    }

    /// A key from its 32-byte raw form.
    public init(rawRepresentation: Data) throws(FieldSyncError) {
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
            self.rawRepresentation = key.rawRepresentation
            publicKey = key.publicKey.rawRepresentation
        } catch {
            throw FieldSyncError(.invalidRequest, "a signing key must be 32 bytes")
        }
    }

    /// Signs a change's canonical form.
    public func sign(_ change: Change) -> Data {
        // Signing with a valid key over in-memory bytes does not fail.
        (try? key.signature(for: ChangeSignature.signingInput(change))) ?? Data()
    }

    /// The change with its signature.
    public func signed(_ change: Change) -> SignedChange {
        SignedChange(change: change, signature: sign(change))
    }

    /// Signs a county's revocations (the server's key).
    public func sign(_ revocations: Revocations) -> Data {
        (try? key.signature(for: revocations.canonicalBytes)) ?? Data()
    }

    /// Signs a county's service catalogue (the server's key).
    public func sign(_ catalogue: ServiceCatalogue) -> Data {
        (try? key.signature(for: CatalogueRules.signingInput(catalogue))) ?? Data()
    }

    /// Signs a run of this device's consecutive changes, given in sequence order, at once.
    public func signRun(_ changes: [Change]) -> Data {
        (try? key.signature(for: ChangeSignature.runSigningInput(changes))) ?? Data()
    }
}

/// How a device checks the server's signature on a county's revocations.
public enum RevocationSignature {
    /// Whether `signature` is the server's (`publicKey`) over `revocations`.
    public static func isValid(_ revocations: Revocations, signature: Data, publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: revocations.canonicalBytes)
    }
}

/// How a device checks the server's signature on its county's service catalogue.
public enum CatalogueSignature {
    /// Whether `signature` is the server's (`publicKey`) over `catalogue`.
    public static func isValid(_ catalogue: ServiceCatalogue, signature: Data, publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: CatalogueRules.signingInput(catalogue))
    }
}

/// What a change's signature covers and how it is checked.
public enum ChangeSignature {
    /// Domain separation: a change signature can never be confused with another signed message.
    public static let domain = Data("fieldsync/change/v1\0".utf8)

    /// The bytes an author signs: the domain, then the change's canonical binary form.
    public static func signingInput(_ change: Change) -> Data {
        domain + ChangeCodec.encodeData(change)
    }

    /// Whether `signed` carries a valid signature by the holder of `publicKey`.
    public static func isValid(_ signed: SignedChange, publicKey: Data) -> Bool {
        guard let signature = signed.signature, signature.count == 64,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return false }
        return key.isValidSignature(signature, for: signingInput(signed.change))
    }

    /// Domain separation for a signed run of changes.
    public static let runDomain = Data("fieldsync/run/v1\0".utf8)

    /// The bytes an author signs for a run: the run domain, then each change's canonical binary
    /// form with its length as a varint, in sequence order.
    public static func runSigningInput(_ changes: [Change]) -> Data {
        var w = BinaryWriter(capacity: 96 * changes.count + 32)
        for c in changes { w.blob(ChangeCodec.encode(c)) }
        return runDomain + Data(w.bytes)
    }

    /// Whether `signature` is a valid signature of the run `changes` (in sequence order) by the
    /// holder of `publicKey`.
    public static func isValidRun(_ changes: [Change], signature: Data, publicKey: Data) -> Bool {
        guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            return false
        }
        return key.isValidSignature(signature, for: runSigningInput(changes))
    }

    /// Whether `publicKey` is a well-formed Ed25519 public key.
    public static func isValidPublicKey(_ publicKey: Data) -> Bool {
        (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil
    }
}

/// Bearer and enrollment tokens: random, shown once, stored only as SHA-256 hashes.
public enum Tokens {
    /// A new token: a prefix naming its kind, then 32 random bytes in base64url.
    public static func generate(prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=", with: "")
        return "\(prefix)_\(b64)"
    }

    /// The hash under which a token is stored and looked up.
    public static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
