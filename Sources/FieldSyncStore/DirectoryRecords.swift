public import FieldSyncCore
public import Foundation

/// An enrolled device as the server's directory holds it.
public struct DeviceRecord: Hashable, Sendable, Codable {
    /// The device.
    public var id: DeviceID
    /// The county whose reports it may read and write.
    public var county: String
    /// Its Ed25519 public key (32 bytes), once registered.
    public var publicKey: Data?
    /// Where it stands: enrolling (token issued, key not registered yet), active or revoked.
    public var status: DeviceStatus

    /// Creates a record.
    public init(id: DeviceID, county: String, publicKey: Data?, status: DeviceStatus) {
        self.id = id
        self.county = county
        self.publicKey = publicKey
        self.status = status
    }
}

/// An operator or admin.
public struct OperatorRecord: Hashable, Sendable, Codable {
    /// Identifier.
    public var id: String
    /// Display name.
    public var name: String
    /// Operator or admin.
    public var role: OperatorRole
    /// Counties the operator may read and resolve in; `["*"]` for all.
    public var counties: [String]
    /// Whether the operator's token has been revoked.
    public var revoked: Bool
    /// When the token stops working (milliseconds since the epoch), if it expires.
    public var expiresMillis: UInt64?

    /// Creates a record.
    public init(
        id: String, name: String, role: OperatorRole, counties: [String], revoked: Bool, expiresMillis: UInt64? = nil
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.counties = counties
        self.revoked = revoked
        self.expiresMillis = expiresMillis
    }

    /// Whether the token has expired at `nowMillis`.
    public func expired(at nowMillis: UInt64) -> Bool { expiresMillis.map { nowMillis >= $0 } ?? false }

    /// Whether the operator may act in `county`.
    public func covers(_ county: String) -> Bool {
        role == .admin || counties.contains("*") || counties.contains(county)
    }
}
