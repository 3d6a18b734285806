public import FieldSyncCore
import Foundation

/// What one ingested batch did.
public struct IngestResult: Hashable, Sendable, Codable {
    /// Changes applied now.
    public var applied = 0
    /// Changes already held (same dot, same content), ignored.
    public var duplicates = 0
    /// Fields that went into conflict.
    public var conflictsOpened = 0
    /// Resolution records written.
    public var conflictsResolved = 0
    /// The arrival position of the last change applied (0 if none).
    public var lastArrival: Int64 = 0
    /// The changes refused, each with its own reason, in the order they were refused.
    public var refusals: [RefusedChange] = []

    /// An empty result.
    public init() {}
}
