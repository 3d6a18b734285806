/// What a report's history says about how the county answered it: when it was received, when
/// its status was first acknowledged, first closed and last reopened (`ReportStatusTimes`), and
/// when it last changed. Folding changes in is commutative and idempotent, so every store that
/// holds the same changes computes the same timeline, in whatever order they arrived. (Stores keep
/// the same figures in each report's head; this fold over a history is the reference.)
public struct ReportTimeline: Sendable, Hashable, Codable {
    /// The report.
    public var report: ReportID
    /// Its county.
    public var county: String
    /// When it was received (its creation's time).
    public var createdMillis: UInt64?
    /// Its status times.
    public var status = ReportStatusTimes()
    /// When it last changed.
    public var updatedMillis: UInt64 = 0

    /// An empty timeline.
    public init(report: ReportID, county: String) {
        self.report = report
        self.county = county
    }

    /// When its status was first set to anything but `open`.
    public var acknowledgedMillis: UInt64? { status.acknowledgedMillis }
    /// When its status was first set to a closing value.
    public var closedMillis: UInt64? { status.closedMillis }
    /// When its status was last set to a value that does not close it (creation excluded).
    public var reopenedMillis: UInt64? { status.reopenedMillis }
    /// Whether it was set back to a non-closing status after it was first closed.
    public var wasReopened: Bool { status.wasReopened }

    /// Folds one change of the report in.
    public mutating func apply(_ change: Change) {
        let at = change.hlc.millis
        updatedMillis = max(updatedMillis, at)
        if change.isCreate { createdMillis = min(createdMillis ?? at, at) }
        status.fold(change)
    }
}

/// The statuses a report's `status` field takes, as far as the county's response is measured:
/// which close a report (Open311's `closed`, the scorecard's time to close).
public enum ReportStatus {
    /// The values that close a report, in any case.
    public static let closingValues: Set<String> = [
        "closed", "resolved", "fixed", "duplicate", "not_responsible", "invalid", "no_further_action", "wont_fix",
    ]

    /// Whether a status value closes the report.
    public static func closes(_ status: String) -> Bool { closingValues.contains(status.lowercased()) }

    /// Whether a report is still open: active, and its status (if any) does not close it.
    public static func isOpen(_ report: Report) -> Bool {
        guard case .string(let s)? = report.fields[FieldName.status.rawValue] else {
            return isOpen(withdrawn: report.lifecycle == "withdrawn", status: nil)
        }
        return isOpen(withdrawn: report.lifecycle == "withdrawn", status: s)
    }

    /// Whether a report whose lifecycle and status are these is still open.
    public static func isOpen(withdrawn: Bool, status: String?) -> Bool {
        !withdrawn && !(status.map(closes) ?? false)
    }
}
