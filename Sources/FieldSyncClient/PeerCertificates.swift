public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
public import FieldSyncStore
public import Foundation

/// The certificates a device keeps: its own (renewed at every sync) and those of the authors of
/// the changes it holds, each checked with the server's key before it is kept. A device shows its
/// own to the peers it meets and forwards the authors' with their changes (`PeerMeeting`).
public enum PeerCertificates {
    /// The setting holding the server's public key (base64).
    public static let serverKeySetting = "device.server_key"

    /// The setting that holds `device`'s certificate (base64 of its bytes).
    public static func settingKey(_ device: DeviceID) -> String { "cert." + device.rawValue }

    /// The server's public key as the store holds it.
    public static func serverKey(_ store: any DeviceStore) async throws(FieldSyncError) -> Data? {
        try await store.setting(serverKeySetting).flatMap { Data(base64Encoded: $0) }.flatMap {
            $0.count == 32 ? $0 : nil
        }
    }

    /// Keeps each certificate that carries the server's signature (`serverKey`) and is newer than
    /// the one held for its device; returns how many were kept. The rest are ignored.
    @discardableResult
    public static func keep(
        _ certificates: [SignedCertificate], in store: any DeviceStore, serverKey: Data
    ) async throws(FieldSyncError) -> Int {
        var values: [String: String] = [:]
        for c in certificates where CertificateSignature.isValid(c, serverKey: serverKey) {
            let key = settingKey(c.certificate.device)
            var held = values[key].flatMap { try? SignedCertificate(base64: $0) }
            if held == nil { held = try await certificate(of: c.certificate.device, in: store) }
            if let held, held.certificate.issuedMillis >= c.certificate.issuedMillis { continue }
            values[key] = c.base64
        }
        if !values.isEmpty { try await store.setSettings(values) }
        return values.count
    }

    /// Keeps what a registration gives for peer meetings: the county, the server's key and
    /// author id, and the device's certificate (if it checks with that key).
    public static func keep(registration r: RegisterResponse, in store: any DeviceStore) async throws(FieldSyncError) {
        try await store.setSettings([
            serverKeySetting: r.serverPublicKey, "device.county": r.county, "device.server_id": r.serverDeviceID,
        ])
        if let own = r.certificate.flatMap({ try? SignedCertificate(base64: $0) }),
            let key = Data(base64Encoded: r.serverPublicKey)
        {
            try await keep([own], in: store, serverKey: key)
        }
    }

    /// Keeps the certificates of a sync answer (base64), when the store knows the server's key.
    static func keep(base64 certificates: [String]?, in store: any DeviceStore) async throws(FieldSyncError) {
        guard let certificates, !certificates.isEmpty, let key = try await serverKey(store) else { return }
        let decoded = certificates.prefix(1_001).compactMap { try? SignedCertificate(base64: $0) }
        try await keep(decoded, in: store, serverKey: key)
    }

    /// How old this device's certificate may grow before a sync asks for a new one (a day).
    public static let renewalAgeMillis: UInt64 = 24 * 3_600_000

    /// Whether this device holds no certificate of its own, or one issued over a day ago.
    public static func needsRenewal(_ store: any DeviceStore) async throws(FieldSyncError) -> Bool {
        guard let me = try await store.identity(), let own = try await certificate(of: me, in: store) else {
            return true
        }
        let now = WallClock.millis()
        return now >= own.certificate.issuedMillis &+ renewalAgeMillis
    }

    /// The setting holding when the store last looked for authors without certificates.
    static let missingCheckedKey = "cert.missing_checked_ms"

    /// Authors whose changes the store holds without their certificate (at most 1,000; this
    /// device excluded), looked for at most once a day: a sync asks the server for them.
    public static func missing(_ store: any DeviceStore) async throws(FieldSyncError) -> [DeviceID] {
        let now = WallClock.millis()
        if let at = try await store.setting(missingCheckedKey).flatMap(UInt64.init), now < at &+ renewalAgeMillis {
            return []
        }
        let me = try await store.identity()
        var missing: [DeviceID] = []
        for device in try await store.logExtents().keys.sorted() where device != me && missing.count < 1_000 {
            if try await certificate(of: device, in: store) == nil { missing.append(device) }
        }
        return missing
    }

    /// Notes that the store asked for its missing certificates now.
    static func checkedMissing(_ store: any DeviceStore) async throws(FieldSyncError) {
        try await store.setSettings([missingCheckedKey: String(WallClock.millis())])
    }

    /// The certificate held for `device`, if any.
    public static func certificate(
        of device: DeviceID, in store: any DeviceStore
    ) async throws(FieldSyncError) -> SignedCertificate? {
        try await store.setting(settingKey(device)).flatMap { try? SignedCertificate(base64: $0) }
    }
}
