import FieldSyncCore

/// How a device's syncs have gone, as the server saw them: recorded at its syncs (at most once
/// a minute unless the outcome changes), shown to the IT desk.
public struct DeviceHealth: Hashable, Sendable, Codable {
    /// When the device last synced successfully (ms since the epoch).
    public var lastSyncMillis: UInt64?
    /// The code of its last failed sync, if the last sync failed.
    public var lastError: String?
    /// When that failure happened.
    public var lastErrorMillis: UInt64?
    /// The client it last synced with (its `User-Agent`, at most 128 bytes).
    public var client: String?
    /// Changes the device still held for the server at its last recorded sync (as it said).
    public var pending: UInt64?
    /// Changes it sent that the server refused and still keeps in quarantine.
    public var refused: Int = 0

    /// Creates a record.
    public init(
        lastSyncMillis: UInt64? = nil, lastError: String? = nil, lastErrorMillis: UInt64? = nil, client: String? = nil,
        pending: UInt64? = nil, refused: Int = 0
    ) {
        self.lastSyncMillis = lastSyncMillis
        self.lastError = lastError
        self.lastErrorMillis = lastErrorMillis
        self.client = client
        self.pending = pending
        self.refused = refused
    }
}
