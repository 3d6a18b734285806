public import FieldSyncCore
public import Foundation

/// What every FieldSync store holds, whoever uses it: change logs and what they merge into (the
/// reports and the conflict log), and the changes it refused. `DeviceStore` (a device's) and
/// `ServerStore` (the daemon's) refine it; an engine implements one or both.
///
/// Contract, whatever the engine: `ingest` is idempotent per dot, and a reused dot with different
/// content is refused with nothing stored changed; the merged state (`canonicalState`) is the
/// same bytes as `Replica.canonicalState()` over the same changes.
public protocol LogStore: Sendable {
    // MARK: Logs

    /// Applies a batch change by change: each change that can be applied is, each other one is
    /// refused with its own reason and quarantined (bounded), and changes that depend on a refused
    /// one are refused naming it; `atomic` refuses the whole batch at its first refusal instead.
    /// Signatures are checked by the caller, which passes what it refused as `preRefused`; `via`
    /// is the device that sent the batch.
    func ingest(
        signed changes: [SignedChange], preRefused: [Dot: FieldSyncError], atomic: Bool,
        via: DeviceID?
    ) async throws(FieldSyncError) -> IngestResult
    /// Writes a new change authored by the store's own identity (a device's edit, the server's
    /// resolution) and applies it; `signer` signs it.
    func write(
        _ ops: [ReportOperation], to report: ReportID, county: String, wallMillis: UInt64,
        signer: @Sendable (Change) -> Data?
    ) async throws(FieldSyncError) -> Change
    /// Makes the store's own authoring identity `id` (once).
    func setIdentity(_ id: DeviceID) async throws(FieldSyncError)
    /// The stored change with this dot.
    func storedChange(_ dot: Dot) async throws(FieldSyncError) -> Change?
    /// Changes that arrived after position `cursor`, optionally only one county's, in arrival order.
    func changes(after cursor: Int64, county: String?, limit: Int) async throws(FieldSyncError) -> ChangePage
    /// The highest sequence number held of a device's log (0 if none).
    func highestSeq(of device: DeviceID) async throws(FieldSyncError) -> UInt64
    /// For every device, the highest sequence number held.
    func logHeads() async throws(FieldSyncError) -> [DeviceID: UInt64]

    // MARK: Reading

    /// One report as people see it.
    func report(_ id: ReportID) async throws(FieldSyncError) -> Report?
    /// Reports matching a filter, most recently updated first.
    func reports(_ filter: ReportFilter) async throws(FieldSyncError) -> [Report]
    /// Every change of one report, in the order the store applied them.
    func history(of report: ReportID) async throws(FieldSyncError) -> [Change]
    /// Conflict records matching a filter, by id.
    func conflicts(_ filter: ConflictFilter) async throws(FieldSyncError) -> [Conflict]
    /// The merged state of one county (or of all) as canonical JSON.
    func canonicalState(county: String?) async throws(FieldSyncError) -> Data
    /// What the store holds, checked from the storage.
    func verification() async throws(FieldSyncError) -> StoreVerification
    /// Refused changes, newest first, optionally of one author's county or one sender (on a
    /// device: the changes it set aside).
    func refusals(_ filter: RefusalFilter) async throws(FieldSyncError) -> [Refusal]

    /// Writes anything held in memory and releases the storage. The store must not be used afterwards.
    func close() async
}

extension LogStore {
    /// The merged state of every county.
    public func canonicalState() async throws(FieldSyncError) -> Data { try await canonicalState(county: nil) }

    /// Applies a batch of signed changes atomically: all of it lands, or none of it and the error
    /// says why.
    public func ingest(signed changes: [SignedChange]) async throws(FieldSyncError) -> IngestResult {
        try await ingest(signed: changes, preRefused: [:], atomic: true, via: nil)
    }

    /// Applies a batch of unsigned changes atomically.
    public func ingest(_ changes: [Change]) async throws(FieldSyncError) -> IngestResult {
        try await ingest(signed: changes.map { SignedChange(change: $0, signature: nil) })
    }

    /// The newest `limit` refusals.
    public func refusals(limit: Int) async throws(FieldSyncError) -> [Refusal] {
        try await refusals(RefusalFilter(limit: limit))
    }
}
