/// When a report's status first left `open` (acknowledged), first took a closing value
/// (`ReportStatus`), and was last set back to a value that does not close it. Folding changes in
/// is commutative and idempotent (minimums and maximums of their times), so every replica that
/// holds the same changes has the same times, in whatever order they arrived.
public struct ReportStatusTimes: Sendable, Hashable, Codable {
    /// When its status was first set to anything but `open`.
    public var acknowledgedMillis: UInt64?
    /// When its status was first set to a closing value.
    public var closedMillis: UInt64?
    /// When its status was last set to a value that does not close it (creation excluded).
    public var reopenedMillis: UInt64?

    /// No status change yet.
    public init(acknowledgedMillis: UInt64? = nil, closedMillis: UInt64? = nil, reopenedMillis: UInt64? = nil) {
        self.acknowledgedMillis = acknowledgedMillis
        self.closedMillis = closedMillis
        self.reopenedMillis = reopenedMillis
    }

    /// Whether it was set back to a non-closing status after it was first closed.
    public var wasReopened: Bool {
        guard let closed = closedMillis, let reopened = reopenedMillis else { return false }
        return reopened > closed
    }

    /// Folds one change of the report in (changes that do not set the status leave it as it is).
    public mutating func fold(_ change: Change) {
        let at = change.hlc.millis
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

    /// The times of a report's whole history.
    public init(history: some Sequence<Change>) {
        self.init()
        for c in history { fold(c) }
    }
}
