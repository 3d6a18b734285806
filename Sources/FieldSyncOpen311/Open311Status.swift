public import FieldSyncCore

/// How a report's own `status` field (what officers set: `open`, `acknowledged`, `in_progress`,
/// `closed`, …) maps onto GeoReport v2's two statuses. Closed: `ReportStatus.closingValues` and
/// any withdrawn report; open: everything else, a report with no status included.
public enum Open311Status: String, Sendable, CaseIterable {
    /// Still being handled.
    case open
    /// Done with.
    case closed

    /// The GeoReport status of a report.
    public init(report: Report) {
        self.init(status: report.fields[FieldName.status.rawValue], lifecycle: report.lifecycle)
    }

    /// The GeoReport status of a status field's value and a lifecycle.
    public init(status: FieldValue?, lifecycle: String) {
        if lifecycle == "withdrawn" { self = .closed; return }
        guard case .string(let s)? = status else { self = .open; return }
        self = ReportStatus.closes(s) ? .closed : .open
    }
}
