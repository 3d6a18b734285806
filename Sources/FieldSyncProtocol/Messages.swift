public import FieldSyncCore
import Foundation

/// The protocol versions this build speaks. Requests name theirs in the path (`/v1/…`).
public enum ProtocolVersion {
    /// The version this build speaks.
    public static let current = 1
    /// Every version this build accepts.
    public static let supported = [1]
}

/// Opaque pull cursors. Clients store and return them verbatim.
///
/// A cursor names a pull position and the *epoch* of the database that issued it
/// (`a<position>.<epoch>`): a database restored from a backup gets a new epoch
/// (`fieldsyncd admin new-epoch`), and a cursor from another epoch — or beyond the last
/// position the database has — starts the pull over from the beginning instead of skipping
/// what the restored database numbers anew. Cursors without an epoch (`a<position>`) are
/// still accepted.
public enum SyncCursor {
    /// A decoded cursor.
    public struct Position: Sendable, Hashable {
        /// The pull position.
        public var arrival: Int64
        /// The epoch of the database that issued it, if the cursor names one.
        public var epoch: String?

        /// A position.
        public init(arrival: Int64, epoch: String?) {
            self.arrival = arrival
            self.epoch = epoch
        }
    }

    /// The cursor for a pull position in a database epoch.
    public static func encode(_ arrival: Int64, epoch: String) -> String { "a\(arrival).\(epoch)" }

    /// Whether `epoch` has the form the server issues (8 lower-case hex digits).
    public static func isValidEpoch(_ epoch: some StringProtocol) -> Bool {
        epoch.utf8.count == 8 && epoch.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The position and epoch of a cursor (an absent cursor is the beginning).
    public static func decode(_ cursor: String?) throws(FieldSyncError) -> Position {
        guard let cursor, !cursor.isEmpty else { return Position(arrival: 0, epoch: nil) }
        let parts = cursor.dropFirst().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard cursor.first == "a", let first = parts.first, first.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let v = Int64(first), v >= 0, parts.count == 1 || isValidEpoch(parts[1])
        else {
            throw FieldSyncError(
                .invalidRequest,
                "cursor '\(cursor.prefix(40))' was not issued by this server; omit it to start from the beginning")
        }
        return Position(arrival: v, epoch: parts.count == 2 ? String(parts[1]) : nil)
    }
}

/// `POST /v1/sync`: push changes, learn the server's log positions, pull what arrived since the
/// cursor — in one round trip.
public struct SyncRequest: Codable, Sendable, Hashable {
    /// The cursor from the last response (absent the first time).
    public var cursor: String?
    /// For each log the device can push, the highest sequence it holds: the server answers with
    /// how far it holds each, so the device sends only what the server lacks.
    public var offer: [String: UInt64]?
    /// Changes to push (the device's own and relayed ones), each signed by its author.
    public var changes: [SignedChange]?
    /// The most changes to pull in this response.
    public var limit: Int?
    /// Also pull the caller's own changes (to recover a device restored from an old backup).
    public var includeOwn: Bool?
    /// Answer change by change: apply what can be applied and list each refused change with its
    /// reason in `refused` (without it, the first refusal refuses the whole push, as in v1.0).
    public var verdicts: Bool?
    /// Return the caller's own log from this sequence number in `own_log` (at most `limit`, or
    /// 1,000): how a restored or cloned device takes back the changes the server holds.
    public var ownLogFrom: UInt64?
    /// Return the county's revoked devices in `revoked`, so that the device refuses their
    /// changes at the door in peer sync.
    public var revocations: Bool?
    /// The device found its log forked (restored or cloned) and moved its work: recorded for
    /// operators.
    public var fork: ForkNotice?
    /// How many changes the device still holds for the server after this request's (its
    /// backlog), at most 1,000,000,000: shown to the IT desk as the device's pending changes.
    public var pending: UInt64?
    /// Return the files of the county purged since this position (`purged_cursor` of an earlier
    /// answer; empty the first time) in `purged_media`, so that their bytes leave the device.
    public var purgedAfter: String?
    /// The version of the county's service catalogue the device holds (0: none): a newer one
    /// comes back in `catalogue`.
    public var catalogueVersion: Int?
    /// Return in `certificates` those of the authors of the pulled changes, so that the device
    /// can forward them to peers it meets offline.
    public var certificates: Bool?
    /// Return the caller's own certificate, renewed, first in `certificates` (a device asks when
    /// it holds none or the one it holds is a day old).
    public var renewCertificate: Bool?
    /// Return in `certificates` those of these devices (at most 1,000): authors whose changes the
    /// device holds without their certificate (pulled before it asked for certificates).
    public var certificatesOf: [DeviceID]?

    /// Creates a request.
    public init(
        cursor: String? = nil, offer: [String: UInt64]? = nil, changes: [SignedChange]? = nil, limit: Int? = nil,
        includeOwn: Bool? = nil, verdicts: Bool? = nil, ownLogFrom: UInt64? = nil, revocations: Bool? = nil,
        fork: ForkNotice? = nil, pending: UInt64? = nil, purgedAfter: String? = nil, catalogueVersion: Int? = nil,
        certificates: Bool? = nil, renewCertificate: Bool? = nil, certificatesOf: [DeviceID]? = nil
    ) {
        self.cursor = cursor
        self.offer = offer
        self.changes = changes
        self.limit = limit
        self.includeOwn = includeOwn
        self.verdicts = verdicts
        self.ownLogFrom = ownLogFrom
        self.revocations = revocations
        self.fork = fork
        self.pending = pending
        self.purgedAfter = purgedAfter
        self.catalogueVersion = catalogueVersion
        self.certificates = certificates
        self.renewCertificate = renewCertificate
        self.certificatesOf = certificatesOf
    }

    enum CodingKeys: String, CodingKey {
        case cursor, offer, changes, limit, verdicts, revocations, fork, pending, certificates
        case renewCertificate = "renew_certificate"
        case certificatesOf = "certificates_of"
        case includeOwn = "include_own"
        case ownLogFrom = "own_log_from"
        case purgedAfter = "purged_after"
        case catalogueVersion = "catalogue_version"
    }
}

/// What a device tells the server after it found its own log forked and moved its work.
public struct ForkNotice: Codable, Sendable, Hashable {
    /// The first sequence number at which the device's log and the server's differed.
    public var from: UInt64
    /// How far the server held the log.
    public var held: UInt64
    /// How far the device's own copy went.
    public var local: UInt64

    /// A notice.
    public init(from: UInt64, held: UInt64, local: UInt64) {
        self.from = from
        self.held = held
        self.local = local
    }
}

/// The answer to a sync request.
public struct SyncResponse: Codable, Sendable, Hashable {
    /// What the pushed changes did (absent when nothing was pushed).
    public var accepted: IngestSummary?
    /// How far the server holds each offered or pushed log, and the caller's own.
    public var logs: [String: UInt64]
    /// Changes of the caller's county that arrived after the cursor (not the caller's own).
    public var changes: [SignedChange]
    /// The cursor to send next time.
    public var cursor: String
    /// Whether more changes are waiting: sync again at once.
    public var more: Bool
    /// The pushed changes refused, each with its reason (only when the request asked for verdicts).
    public var refused: [RefusedChange]?
    /// The caller's own log from `own_log_from` (only when asked).
    public var ownLog: [SignedChange]?
    /// Whether more of the caller's own log follows `own_log`.
    public var ownLogMore: Bool?
    /// The county's revoked devices (only when asked).
    public var revoked: [String]?
    /// When the server stated `revoked` (milliseconds since the epoch).
    public var revokedAtMillis: UInt64?
    /// The server's signature over the revocations (`Revocations.canonicalBytes`), base64: a
    /// device hands the list on to peers it meets offline, which check it with the server's key.
    public var revokedSignature: String?
    /// The server's public key, base64 (with `revoked`): what `revoked_sig` checks with. A device
    /// keeps the newest, so that it follows a rotation of the server's key.
    public var serverPublicKey: String?
    /// The server's clock when it answered (milliseconds since the epoch): a device whose clock
    /// is far from it corrects the timestamps of changes it has not pushed yet.
    public var serverTimeMillis: UInt64?
    /// Files of the caller's county purged after `purged_after` (only when asked): a device
    /// removes their bytes and never takes them again.
    public var purgedMedia: [String]?
    /// The position to send as `purged_after` next time (only when asked).
    public var purgedCursor: String?
    /// Whether more purges follow: ask again in the next request.
    public var purgedMore: Bool?
    /// The county's service catalogue, signed, when it is newer than the device's
    /// `catalogue_version`.
    public var catalogue: SignedCatalogue?
    /// Certificates the server signed (only when asked), base64 of `SignedCertificate`'s bytes:
    /// the caller's own first when `renew_certificate` asked, then those of the pulled changes'
    /// authors when `certificates` asked (`protocol/peer.md`).
    public var certificates: [String]?

    /// Creates a response.
    public init(
        accepted: IngestSummary?, logs: [String: UInt64], changes: [SignedChange], cursor: String, more: Bool,
        refused: [RefusedChange]? = nil, ownLog: [SignedChange]? = nil, ownLogMore: Bool? = nil,
        revoked: [String]? = nil,
        serverTimeMillis: UInt64? = nil
    ) {
        self.accepted = accepted
        self.logs = logs
        self.changes = changes
        self.cursor = cursor
        self.more = more
        self.refused = refused
        self.ownLog = ownLog
        self.ownLogMore = ownLogMore
        self.revoked = revoked
        self.serverTimeMillis = serverTimeMillis
    }

    enum CodingKeys: String, CodingKey {
        case accepted, logs, changes, cursor, more, refused, revoked
        case ownLog = "own_log"
        case ownLogMore = "own_log_more"
        case serverTimeMillis = "server_time_ms"
        case revokedAtMillis = "revoked_at_ms"
        case revokedSignature = "revoked_sig"
        case serverPublicKey = "server_public_key"
        case purgedMedia = "purged_media"
        case purgedCursor = "purged_cursor"
        case purgedMore = "purged_more"
        case catalogue, certificates
    }
}

/// What a push did.
public struct IngestSummary: Codable, Sendable, Hashable {
    public var applied: Int
    public var duplicates: Int
    public var conflictsOpened: Int
    public var conflictsResolved: Int
    /// Changes refused (listed in the response's `refused`).
    public var refused: Int?

    /// Creates a summary.
    public init(applied: Int, duplicates: Int, conflictsOpened: Int, conflictsResolved: Int, refused: Int? = nil) {
        self.applied = applied
        self.duplicates = duplicates
        self.conflictsOpened = conflictsOpened
        self.conflictsResolved = conflictsResolved
        self.refused = refused
    }

    enum CodingKeys: String, CodingKey {
        case applied, duplicates, refused
        case conflictsOpened = "conflicts_opened"
        case conflictsResolved = "conflicts_resolved"
    }
}

/// `POST /v1/devices/register`: a device redeems its one-time enrollment token.
public struct RegisterRequest: Codable, Sendable, Hashable {
    /// The one-time token an operator issued.
    public var enrollmentToken: String
    /// The device's Ed25519 public key, base64 (32 bytes).
    public var publicKey: String

    /// Creates a request.
    public init(enrollmentToken: String, publicKey: String) {
        self.enrollmentToken = enrollmentToken
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case enrollmentToken = "enrollment_token"
        case publicKey = "public_key"
    }
}

/// The answer to a registration: the device's identity and bearer token (shown once).
public struct RegisterResponse: Codable, Sendable, Hashable {
    public var deviceID: String
    public var county: String
    /// The bearer token for every later request. Shown once; the server keeps only its hash.
    public var token: String
    /// The server's own author id (it signs operators' resolutions).
    public var serverDeviceID: String
    /// The server's public key, base64.
    public var serverPublicKey: String
    /// The device's certificate, base64 (`protocol/peer.md`): what it shows to peers.
    public var certificate: String?

    /// Creates a response.
    public init(
        deviceID: String, county: String, token: String, serverDeviceID: String, serverPublicKey: String,
        certificate: String? = nil
    ) {
        self.deviceID = deviceID
        self.county = county
        self.token = token
        self.serverDeviceID = serverDeviceID
        self.serverPublicKey = serverPublicKey
        self.certificate = certificate
    }

    enum CodingKeys: String, CodingKey {
        case deviceID = "device_id", county, token, certificate
        case serverDeviceID = "server_device_id"
        case serverPublicKey = "server_public_key"
    }
}

/// `POST /v1/admin/enrollments`: an admin prepares a device's enrollment.
public struct EnrollmentRequest: Codable, Sendable, Hashable {
    public var county: String
    /// The device id to enroll; generated when absent.
    public var deviceID: String?
    /// How long the token stays valid, in hours (default 72).
    public var expiresInHours: Int?

    /// Creates a request.
    public init(county: String, deviceID: String? = nil, expiresInHours: Int? = nil) {
        self.county = county
        self.deviceID = deviceID
        self.expiresInHours = expiresInHours
    }

    enum CodingKeys: String, CodingKey {
        case county
        case deviceID = "device_id"
        case expiresInHours = "expires_in_hours"
    }
}

/// A one-time enrollment token (shown once).
public struct EnrollmentResponse: Codable, Sendable, Hashable {
    public var enrollmentToken: String
    public var deviceID: String
    public var county: String
    public var expiresAtMillis: UInt64

    /// Creates a response.
    public init(enrollmentToken: String, deviceID: String, county: String, expiresAtMillis: UInt64) {
        self.enrollmentToken = enrollmentToken
        self.deviceID = deviceID
        self.county = county
        self.expiresAtMillis = expiresAtMillis
    }

    enum CodingKeys: String, CodingKey {
        case enrollmentToken = "enrollment_token"
        case deviceID = "device_id", county
        case expiresAtMillis = "expires_at_ms"
    }
}

/// `POST /v1/admin/operators`: create an operator or admin.
public struct OperatorRequest: Codable, Sendable, Hashable {
    public var name: String
    /// `operator` or `admin`.
    public var role: String
    /// Counties the operator may read and resolve in (`*` for all).
    public var counties: [String]
    /// Days until the token stops working (1–3,650); absent: it does not expire.
    public var expiresInDays: Int?

    /// Creates a request.
    public init(name: String, role: String, counties: [String], expiresInDays: Int? = nil) {
        self.name = name
        self.role = role
        self.counties = counties
        self.expiresInDays = expiresInDays
    }

    enum CodingKeys: String, CodingKey {
        case name, role, counties, expiresInDays = "expires_in_days"
    }
}

/// An operator or admin as admins see it (`GET /v1/admin/operators`, revocation): never the token.
public struct OperatorInfo: Codable, Sendable, Hashable {
    public var operatorID: String
    public var name: String
    public var role: String
    public var counties: [String]
    public var revoked: Bool
    public var expiresAtMillis: UInt64?

    /// Creates a record.
    public init(
        operatorID: String, name: String, role: String, counties: [String], revoked: Bool, expiresAtMillis: UInt64?
    ) {
        self.operatorID = operatorID
        self.name = name
        self.role = role
        self.counties = counties
        self.revoked = revoked
        self.expiresAtMillis = expiresAtMillis
    }

    enum CodingKeys: String, CodingKey {
        case operatorID = "operator_id", name, role, counties, revoked, expiresAtMillis = "expires_at_ms"
    }
}

/// `GET /v1/me`: who a token belongs to. A device has its `county`; an operator or admin its
/// `counties` (a list, as when it was created; `["*"]` for all).
public struct MeResponse: Codable, Sendable, Hashable {
    /// `device`, `operator` or `admin`.
    public var kind: String
    /// The device or operator id.
    public var id: String
    /// A device's county.
    public var county: String?
    /// An operator's counties.
    public var counties: [String]?

    /// Creates an answer.
    public init(kind: String, id: String, county: String? = nil, counties: [String]? = nil) {
        self.kind = kind
        self.id = id
        self.county = county
        self.counties = counties
    }
}

/// A new operator and its token (shown once).
public struct OperatorResponse: Codable, Sendable, Hashable {
    public var operatorID: String
    public var role: String
    public var counties: [String]
    public var token: String
    public var expiresAtMillis: UInt64?

    /// Creates a response.
    public init(operatorID: String, role: String, counties: [String], token: String, expiresAtMillis: UInt64? = nil) {
        self.operatorID = operatorID
        self.role = role
        self.counties = counties
        self.token = token
        self.expiresAtMillis = expiresAtMillis
    }

    enum CodingKeys: String, CodingKey {
        case operatorID = "operator_id", role, counties, token, expiresAtMillis = "expires_at_ms"
    }
}

/// A page of reports.
public struct ReportList: Codable, Sendable, Hashable {
    public var reports: [Report]
    /// The offset of the next page, if there is one.
    public var nextOffset: Int?

    /// Creates a page.
    public init(reports: [Report], nextOffset: Int?) {
        self.reports = reports
        self.nextOffset = nextOffset
    }

    enum CodingKeys: String, CodingKey { case reports, nextOffset = "next_offset" }
}

/// One report with its full change history.
public struct ReportDetail: Codable, Sendable, Hashable {
    public var report: Report
    /// Every change, in arrival order: who (device), when (hlc), what (ops).
    public var history: [Change]
    /// For each attachment, whether its bytes have arrived.
    public var media: [MediaStatus]?
    /// What the report lacks against its county's current service catalogue (an unknown
    /// service, a required attribute missing, a value that does not fit): flags for operators,
    /// never a reason to refuse a change. Absent when all is well or no catalogue is published.
    public var catalogueIssues: [String]?

    /// Creates a detail.
    public init(
        report: Report, history: [Change], media: [MediaStatus]? = nil, catalogueIssues: [String]? = nil
    ) {
        self.report = report
        self.history = history
        self.media = media
        self.catalogueIssues = catalogueIssues
    }

    enum CodingKeys: String, CodingKey {
        case report, history, media
        case catalogueIssues = "catalogue_issues"
    }
}

/// Whether an attached file's bytes are on the server.
public struct MediaStatus: Codable, Sendable, Hashable {
    /// The file's SHA-256.
    public var sha256: String
    /// Its declared type and size.
    public var contentType: String
    /// Its declared size in bytes.
    public var size: UInt64
    /// `arrived`, `missing` (referenced, not uploaded yet) or `purged`.
    public var state: String
    /// Why it was purged.
    public var purgedReason: String?
    /// A report that attaches it (in `GET /v1/media?missing=true`).
    public var report: String?

    /// A status.
    public init(
        sha256: String, contentType: String, size: UInt64, state: String, purgedReason: String? = nil,
        report: String? = nil
    ) {
        self.sha256 = sha256
        self.contentType = contentType
        self.size = size
        self.state = state
        self.purgedReason = purgedReason
        self.report = report
    }

    enum CodingKeys: String, CodingKey {
        case sha256, size, state, report
        case contentType = "content_type", purgedReason = "purged_reason"
    }
}

/// A page of media statuses (`GET /v1/media?missing=true`).
public struct MediaList: Codable, Sendable, Hashable {
    public var media: [MediaStatus]
    public var nextOffset: Int?

    /// Creates a page.
    public init(media: [MediaStatus], nextOffset: Int?) {
        self.media = media
        self.nextOffset = nextOffset
    }

    enum CodingKeys: String, CodingKey { case media, nextOffset = "next_offset" }
}

/// An admin's purge of a file (`POST /v1/admin/media/{sha256}/purge`).
public struct PurgeRequest: Codable, Sendable, Hashable {
    /// Why (kept with the reference; shown to operators).
    public var reason: String

    /// Creates a request.
    public init(reason: String) { self.reason = reason }
}

/// A page of conflict records.
public struct ConflictList: Codable, Sendable, Hashable {
    public var conflicts: [Conflict]
    public var nextOffset: Int?

    /// Creates a page.
    public init(conflicts: [Conflict], nextOffset: Int?) {
        self.conflicts = conflicts
        self.nextOffset = nextOffset
    }

    enum CodingKeys: String, CodingKey { case conflicts, nextOffset = "next_offset" }
}

/// A page of the refusals quarantine.
public struct RefusalList: Codable, Sendable, Hashable {
    /// The records, newest first.
    public var refusals: [Refusal]
    /// The offset of the next page, if any.
    public var nextOffset: Int?
    /// Records the quarantine holds in all (every county).
    public var stored: Int?
    /// Refusals over the quarantine's bounds, counted and not stored (every county).
    public var dropped: Int?

    /// Creates a page.
    public init(refusals: [Refusal], nextOffset: Int?, stored: Int? = nil, dropped: Int? = nil) {
        self.refusals = refusals
        self.nextOffset = nextOffset
        self.stored = stored
        self.dropped = dropped
    }

    enum CodingKeys: String, CodingKey { case refusals, stored, dropped, nextOffset = "next_offset" }
}

/// `POST /v1/conflicts/{report}/{field}/resolve`: keep a candidate's value, or set a new one.
public struct ResolveRequest: Codable, Sendable, Hashable {
    /// The candidate to keep, as `device:seq`.
    public var choose: String?
    /// A new value instead.
    public var value: FieldValue?

    /// Creates a request.
    public init(choose: String? = nil, value: FieldValue? = nil) {
        self.choose = choose
        self.value = value
    }

    private enum CodingKeys: String, CodingKey { case choose, value }

    /// `"value": null` is a value (the field cleared), not an absent one.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        choose = try c.decodeIfPresent(String.self, forKey: .choose)
        value = c.contains(.value) ? try c.decode(FieldValue.self, forKey: .value) : nil
    }
}

/// The resolution: the change the server wrote (it syncs to every device) and the record.
public struct ResolveResponse: Codable, Sendable, Hashable {
    public var change: Change
    public var conflict: Conflict?

    /// Creates a response.
    public init(change: Change, conflict: Conflict?) {
        self.change = change
        self.conflict = conflict
    }
}

/// `POST /v1/admin/devices/{id}/revoke` answer and device listings.
public struct DeviceInfo: Codable, Sendable, Hashable {
    public var deviceID: String
    public var county: String
    public var status: String
    /// When it last synced successfully (ms since the epoch).
    public var lastSyncMillis: UInt64?
    /// The code its last sync failed with, if the last sync failed.
    public var lastError: String?
    /// When that was.
    public var lastErrorMillis: UInt64?
    /// The client it syncs with (its User-Agent).
    public var client: String?
    /// Changes it still held for the server at its last sync (as it said).
    public var pending: UInt64?
    /// Changes it sent that the server refused and keeps in quarantine (`GET /v1/refusals`).
    public var refused: Int?
    /// Files its changes attached that the server does not hold yet (photos waiting to upload).
    public var mediaWaiting: Int?

    /// Creates a record.
    public init(
        deviceID: String, county: String, status: String, lastSyncMillis: UInt64? = nil, lastError: String? = nil,
        lastErrorMillis: UInt64? = nil, client: String? = nil, pending: UInt64? = nil, refused: Int? = nil,
        mediaWaiting: Int? = nil
    ) {
        self.mediaWaiting = mediaWaiting
        self.deviceID = deviceID
        self.county = county
        self.status = status
        self.lastSyncMillis = lastSyncMillis
        self.lastError = lastError
        self.lastErrorMillis = lastErrorMillis
        self.client = client
        self.pending = pending
        self.refused = refused
    }

    enum CodingKeys: String, CodingKey {
        case deviceID = "device_id", county, status, client, pending, refused
        case lastSyncMillis = "last_sync_ms", lastError = "last_error", lastErrorMillis = "last_error_ms"
        case mediaWaiting = "media_waiting"
    }
}

/// Every refusal: a stable code and a message that says what was wrong and what to do.
public struct ErrorBody: Codable, Sendable, Hashable {
    public var code: String
    public var message: String

    /// Creates a body.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The body of a FieldSync error.
    public init(_ error: FieldSyncError) {
        self.init(code: error.code.rawValue, message: error.message)
    }
}

/// A county's service catalogue with the server's signature (base64, over
/// `CatalogueRules.signingInput`): devices keep it only if the signature checks with the
/// server's public key.
public struct SignedCatalogue: Codable, Sendable, Hashable {
    /// The catalogue, with its version and publication time.
    public var catalogue: ServiceCatalogue
    /// The server's Ed25519 signature, base64.
    public var signature: String

    /// A signed catalogue.
    public init(catalogue: ServiceCatalogue, signature: String) {
        self.catalogue = catalogue
        self.signature = signature
    }
}

/// The versions of a county's catalogue, newest first.
public struct CatalogueVersionList: Codable, Sendable, Hashable {
    /// One version.
    public struct Version: Codable, Sendable, Hashable {
        /// Its number.
        public var version: Int
        /// When it was published.
        public var publishedAtMillis: UInt64
        /// Who published it.
        public var publishedBy: String

        /// A version.
        public init(version: Int, publishedAtMillis: UInt64, publishedBy: String) {
            self.version = version
            self.publishedAtMillis = publishedAtMillis
            self.publishedBy = publishedBy
        }

        enum CodingKeys: String, CodingKey {
            case version
            case publishedAtMillis = "published_at_ms", publishedBy = "published_by"
        }
    }

    /// The county.
    public var county: String
    /// Its versions.
    public var versions: [Version]

    /// A list.
    public init(county: String, versions: [Version]) {
        self.county = county
        self.versions = versions
    }
}

/// The service scorecard of a county (`GET /v1/scorecard`, and without personal detail
/// `GET /v1/public/scorecard`).
public struct ScorecardResponse: Codable, Sendable, Hashable {
    /// The county.
    public var county: String
    /// The period: requests received from `from_ms` to `to_ms`.
    public var fromMillis: UInt64
    /// The end of the period.
    public var toMillis: UInt64
    /// How rows are grouped.
    public var group: Scorecard.Grouping
    /// The total (`all`) first, then one row per group.
    public var rows: [Scorecard.Row]
    /// Rows of fewer requests than this are left out (the public variant only).
    public var minimumCount: Int?

    /// A scorecard.
    public init(
        county: String, fromMillis: UInt64, toMillis: UInt64, group: Scorecard.Grouping, rows: [Scorecard.Row],
        minimumCount: Int? = nil
    ) {
        self.county = county
        self.fromMillis = fromMillis
        self.toMillis = toMillis
        self.group = group
        self.rows = rows
        self.minimumCount = minimumCount
    }

    enum CodingKeys: String, CodingKey {
        case county, group, rows
        case fromMillis = "from_ms", toMillis = "to_ms", minimumCount = "minimum_count"
    }
}
