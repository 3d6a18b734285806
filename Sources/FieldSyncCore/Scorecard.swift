/// The county's public service scorecard, computed from report timelines (I/O-free): per
/// service, ward or month, requests received, time to acknowledge and to close (median and 90th
/// percentile, nearest rank), the share closed within the service's target, requests reopened,
/// and the open backlog by age (new under 4 weeks, older, no update for 8 weeks or more).
public enum Scorecard {
    /// How rows are grouped.
    public enum Grouping: String, Sendable, CaseIterable, Codable {
        /// By the report's service code.
        case service
        /// By the report's ward.
        case ward
        /// By the month it was received (`YYYY-MM`, UTC).
        case month
    }

    /// One report as the scorecard counts it: when it was received and last changed, its
    /// status times, and its service, ward and openness now. Stores keep these figures in each
    /// report's row, so a scorecard reads one compact entry per report.
    public struct Entry: Sendable, Hashable {
        /// The report.
        public var report: ReportID
        /// Its service now.
        public var serviceCode: String?
        /// Its ward now.
        public var ward: String?
        /// When it was received (its creation's time).
        public var createdMillis: UInt64
        /// When it last changed.
        public var updatedMillis: UInt64
        /// Its status times.
        public var status: ReportStatusTimes
        /// Whether it is open now.
        public var isOpen: Bool

        /// An entry.
        public init(
            report: ReportID, serviceCode: String?, ward: String?, createdMillis: UInt64, updatedMillis: UInt64,
            status: ReportStatusTimes, isOpen: Bool
        ) {
            self.report = report
            self.serviceCode = serviceCode
            self.ward = ward
            self.createdMillis = createdMillis
            self.updatedMillis = updatedMillis
            self.status = status
            self.isOpen = isOpen
        }

        /// The entry of a report whose timeline was folded from its history (`nil` if the
        /// history holds no creation).
        public init?(timeline: ReportTimeline, serviceCode: String?, ward: String?, isOpen: Bool) {
            guard let created = timeline.createdMillis else { return nil }
            self.init(
                report: timeline.report, serviceCode: serviceCode, ward: ward, createdMillis: created,
                updatedMillis: timeline.updatedMillis,
                status: timeline.status, isOpen: isOpen)
        }
    }

    /// One row of figures.
    public struct Row: Sendable, Hashable, Codable {
        /// The service code, ward or month (`YYYY-MM`), or `all` for the total.
        public var key: String
        /// Requests received in the period.
        public var received: Int
        /// Of those, acknowledged (a status other than `open`).
        public var acknowledged: Int
        /// The median hours to acknowledge.
        public var acknowledgeMedianHours: Double?
        /// The 90th percentile of hours to acknowledge.
        public var acknowledgeP90Hours: Double?
        /// Of those, closed (a closing status).
        public var closed: Int
        /// The median hours to close.
        public var closeMedianHours: Double?
        /// The 90th percentile of hours to close.
        public var closeP90Hours: Double?
        /// The share of those whose service has a target that were closed within it (nil: none).
        public var closedWithinTarget: Double?
        /// Of those, closed then set back to a non-closing status.
        public var reopened: Int
        /// Of those still open now, received under 4 weeks ago.
        public var backlogNew: Int
        /// Of those still open now, received 4 weeks ago or more.
        public var backlogOlder: Int
        /// Of those still open now, with no update for 8 weeks or more.
        public var backlogStale: Int

        /// A row.
        public init(
            key: String, received: Int, acknowledged: Int, acknowledgeMedianHours: Double?,
            acknowledgeP90Hours: Double?, closed: Int, closeMedianHours: Double?, closeP90Hours: Double?,
            closedWithinTarget: Double?, reopened: Int, backlogNew: Int, backlogOlder: Int, backlogStale: Int
        ) {
            self.key = key
            self.received = received
            self.acknowledged = acknowledged
            self.acknowledgeMedianHours = acknowledgeMedianHours
            self.acknowledgeP90Hours = acknowledgeP90Hours
            self.closed = closed
            self.closeMedianHours = closeMedianHours
            self.closeP90Hours = closeP90Hours
            self.closedWithinTarget = closedWithinTarget
            self.reopened = reopened
            self.backlogNew = backlogNew
            self.backlogOlder = backlogOlder
            self.backlogStale = backlogStale
        }

        enum CodingKeys: String, CodingKey {
            case key, received, acknowledged, closed, reopened
            case acknowledgeMedianHours = "acknowledge_median_hours", acknowledgeP90Hours = "acknowledge_p90_hours"
            case closeMedianHours = "close_median_hours", closeP90Hours = "close_p90_hours"
            case closedWithinTarget = "closed_within_target"
            case backlogNew = "backlog_new", backlogOlder = "backlog_older", backlogStale = "backlog_stale"
        }
    }

    static let hour = 3_600_000.0
    static let week: UInt64 = 7 * 86_400_000

    /// The rows for the reports received in `from...to`, grouped, with the total first;
    /// `resolveHours` are the services' targets; `now` dates the backlog. Entries received
    /// outside the period are skipped, so a caller may pass whole months.
    public static func rows(
        _ entries: [Entry], from: UInt64, to: UInt64, by grouping: Grouping, resolveHours: [String: Int], now: UInt64
    ) -> [Row] {
        var names = Names()
        let packed = entries.map { Packed($0, names: &names) }
        return rows([packed], names: names, from: from, to: to, by: grouping, resolveHours: resolveHours, now: now)
    }

    /// The nearest-rank percentile of sorted values (nil when there are none).
    public static func percentile(_ sorted: [Double], _ p: Int) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = (p * sorted.count + 99) / 100
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    /// The public variant: rows of fewer than `minimum` requests are left out (no detail that
    /// could point at a person), the total kept.
    public static func publicRows(_ rows: [Row], minimum: Int) -> [Row] {
        rows.filter { $0.key == "all" || $0.received >= minimum }
    }
}
