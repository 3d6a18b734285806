public import FieldSyncCore
import Foundation

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
