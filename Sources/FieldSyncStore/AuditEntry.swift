import FieldSyncCore
import Foundation

/// What an audit entry records.
public enum AuditAction: String, Codable, Sendable, CaseIterable {
    /// An enrollment token issued for a device id.
    case enroll
    /// A device redeemed its enrollment token (its key registered).
    case register
    /// A device revoked.
    case revokeDevice = "revoke_device"
    /// An operator or admin created (a token issued).
    case createOperator = "create_operator"
    /// An operator's or admin's token revoked.
    case revokeOperator = "revoke_operator"
    /// A conflict resolved by an operator.
    case resolve
    /// The database given a new epoch (after a restore).
    case newEpoch = "new_epoch"
    /// The signing key moved out of the database, or replaced.
    case signingKey = "signing_key"
    /// An operator's or admin's token used from an address (its first request there, then at
    /// most once an hour per address).
    case signIn = "sign_in"
    /// A console session ended by its operator.
    case signOut = "sign_out"
    /// A report's status, assignee or priority set, or a note added, by an operator.
    case editReport = "edit_report"
    /// A list of reports exported from the console (CSV or GeoJSON), and whether with personal fields.
    case export
    /// A media file purged by an admin (its bytes gone, its reference kept with the reason).
    case purgeMedia = "purge_media"
    /// A new version of a county's service catalogue.
    case publishCatalogue = "publish_catalogue"
    /// An Open311 client key issued.
    case createOpen311Key = "create_open311_key"
    /// An Open311 client key revoked.
    case revokeOpen311Key = "revoke_open311_key"
}

/// One administrative or operator action: who, when, from where, what. The log is append-only
/// (both engines refuse to change or delete an entry) and holds no tokens and no personal data.
public struct AuditEntry: Codable, Hashable, Sendable {
    /// The entry's position in the log (assigned by the store; 0 before).
    public var id: Int64
    /// When, in milliseconds since the epoch.
    public var atMillis: UInt64
    /// Who: an operator id, a device id, or `shell` (a `fieldsyncd admin` command).
    public var actor: String
    /// `admin`, `operator`, `device` or `shell`.
    public var role: String
    /// From where: the client's address, or `local`.
    public var address: String
    /// What.
    public var action: AuditAction
    /// The county concerned, if one is.
    public var county: String?
    /// What it was done to: a device id, an operator id, a conflict id.
    public var subject: String
    /// A short description (never a token or personal data).
    public var detail: String

    /// Creates an entry.
    public init(
        id: Int64 = 0, atMillis: UInt64, actor: String, role: String, address: String, action: AuditAction,
        county: String?, subject: String, detail: String
    ) {
        self.id = id
        self.atMillis = atMillis
        self.actor = actor
        self.role = role
        self.address = address
        self.action = action
        self.county = county
        self.subject = subject
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case id, atMillis = "at_ms", actor, role, address, action, county, subject, detail
    }
}

/// Which audit entries to read, newest first.
public struct AuditFilter: Hashable, Sendable {
    /// Only these counties, plus entries of no county when `includeGlobal` (nil: all).
    public var counties: [String]?
    /// Whether entries without a county (operator and key management) are included.
    public var includeGlobal: Bool
    /// Only this action.
    public var action: AuditAction?
    /// Only this actor.
    public var actor: String?
    /// Only entries at or after this time.
    public var sinceMillis: UInt64?
    /// Page size.
    public var limit: Int
    /// Entries to skip.
    public var offset: Int

    /// Creates a filter.
    public init(
        counties: [String]? = nil, includeGlobal: Bool = true, action: AuditAction? = nil, actor: String? = nil,
        sinceMillis: UInt64? = nil, limit: Int = 100, offset: Int = 0
    ) {
        self.counties = counties
        self.includeGlobal = includeGlobal
        self.action = action
        self.actor = actor
        self.sinceMillis = sinceMillis
        self.limit = limit
        self.offset = offset
    }
}
