public import FieldSyncCore
public import Foundation

/// The capability the daemon needs of its storage: every device's log with a pull order, the
/// merged reports and conflict log, and the directory of devices, enrollments and operators.
/// `SQLiteStore` (one file, one daemon) and `PostgresStore` (one database, several daemons)
/// implement it; `Tests/FieldSyncStoreTests/ServerStoreConformanceTests.swift` runs the same
/// behaviour tests against both.
///
/// Contract, whatever the engine:
/// - `ingest` is atomic per batch and idempotent per dot; a reused dot with different content is
///   refused and nothing stored changes.
/// - Device logs are held as dense prefixes `1...n` (a gap is refused).
/// - `changes(after:…)` follows the *pull order*: positions only grow, every committed change
///   gets exactly one, and a reader that has seen position `p` will never later find a change at
///   a position `≤ p` it has not seen — even with several writers committing at once. Within a
///   report, the pull order follows causality (a change comes after every change it saw).
/// - The merged state (`canonicalState`) is the same bytes as `Replica.canonicalState()` over
///   the same changes.
public protocol ServerStore: LogStore {
    /// Crashes injected on purpose (fault-injection runs only).
    var faults: FaultInjector? { get }

    // MARK: Logs

    /// The highest sequence number held of each of these logs (0 for one not held).
    func highestSeqs(of devices: [DeviceID]) async throws(FieldSyncError) -> [DeviceID: UInt64]
    /// The number of changes held.
    func changeCount() async throws(FieldSyncError) -> Int
    /// Changes after pull position `cursor`, optionally of one county and leaving out one
    /// device's own; the page's cursor moves past everything it covers.
    func changes(
        after cursor: Int64, county: String?, excludingDevice: DeviceID?, limit: Int
    ) async throws(FieldSyncError) -> ChangePage

    /// Records one refusal that no change carries (a device's report that its log forked), within
    /// the quarantine's bounds. Best effort.
    func recordRefusal(_ verdict: RefusedChange, county: String, via: DeviceID?) async
    /// How many refusals the quarantine holds, and how many it counted without storing.
    func refusalSummary() async throws(FieldSyncError) -> RefusalSummary

    /// The reports that attach the blob `sha256`, with their counties and what each declared.
    func mediaReferences(_ sha256: String) async throws(FieldSyncError) -> [MediaReference]
    /// Every attachment of the counties given (all when nil), by hash then report, a page of them.
    func attachments(counties: [String]?, offset: Int, limit: Int) async throws(FieldSyncError) -> [MediaReference]

    // MARK: Epoch

    /// The database's epoch (8 hex digits, made once): part of every pull cursor it issues.
    func epoch() async throws(FieldSyncError) -> String
    /// Gives the database a new epoch (after it was restored from a backup): every cursor issued
    /// before starts its pull over. Daemons read the epoch when they start.
    func renewEpoch() async throws(FieldSyncError) -> String
    /// The highest pull position the database has issued.
    func lastPosition() async throws(FieldSyncError) -> Int64

    // MARK: Directory

    /// Records a one-time enrollment token (its hash) for a device id in a county.
    func createEnrollment(
        tokenHash: Data, device: DeviceID, county: String, expiresMillis: UInt64, nowMillis: UInt64)
        async throws(FieldSyncError)
    /// Uses an enrollment token: registers the device's public key and its bearer token hash.
    func completeEnrollment(
        tokenHash: Data, publicKey: Data, bearerHash: Data, nowMillis: UInt64
    ) async throws(FieldSyncError) -> DeviceRecord
    /// The device whose bearer token has this hash.
    func device(tokenHash: Data) async throws(FieldSyncError) -> DeviceRecord?
    /// A device by id.
    func device(_ id: DeviceID) async throws(FieldSyncError) -> DeviceRecord?
    /// Devices, optionally of one county, by id.
    func devices(county: String?) async throws(FieldSyncError) -> [DeviceRecord]
    /// Revokes a device; returns whether it existed.
    func revokeDevice(_ id: DeviceID, nowMillis: UInt64) async throws(FieldSyncError) -> Bool
    /// Creates an operator or admin with a token hash.
    func createOperator(_ record: OperatorRecord, tokenHash: Data, nowMillis: UInt64) async throws(FieldSyncError)
    /// The operator whose token has this hash.
    func operatorRecord(tokenHash: Data) async throws(FieldSyncError) -> OperatorRecord?
    /// Every operator and admin, by id.
    func operators() async throws(FieldSyncError) -> [OperatorRecord]
    /// Revokes an operator's or admin's token, ending their console sessions; returns the record,
    /// or nil if there is no such id.
    func revokeOperator(_ id: String, nowMillis: UInt64) async throws(FieldSyncError) -> OperatorRecord?
    /// Sets a value of the server's identity unless already set; returns the stored value (every
    /// daemon on one database gets the same).
    func initServerIdentity(_ key: String, _ value: Data) async throws(FieldSyncError) -> Data
    /// A value of the server's identity, if set.
    func serverIdentity(_ key: String) async throws(FieldSyncError) -> Data?
    /// Sets (or, with nil, removes) a value of the server's identity.
    func setServerIdentity(_ key: String, _ value: Data?) async throws(FieldSyncError)
    /// Appends an entry to the audit log; returns it with its position.
    @discardableResult
    func appendAudit(_ entry: AuditEntry) async throws(FieldSyncError) -> AuditEntry
    /// Audit entries, newest first.
    func audit(_ filter: AuditFilter) async throws(FieldSyncError) -> [AuditEntry]
    /// Records a device's sync: a success (`error` nil) or the code it failed with.
    func recordDeviceSync(
        _ id: DeviceID, atMillis: UInt64, error: String?, client: String?, pending: UInt64?)
        async throws(FieldSyncError)
    /// The health of every device that has synced, by device id.
    func deviceHealth() async throws(FieldSyncError) -> [DeviceID: DeviceHealth]

    // MARK: Catalogue and Open311

    /// Stores a new version of a county's catalogue, numbered one past the newest, and returns it.
    func publishCatalogue(
        county: String, body: Data, atMillis: UInt64, by: String
    ) async throws(FieldSyncError)
        -> CatalogueRecord
    /// A county's catalogue: one version, or the newest when `version` is nil.
    func catalogue(county: String, version: Int?) async throws(FieldSyncError) -> CatalogueRecord?
    /// The counties that have published a catalogue, sorted.
    func catalogueCounties() async throws(FieldSyncError) -> [String]
    /// Every version of a county's catalogue, newest first, without their bodies.
    func catalogueVersions(county: String) async throws(FieldSyncError) -> [CatalogueRecord]
    /// Stores an Open311 client's key (its hash only).
    func createOpen311Key(_ record: Open311KeyRecord, keyHash: Data) async throws(FieldSyncError)
    /// The key with this hash, revoked or not.
    func open311Key(keyHash: Data) async throws(FieldSyncError) -> Open311KeyRecord?
    /// Every Open311 key, by id.
    func open311Keys() async throws(FieldSyncError) -> [Open311KeyRecord]
    /// Revokes a key; false if there is no such key.
    func revokeOpen311Key(_ id: String, nowMillis: UInt64) async throws(FieldSyncError) -> Bool

    // MARK: Console sessions

    /// Stores a console session under its id's hash (and forgets sessions expired at its start).
    func createConsoleSession(_ session: ConsoleSession, idHash: Data) async throws(FieldSyncError)
    /// The session with this id hash and its operator, unless it expired by `nowMillis`.
    func consoleSession(
        idHash: Data, nowMillis: UInt64
    ) async throws(FieldSyncError) -> (session: ConsoleSession, operator: OperatorRecord)?
    /// Ends a session (signing out); nothing if there is none.
    func deleteConsoleSession(idHash: Data) async throws(FieldSyncError)

    // MARK: Scorecard

    /// The scorecard entries of the county's reports received in `from...to` (one per report,
    /// with the figures its row keeps: received, ward, service, status times, openness).
    func scorecardEntries(county: String, from: UInt64, to: UInt64) async throws(FieldSyncError) -> [Scorecard.Entry]
    /// The entries of the county's reports that changes at positions `after + 1 ... through`
    /// touched, or nil if there are more than `limit`.
    func scorecardTouched(
        county: String, after: Int64, through: Int64, limit: Int
    ) async throws(FieldSyncError) -> [Scorecard.Entry]?
}

extension ServerStore {
    /// A fresh epoch: 8 random hex digits.
    public static func makeEpoch() -> String { String(format: "%08x", UInt32.random(in: 0 ... .max)) }

    /// Changes after `cursor`, optionally of one county.
    public func changes(after cursor: Int64, county: String?, limit: Int) async throws(FieldSyncError) -> ChangePage {
        try await changes(after: cursor, county: county, excludingDevice: nil, limit: limit)
    }
}

/// Filters for reading the refusals quarantine.
public struct RefusalFilter: Sendable, Hashable {
    /// Only refusals of changes to these counties (`nil`: all).
    public var counties: [String]?
    /// Only refusals of changes sent by this device.
    public var via: String?
    /// Page size.
    public var limit = 100
    /// Records to skip.
    public var offset = 0

    /// No filter.
    public init(counties: [String]? = nil, via: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.counties = counties
        self.via = via
        self.limit = limit
        self.offset = offset
    }
}

/// What the quarantine holds: the records, and the refusals counted but not stored.
public struct RefusalSummary: Sendable, Hashable {
    /// Records kept.
    public var stored: Int
    /// Refusals over the bounds, counted and not stored.
    public var dropped: Int

    /// A summary.
    public init(stored: Int, dropped: Int) {
        self.stored = stored
        self.dropped = dropped
    }
}
