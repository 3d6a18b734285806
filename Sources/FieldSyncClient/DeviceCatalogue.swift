public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncSigning
public import FieldSyncStore
import Foundation

/// The county's service catalogue as a device holds it: received with a sync, kept only when the
/// server's signature checks with the server's public key the device holds, used offline when an
/// officer files a report (`fieldsync report new --service`, `fieldsync services list`).
public enum DeviceCatalogue {
    static let key = "catalogue"

    /// The catalogue held, nil if none.
    public static func held(_ store: any DeviceStore) async throws(FieldSyncError) -> ServiceCatalogue? {
        guard let text = try await store.setting(key), let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(SignedCatalogue.self, from: data).catalogue
    }

    /// The version held (0: none).
    public static func version(_ store: any DeviceStore) async throws(FieldSyncError) -> Int {
        try await held(store)?.version ?? 0
    }

    /// Keeps a catalogue the server sent if its signature checks and it is newer than the one
    /// held; returns whether it was kept.
    @discardableResult
    public static func take(_ signed: SignedCatalogue, into store: any DeviceStore) async throws(FieldSyncError) -> Bool
    {
        guard let serverKey = try await store.setting("device.server_key").flatMap({ Data(base64Encoded: $0) }),
            let signature = Data(base64Encoded: signed.signature),
            CatalogueSignature.isValid(signed.catalogue, signature: signature, publicKey: serverKey),
            (signed.catalogue.version ?? 0) > (try await version(store))
        else { return false }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(signed) else { return false }
        try await store.setSettings([key: String(decoding: data, as: UTF8.self)])
        return true
    }
}
