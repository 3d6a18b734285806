public import Foundation

/// What the server vouches for about one enrolled device, so that two devices can check each
/// other with no server in reach: its id, its county, its public key and the time it holds for.
/// The server signs it (`CertificateSignature`) at enrollment and again at every sync; devices
/// show theirs to peers and forward those of the authors whose changes they carry.
public struct DeviceCertificate: Hashable, Sendable {
    /// The device.
    public var device: DeviceID
    /// The county it works in.
    public var county: String
    /// Its Ed25519 public key (32 bytes).
    public var publicKey: Data
    /// When the server issued it (milliseconds since the epoch).
    public var issuedMillis: UInt64
    /// When it stops vouching for the device as a peer (milliseconds since the epoch).
    public var expiresMillis: UInt64

    /// A certificate.
    public init(device: DeviceID, county: String, publicKey: Data, issuedMillis: UInt64, expiresMillis: UInt64) {
        self.device = device
        self.county = county
        self.publicKey = publicKey
        self.issuedMillis = issuedMillis
        self.expiresMillis = expiresMillis
    }

    /// Domain separation: a certificate's signature can never be confused with another signed message.
    public static let domain = Data("fieldsync/cert/v1\0".utf8)

    /// The certificate's binary form: device, county, key (strings and blob with varint
    /// lengths), then the two times as varints.
    public var encoded: [UInt8] {
        var w = BinaryWriter(capacity: 128)
        w.string(device.rawValue)
        w.string(county)
        w.blob(publicKey)
        w.varint(issuedMillis)
        w.varint(expiresMillis)
        return w.bytes
    }

    /// The bytes the server signs: the domain, then `encoded`.
    public var signingInput: Data { Self.domain + Data(encoded) }

    /// Whether it vouches for its device at `millis`.
    public func isValid(at millis: UInt64) -> Bool { issuedMillis <= millis &+ 300_000 && millis < expiresMillis }
}

/// A certificate with the server's signature over it: what travels (base64 in a sync answer, as
/// is in a peer meeting). Its bytes are the certificate's `encoded` form as a blob, then the
/// 64-byte signature as a blob.
public struct SignedCertificate: Hashable, Sendable {
    /// The certificate.
    public var certificate: DeviceCertificate
    /// The server's Ed25519 signature over `certificate.signingInput`.
    public var signature: Data

    /// Pairs a certificate with its signature.
    public init(certificate: DeviceCertificate, signature: Data) {
        self.certificate = certificate
        self.signature = signature
    }

    /// The most bytes a signed certificate may take.
    public static let maxBytes = 512

    /// Its bytes.
    public var bytes: [UInt8] {
        var w = BinaryWriter(capacity: 200)
        encode(into: &w)
        return w.bytes
    }

    /// Writes its bytes.
    public func encode(into w: inout BinaryWriter) {
        w.blob(certificate.encoded)
        w.blob(signature)
    }

    /// Reads one from untrusted bytes (`malformed` unless exactly one well-formed certificate).
    public init(bytes: some ContiguousBytes) throws(FieldSyncError) {
        let decoded: Result<SignedCertificate, FieldSyncError> = bytes.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(FieldSyncError) {
                let c = try SignedCertificate(from: &r)
                guard r.isAtEnd else { throw FieldSyncError(.malformed, "bytes follow the certificate") }
                return .success(c)
            } catch { return .failure(error) }
        }
        self = try decoded.get()
    }

    /// Reads one from a reader.
    public init(from r: inout BinaryReader) throws(FieldSyncError) {
        let body = try r.blob(maxBytes: Self.maxBytes - 72)
        let signature = try r.blob(maxBytes: 64)
        guard signature.count == 64 else {
            throw FieldSyncError(.certificateInvalid, "a certificate's signature is 64 bytes")
        }
        let certificate: Result<DeviceCertificate, FieldSyncError> = body.withUnsafeBytes { raw in
            var c = BinaryReader(raw)
            do throws(FieldSyncError) {
                let device = try DeviceID(validating: try c.string(maxBytes: 64))
                let county = try c.string(maxBytes: 64)
                let key = try c.blob(maxBytes: 32)
                guard key.count == 32 else {
                    throw FieldSyncError(.certificateInvalid, "a certificate's key is 32 bytes")
                }
                let issued = try c.varint()
                let expires = try c.varint()
                guard c.isAtEnd else { throw FieldSyncError(.malformed, "bytes follow the certificate's fields") }
                return .success(
                    DeviceCertificate(
                        device: device, county: county, publicKey: Data(key), issuedMillis: issued,
                        expiresMillis: expires))
            } catch { return .failure(error) }
        }
        self.init(certificate: try certificate.get(), signature: Data(signature))
    }

    /// Its bytes in base64, as a sync answer carries it.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// One from base64 (`certificate_invalid` when it is not).
    public init(base64: String) throws(FieldSyncError) {
        guard base64.utf8.count <= 4 * Self.maxBytes / 3 + 4, let data = Data(base64Encoded: base64) else {
            throw FieldSyncError(.certificateInvalid, "a certificate is base64 of at most \(Self.maxBytes) bytes")
        }
        try self.init(bytes: data)
    }
}
