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

    /// One report as the scorecard counts it: its timeline and what it is now.
    public struct Entry: Sendable, Hashable {
        /// Its timeline.
        public var timeline: ReportTimeline
        /// Its service now.
        public var serviceCode: String?
        /// Its ward now.
        public var ward: String?
        /// Whether it is open now.
        public var isOpen: Bool

        /// An entry.
        public init(timeline: ReportTimeline, serviceCode: String?, ward: String?, isOpen: Bool) {
            self.timeline = timeline
            self.serviceCode = serviceCode
            self.ward = ward
            self.isOpen = isOpen
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
    /// `resolveHours` are the services' targets; `now` dates the backlog.
    public static func rows(
        _ entries: [Entry], from: UInt64, to: UInt64, by grouping: Grouping, resolveHours: [String: Int], now: UInt64
    ) -> [Row] {
        let received = entries.filter {
            ($0.timeline.createdMillis).map { (from...max(from, to)).contains($0) } ?? false
        }
        var groups: [String: [Entry]] = [:]
        for e in received { groups[key(e, grouping), default: []].append(e) }
        return [row("all", received, resolveHours, now)]
            + groups.keys.sorted().map { row($0, groups[$0]!, resolveHours, now) }
    }

    static func key(_ e: Entry, _ grouping: Grouping) -> String {
        switch grouping {
        case .service: e.serviceCode ?? "(none)"
        case .ward: e.ward ?? "(none)"
        case .month: String(W3CDate.format(Int64(clamping: e.timeline.createdMillis ?? 0)).prefix(7))
        }
    }

    static func row(_ key: String, _ entries: [Entry], _ targets: [String: Int], _ now: UInt64) -> Row {
        func hours(_ end: (ReportTimeline) -> UInt64?) -> [Double] {
            entries.compactMap { e in
                guard let start = e.timeline.createdMillis, let stop = end(e.timeline) else { return nil }
                return Double(stop &- min(stop, start)) / hour
            }.sorted()
        }
        let ack = hours(\.acknowledgedMillis)
        let close = hours(\.closedMillis)
        let withTarget = entries.compactMap { e -> Bool? in
            guard let code = e.serviceCode, let target = targets[code] else { return nil }
            guard let start = e.timeline.createdMillis, let closed = e.timeline.closedMillis else { return false }
            return Double(closed &- min(closed, start)) / hour <= Double(target)
        }
        let open = entries.filter(\.isOpen)
        let young = open.filter { now &- min(now, $0.timeline.createdMillis ?? 0) < 4 * week }.count
        return Row(
            key: key, received: entries.count, acknowledged: ack.count,
            acknowledgeMedianHours: percentile(ack, 50), acknowledgeP90Hours: percentile(ack, 90),
            closed: close.count, closeMedianHours: percentile(close, 50), closeP90Hours: percentile(close, 90),
            closedWithinTarget: withTarget.isEmpty
                ? nil : Double(withTarget.filter { $0 }.count) / Double(withTarget.count),
            reopened: entries.filter(\.timeline.wasReopened).count,
            backlogNew: young, backlogOlder: open.count - young,
            backlogStale: open.filter { now &- min(now, $0.timeline.updatedMillis) >= 8 * week }.count)
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
