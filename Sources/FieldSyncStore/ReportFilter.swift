public import FieldSyncCore
import Foundation

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
    /// Only this ward.
    public var ward: String?
    /// Only reports received (created) at or after this time (milliseconds since 1970).
    public var createdFrom: UInt64?
    /// Only reports received at or before this time.
    public var createdTo: UInt64?
    /// Only reports with this tag.
    public var tag: String?
    /// Only reports with (true) or without (false) media attached.
    public var hasMedia: Bool?
    /// Only reports with an attached file the server does not hold (checked by the service against
    /// its blob store, which may not be in the database; implies `hasMedia`).
    public var mediaMissing = false
    /// Only reports with (true) or without (false) an open conflict.
    public var hasOpenConflict: Bool?
    /// The order of the list.
    public var order = Order.updatedNewestFirst
    /// Page size.
    public var limit = 100

    /// Orders of a reports list (ties broken by id).
    public enum Order: String, Sendable, Hashable, CaseIterable {
        /// The last changed first.
        case updatedNewestFirst = "updated"
        /// The last received (created) first.
        case receivedNewestFirst = "received"
        /// The first received first.
        case receivedOldestFirst = "received_oldest"

        /// The SQL `ORDER BY` terms (the same on both engines).
        package var sql: String {
            switch self {
            case .updatedNewestFirst: "updated_ms DESC, updated_c DESC, id"
            case .receivedNewestFirst: "created_ms DESC, id"
            case .receivedOldestFirst: "created_ms ASC, id"
            }
        }
    }
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
