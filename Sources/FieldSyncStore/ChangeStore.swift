import FieldSyncCore
import Foundation

/// The capability of durably holding change logs and what they merge into: the seam between
/// the sync logic and a storage engine (SQLite now; PostgreSQL for scale-out).
///
/// Every implementation must give the same answers for the same changes: ingest is atomic per
/// batch and idempotent per dot, a reused dot with different content is refused, and the merged
/// state matches the in-memory `Replica` byte for byte.
public protocol ChangeStore: Sendable {
    /// Applies a batch atomically: all of it lands, or none of it and the error says why.
    func ingest(_ changes: [Change]) async throws(FieldSyncError) -> IngestResult
    /// Changes that arrived after `cursor`, optionally only one county's, in arrival order.
    func changes(after cursor: Int64, county: String?, limit: Int) async throws(FieldSyncError) -> ChangePage
    /// The highest sequence number held of a device's log (0 if none).
    func highestSeq(of device: DeviceID) async throws(FieldSyncError) -> UInt64
    /// One report as people see it.
    func report(_ id: ReportID) async throws(FieldSyncError) -> Report?
    /// Reports matching a filter, most recently updated first.
    func reports(_ filter: ReportFilter) async throws(FieldSyncError) -> [Report]
    /// Every change of one report, in arrival order.
    func history(of report: ReportID) async throws(FieldSyncError) -> [Change]
    /// Conflict records matching a filter.
    func conflicts(_ filter: ConflictFilter) async throws(FieldSyncError) -> [Conflict]
    /// The full merged state as canonical JSON (the same bytes as `Replica.canonicalState()`).
    func canonicalState() async throws(FieldSyncError) -> Data
}
