import FieldSyncCore
import Prometheus

/// The scorecard's headline figures as gauges, per county, for the requests received in the last
/// 365 days (the scorecard's default period): what the county's dashboard or alerting reads.
extension ServerMetrics {
    /// The gauges, by the figure's name and help text.
    static let scorecardGauges: [(name: String, help: String, value: @Sendable (Scorecard.Row) -> Double?)] = [
        ("scorecard_received", "Requests received in the last 365 days", { Double($0.received) }),
        ("scorecard_acknowledged", "Of those, acknowledged", { Double($0.acknowledged) }),
        ("scorecard_closed", "Of those, closed", { Double($0.closed) }),
        (
            "scorecard_reopened", "Of those, closed then set back to a status that does not close",
            {
                Double($0.reopened)
            }
        ),
        ("scorecard_acknowledge_median_hours", "Median hours to acknowledge", { $0.acknowledgeMedianHours }),
        ("scorecard_acknowledge_p90_hours", "90th percentile of hours to acknowledge", { $0.acknowledgeP90Hours }),
        ("scorecard_close_median_hours", "Median hours to close", { $0.closeMedianHours }),
        ("scorecard_close_p90_hours", "90th percentile of hours to close", { $0.closeP90Hours }),
        ("scorecard_closed_within_target_ratio", "Share closed within the service's target", { $0.closedWithinTarget }),
        ("scorecard_backlog_new", "Still open, received under 4 weeks ago", { Double($0.backlogNew) }),
        ("scorecard_backlog_older", "Still open, received 4 weeks ago or more", { Double($0.backlogOlder) }),
        ("scorecard_backlog_stale", "Still open, no update for 8 weeks or more", { Double($0.backlogStale) }),
    ]

    /// Sets a county's gauges from its total row (NaN where a figure has no value).
    func scorecard(county: String, total row: Scorecard.Row) {
        for gauge in Self.scorecardGauges {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "fieldsync", metricName: gauge.name, unitName: "", helpText: gauge.help),
                labels: [("county", county)]
            ).set(gauge.value(row) ?? .nan)
        }
    }
}
