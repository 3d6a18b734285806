import FieldSyncCore
import FieldSyncSigning
import FieldSyncStore
import Foundation

extension SyncService {
    /// The most author certificates one sync answer carries (a page's distinct authors).
    static let maxCertificatesPerAnswer = 1_000

    /// A certificate for `device` of `county` with `key`, valid from now for the configured time.
    func certificate(of device: DeviceID, county: String, key: Data) throws(FieldSyncError) -> SignedCertificate {
        let at = now()
        return try signer().sign(
            DeviceCertificate(
                device: device, county: county, publicKey: key, issuedMillis: at,
                expiresMillis: at &+ configuration.certificateValidityMillis))
    }

    /// The caller's certificate, renewed (when `own`), then those of `authors` that are enrolled
    /// and active in the caller's county (the server's own, for its changes, as of that county).
    /// A revoked author gets none: its changes already held stay, but peers will not take them.
    func certificates(
        for device: DeviceRecord, own: Bool, authors: [DeviceID]
    ) async throws(FieldSyncError) -> [SignedCertificate] {
        var result: [SignedCertificate] = []
        if own, let key = device.publicKey {
            result.append(try certificate(of: device.id, county: device.county, key: key))
        }
        var seen: Set<DeviceID> = [device.id]
        for author in authors where seen.count <= Self.maxCertificatesPerAnswer {
            guard seen.insert(author).inserted else { continue }
            if author == serverID {
                result.append(try certificate(of: serverID, county: device.county, key: serverPublicKey))
            } else if let record = try await store.device(author), record.status == .active,
                record.county == device.county, let key = record.publicKey
            {
                result.append(try certificate(of: author, county: record.county, key: key))
            }
        }
        return result
    }
}
