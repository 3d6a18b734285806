/// Where a device stands in the server's directory. Stored and sent as its raw value.
public enum DeviceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// An enrollment token was issued; the device has not registered its key yet.
    case enrolling
    /// Registered: its token works and its changes are accepted.
    case active
    /// Revoked: its token and its changes are refused everywhere, and the id is never enrolled
    /// again (`docs/operations.md`, "Lost, stolen and revoked devices").
    case revoked

    /// A status read back from a store; anything unknown is taken as revoked (fail closed).
    public init(stored: String) { self = DeviceStatus(rawValue: stored) ?? .revoked }
}
