public import Foundation

/// A county's revoked devices as the server states them at one moment: what a device refuses at
/// the door in peer sync. Signed by the server (`RevocationSignature`), so that a device can take
/// a newer list from a peer it meets offline.
public struct Revocations: Hashable, Sendable {
    /// The county.
    public var county: String
    /// The revoked devices, sorted.
    public var devices: [DeviceID]
    /// When the server stated it (milliseconds since the epoch): a newer list replaces an older.
    public var atMillis: UInt64

    /// A list (the devices are sorted).
    public init(county: String, devices: [DeviceID], atMillis: UInt64) {
        self.county = county
        self.devices = devices.sorted()
        self.atMillis = atMillis
    }

    /// The bytes the server signs: a domain, the county, the time and the devices, one per line.
    public var canonicalBytes: Data {
        Data(
            "fieldsync/revocations/v1\0\(county)\0\(atMillis)\0\(devices.map(\.rawValue).joined(separator: "\n"))".utf8)
    }
}
