public import FieldSyncCore
public import Foundation

/// What a device needs of its storage: its own log and the changes it received, the merged
/// reports and conflict log, the changes it set aside, sync cursors and small settings. The seam
/// between the device side (`DeviceSync`, `PeerMeeting`, the fleet simulator, the `fieldsync`
/// CLI) and a storage engine: `SQLiteStore` opened with `role: .device` implements it on a file
/// that holds only device tables (an iOS app could back it with another engine).
///
/// Contract, whatever the engine: ingest is atomic per batch (or per change, `atomic: false`) and
/// idempotent per dot; the merged state (`canonicalState`) is the same bytes as
/// `Replica.canonicalState()` over the same changes; `rewrite` is the only operation that
/// removes a change, and it does so in one transaction.
public protocol DeviceStore: LogStore {
    // MARK: Identity and settings

    /// The device this store belongs to, once set (`setIdentity`).
    func identity() async throws(FieldSyncError) -> DeviceID?
    /// A setting's value (credentials, server positions, sync outcomes).
    func setting(_ key: String) async throws(FieldSyncError) -> String?
    /// Sets several settings in one transaction (all or none).
    func setSettings(_ values: [String: String]) async throws(FieldSyncError)
    /// How far this store has pulled from `peer` (0 if never).
    func cursor(for peer: String) async throws(FieldSyncError) -> Int64
    /// Records how far this store has pulled from `peer`.
    func setCursor(_ position: Int64, for peer: String) async throws(FieldSyncError)

    // MARK: Logs

    /// One device's changes after `seq`, in sequence order.
    func log(of device: DeviceID, after seq: UInt64, limit: Int) async throws(FieldSyncError) -> [Change]
    /// One device's changes after `seq`, in sequence order, with their signatures as stored.
    func signedLog(of device: DeviceID, after seq: UInt64, limit: Int) async throws(FieldSyncError) -> [SignedChange]
    /// For every log held, how much of it (a peer meeting's summary).
    func logExtents() async throws(FieldSyncError) -> [DeviceID: LogExtent]
    /// The sequence numbers up to `through` of `device`'s log that are not held, ascending, at
    /// most `limit`.
    func missingSeqs(of device: DeviceID, through: UInt64, limit: Int) async throws(FieldSyncError) -> [UInt64]
    /// This device's own changes from `seq` on, in sequence order, with their signatures.
    func ownLog(from seq: UInt64) async throws(FieldSyncError) -> [SignedChange]
    /// Writes what is held in memory (report heads) to the store.
    func flush() async throws(FieldSyncError)

    // MARK: Changes set aside and log rewrites

    /// Sets changes aside with the verdicts `sender` gave: never pushed again, listed by `refusals`.
    func setAside(_ verdicts: [RefusedChange], by sender: String) async throws(FieldSyncError)
    /// The changes set aside, by dot, with the body each was set aside with (empty when unknown).
    func setAsideBodies() async throws(FieldSyncError) -> [Dot: Data]
    /// The number of changes set aside.
    func setAsideCount() async throws(FieldSyncError) -> Int
    /// Every held change that depends on one of `dots`, with the one of `dots` it depends on.
    func dependents(of dots: Set<Dot>) async throws(FieldSyncError) -> [(Change, Dot)]
    /// Removes `removing` and what depends on it, inserts `adding`, and rebuilds the merged state,
    /// in one transaction.
    @discardableResult
    func rewrite(removing: Set<Dot>, adding: [SignedChange]) async throws(FieldSyncError) -> LogRewrite
}

extension DeviceStore {
    /// Writes a new unsigned change as this store's own device.
    public func write(
        _ ops: [ReportOperation], to report: ReportID, county: String, wallMillis: UInt64
    ) async throws(FieldSyncError) -> Change {
        try await write(ops, to: report, county: county, wallMillis: wallMillis, signer: { _ in nil })
    }

    /// Sets changes aside with the server's verdicts.
    public func setAside(_ verdicts: [RefusedChange]) async throws(FieldSyncError) {
        try await setAside(verdicts, by: "server")
    }

    /// One device's changes after `seq` (at most 1,000).
    public func log(of device: DeviceID, after seq: UInt64 = 0) async throws(FieldSyncError) -> [Change] {
        try await log(of: device, after: seq, limit: 1_000)
    }
}
