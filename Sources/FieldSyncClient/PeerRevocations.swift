public import FieldSyncCore
import FieldSyncSigning
public import FieldSyncStore
public import Foundation

/// Revocations travel between devices that meet offline: each device keeps the newest list of
/// its county's revoked devices that the server signed (from its last sync), and two devices
/// that meet give each other the newer one — once its signature checks with the server's key —
/// so that both refuse to meet a revoked device and take none of its changes (`PeerMeeting`).
public enum PeerRevocations {
    /// The setting holding the revoked device ids, comma-separated.
    public static let listKey = "revoked"
    /// The setting holding when the server stated the list.
    public static let atKey = "revoked.at_ms"
    /// The setting holding the server's signature over the list (base64).
    public static let signatureKey = "revoked.sig"

    /// The signed list a store holds, if any.
    public static func load(
        _ store: any DeviceStore, county: String
    ) async throws(FieldSyncError) -> (Revocations, Data)? {
        guard let list = try await store.setting(listKey), let at = try await store.setting(atKey).flatMap(UInt64.init),
            let signature = try await store.setting(signatureKey).flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        let devices = list.split(separator: ",").compactMap { DeviceID(rawValue: String($0)) }
        return (Revocations(county: county, devices: devices, atMillis: at), signature)
    }

    /// Keeps a signed list (already checked) as the store's.
    public static func take(_ signed: (Revocations, Data), into store: any DeviceStore) async throws(FieldSyncError) {
        try await store.setSettings([
            listKey: signed.0.devices.map(\.rawValue).joined(separator: ","),
            atKey: String(signed.0.atMillis), signatureKey: signed.1.base64EncodedString(),
        ])
    }
}
