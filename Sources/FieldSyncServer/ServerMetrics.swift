import Foundation
import Prometheus

/// The daemon's Prometheus metrics, in a registry owned by one server (no global state).
public struct ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    let changesIngested: Counter
    let changesDuplicate: Counter
    let changesServed: Counter
    let conflictsOpened: Counter
    let conflictsResolved: Counter
    let bytesIn: Counter
    let bytesOut: Counter
    let syncLatency: DurationHistogram

    /// Creates the metrics.
    public init() {
        changesIngested = registry.makeCounter(name: "fieldsync_changes_ingested_total", help: "Changes applied from pushes and resolutions")
        changesDuplicate = registry.makeCounter(name: "fieldsync_changes_duplicate_total", help: "Pushed changes already held")
        changesServed = registry.makeCounter(name: "fieldsync_changes_served_total", help: "Changes sent to devices in pulls")
        conflictsOpened = registry.makeCounter(name: "fieldsync_conflicts_opened_total", help: "Fields that went into conflict")
        conflictsResolved = registry.makeCounter(name: "fieldsync_conflicts_resolved_total", help: "Conflict resolutions recorded")
        bytesIn = registry.makeCounter(name: "fieldsync_http_bytes_in_total", help: "Request body bytes received (on the wire)")
        bytesOut = registry.makeCounter(name: "fieldsync_http_bytes_out_total", help: "Response body bytes sent (on the wire)")
        syncLatency = registry.makeDurationHistogram(
            name: "fieldsync_sync_duration_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)],
            help: "Time to serve one sync request")
    }

    /// Counts one request by route and status.
    func request(route: String, method: String, status: Int) {
        registry.makeCounter(name: "fieldsync_http_requests_total",
                             labels: [("route", route), ("method", method), ("status", String(status))],
                             help: "HTTP requests by route, method and status").increment()
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}
