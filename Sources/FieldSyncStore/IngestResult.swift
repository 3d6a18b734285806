import FieldSyncCore
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

/// One page of changes in arrival order, for pulls.
public struct ChangePage: Sendable {
    /// One change with its arrival position and signature.
    public struct Entry: Sendable, Hashable {
        /// Its position in the store's arrival order.
        public var arrival: Int64
        /// The change.
        public var change: Change
        /// Its author's signature, if the store has one.
        public var signature: Data?
        /// How many of the author's changes, ending with this one, `signature` covers.
        public var run: Int
        /// The change with its signature.
        public var signed: SignedChange { SignedChange(change: change, signature: signature, run: run) }

        /// Creates an entry.
        public init(arrival: Int64, change: Change, signature: Data?, run: Int = 1) {
            self.arrival = arrival
            self.change = change
            self.signature = signature
            self.run = run
        }
    }
    /// The changes, ascending by arrival.
    public var changes: [Entry]
    /// The position to resume from: the last arrival returned, or the request's cursor.
    public var cursor: Int64
    /// Whether more changes follow.
    public var hasMore: Bool

    /// Creates a page.
    public init(changes: [Entry], cursor: Int64, hasMore: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
    }
}

/// Filters for listing reports.
public struct ReportFilter: Sendable, Hashable {
    /// Only this county.
    public var county: String?
    /// Only `active` or `withdrawn` reports.
    public var lifecycle: String?
    /// Only this status.
    public var status: String?
    /// Only this service code (category).
    public var serviceCode: String?
    /// Only reports updated at or after this time.
    public var updatedSince: HybridTimestamp?
    /// Only reports whose description, address, category, notes of status, ward or tags contain
    /// this text (case-insensitive).
    public var text: String?
    /// Page size.
    public var limit = 100
    /// Reports to skip.
    public var offset = 0

    /// No filter.
    public init(
        county: String? = nil, lifecycle: String? = nil, status: String? = nil, serviceCode: String? = nil,
        updatedSince: HybridTimestamp? = nil, text: String? = nil, limit: Int = 100, offset: Int = 0
    ) {
        self.county = county
        self.text = text
        self.lifecycle = lifecycle
        self.status = status
        self.serviceCode = serviceCode
        self.updatedSince = updatedSince
        self.limit = limit
        self.offset = offset
    }
}

/// Filters for listing conflicts.
public struct ConflictFilter: Sendable, Hashable {
    /// `true` for open conflicts only, `false` for resolved only, `nil` for both.
    public var open: Bool?
    /// Only this county.
    public var county: String?
    /// Only this field.
    public var field: FieldName?
    /// Only this report.
    public var report: ReportID?
    /// Only records produced by changes that arrived after this position.
    public var sinceArrival: Int64?
    /// Only records produced by changes written at or after this time (milliseconds).
    public var sinceMillis: UInt64?
    /// Page size.
    public var limit = 100
    /// Records to skip.
    public var offset = 0

    /// No filter.
    public init(
        open: Bool? = nil, county: String? = nil, field: FieldName? = nil, report: ReportID? = nil,
        sinceArrival: Int64? = nil, sinceMillis: UInt64? = nil, limit: Int = 100, offset: Int = 0
    ) {
        self.open = open
        self.sinceMillis = sinceMillis
        self.county = county
        self.field = field
        self.report = report
        self.sinceArrival = sinceArrival
        self.limit = limit
        self.offset = offset
    }
}
