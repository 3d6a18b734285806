public import FieldSyncCore
import FieldSyncProtocol
public import FieldSyncSigning
public import FieldSyncStore
import FieldSyncSQLite
public import Foundation
import Prometheus

/// What the daemon does, independent of HTTP: enrollment, authentication, sync, operator
/// queries and resolutions, administration. Every method checks the caller's scope.
public struct SyncService: Sendable {
    /// The store holding every log and the directory (SQLite or PostgreSQL).
    public let store: any ServerStore
    /// Where media bytes are kept (files beside a SQLite database, or PostgreSQL).
    public let blobs: any BlobStore
    /// Limits and policies.
    public let configuration: ServerConfiguration
    /// The metrics.
    public let metrics: ServerMetrics
    /// The server's own signing key (it signs operators' resolutions and revocation lists); nil
    /// when it is kept outside the database and was not given (administration from the shell).
    public let signingKey: DeviceKey?
    /// The server's public key (what devices verify its signatures with).
    public let serverPublicKey: Data
    /// The server's author id.
    public let serverID: DeviceID
    /// The clock, in milliseconds since the epoch.
    public let now: @Sendable () -> UInt64
    /// Failed sign-ins per client address (token guessing).
    public let signIns: SignInLimiter
    /// The database's epoch, read at start: part of every cursor issued.
    public let epoch: String
    /// Devices' syncs, recorded for the IT desk (`GET /v1/admin/devices`).
    public let health = DeviceHealthRecorder()
    /// Operators' sign-ins, recorded in the audit log at most once an hour per address.
    let signInAudit = SignInAudit()
    /// The newest catalogue of each county, decoded.
    let catalogues = CatalogueCache()
    /// Public scorecards answered lately.
    let publicScorecards = PublicScorecardCache()
    /// The scorecard entries of counties' months, kept between scorecards.
    let scorecardMonths = ScorecardMonths()
    /// Requests filed per Open311 key.
    let open311Limiter: Open311RateLimiter

    /// Opens the service on a store: loads or creates the server's signing identity (the
    /// database's key, or `signingKey` kept outside it: `ServerSigningKey`).
    public init(
        store: any ServerStore, configuration: ServerConfiguration = ServerConfiguration(),
        metrics: ServerMetrics = ServerMetrics(),
        signingKey: DeviceKey? = nil, requireSigningKey: Bool = true, blobs: (any BlobStore)? = nil,
        now: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
    ) async throws(FieldSyncError) {
        self.store = store
        if let blobs { self.blobs = blobs } else { self.blobs = try Self.defaultBlobs(for: store) }
        self.configuration = configuration
        self.metrics = metrics
        self.now = now
        signIns = SignInLimiter(
            maxFailures: configuration.maxFailedSignIns, maxGlobalFailures: configuration.maxGlobalFailedSignIns,
            windowSeconds: configuration.signInWindowSeconds)
        open311Limiter = Open311RateLimiter(
            perMinute: configuration.open311PerMinute, burst: configuration.open311Burst)
        (self.signingKey, serverPublicKey) = try await ServerSigningKey.load(
            from: store, external: signingKey, required: requireSigningKey)
        serverID = try DeviceID(validating: configuration.serverDeviceID)
        try await store.setIdentity(serverID)
        epoch = try await store.epoch()
    }

    /// The media store that goes with `store`: PostgreSQL keeps blobs itself; a SQLite database
    /// keeps them as files in `<database>-media` beside it.
    static func defaultBlobs(for store: any ServerStore) throws(FieldSyncError) -> any BlobStore {
        if let blobs = store as? any BlobStore { return blobs }
        if let sqlite = store as? SQLiteStore {
            return try FileBlobStore(directory: URL(fileURLWithPath: sqlite.path + "-media"))
        }
        throw FieldSyncError(.internalError, "no media store for this kind of database; give one (--media-dir)")
    }

    // MARK: Scope

    /// The signing key, or why this process cannot sign.
    func signer() throws(FieldSyncError) -> DeviceKey {
        guard let signingKey else {
            throw FieldSyncError(
                .internalError,
                "this fieldsyncd was started without the server's signing key (kept outside the database); give it --signing-key-file"
            )
        }
        return signingKey
    }

    /// The bounds of every operator list's page.
    static func checkPage(limit: Int, offset: Int) throws(FieldSyncError) {
        guard (1...500).contains(limit), (0...1_000_000_000).contains(offset) else {
            throw FieldSyncError(.invalidRequest, "limit must be 1–500 and offset 0–1,000,000,000")
        }
    }

    func requireOperator(_ caller: Principal) throws(FieldSyncError) -> OperatorRecord {
        guard let op = caller.asOperator else {
            throw FieldSyncError(.forbidden, "this endpoint is for operators; devices sync through /v1/sync")
        }
        return op
    }

    /// Refuses a caller who is not an admin (before a body is read).
    public func requireAdminCaller(_ caller: Principal) throws(FieldSyncError) { try requireAdmin(caller) }

    func requireAdmin(_ caller: Principal) throws(FieldSyncError) {
        guard caller.isAdmin else { throw FieldSyncError(.forbidden, "this endpoint is for admins") }
    }

    func requireCounty(_ op: OperatorRecord, _ county: String) throws(FieldSyncError) {
        guard op.covers(county) else {
            throw FieldSyncError(
                .wrongCounty,
                "you may not read county '\(county.prefix(64))'; your counties: \(op.counties.joined(separator: ", "))")
        }
    }
}
