/// What a report's history says about how the county answered it: when it was received, first
/// acknowledged (its status first set to anything but `open`), first closed (a closing status,
/// `ReportStatus`), and last set back to a non-closing status. Folding changes in is commutative
/// and idempotent (minimums and maximums of their times), so every store that holds the same
/// changes computes the same timeline, in whatever order they arrived.
public struct ReportTimeline: Sendable, Hashable, Codable {
    /// The report.
    public var report: ReportID
    /// Its county.
    public var county: String
    /// When it was received (its creation's time).
    public var createdMillis: UInt64?
    /// When its status was first set to anything but `open`.
    public var acknowledgedMillis: UInt64?
    /// When its status was first set to a closing value.
    public var closedMillis: UInt64?
    /// When its status was last set to a value that does not close it (creation excluded).
    public var reopenedMillis: UInt64?
    /// When it last changed.
    public var updatedMillis: UInt64 = 0

    /// An empty timeline.
    public init(report: ReportID, county: String) {
        self.report = report
        self.county = county
    }

    /// Whether it was set back to a non-closing status after it was first closed.
    public var wasReopened: Bool {
        guard let closed = closedMillis, let reopened = reopenedMillis else { return false }
        return reopened > closed
    }

    /// Folds one change of the report in.
    public mutating func apply(_ change: Change) {
        let at = change.hlc.millis
        updatedMillis = max(updatedMillis, at)
        if change.isCreate { createdMillis = min(createdMillis ?? at, at) }
        for case .set(let field, let value) in change.ops where field == .status {
            guard case .string(let status) = value else { continue }
            if status != "open" { acknowledgedMillis = min(acknowledgedMillis ?? at, at) }
            if ReportStatus.closes(status) {
                closedMillis = min(closedMillis ?? at, at)
            } else if !change.isCreate {
                reopenedMillis = max(reopenedMillis ?? at, at)
            }
        }
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
        guard report.lifecycle != "withdrawn" else { return false }
        guard case .string(let s)? = report.fields[FieldName.status.rawValue] else { return true }
        return !closes(s)
    }
}
