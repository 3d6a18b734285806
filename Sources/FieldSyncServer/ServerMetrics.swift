import FieldSyncCore
import Foundation
public import Prometheus

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
        changesIngested = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "changes_ingested", unitName: "total",
                helpText: "Changes applied from pushes and resolutions"))
        changesDuplicate = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "changes_duplicate", unitName: "total",
                helpText: "Pushed changes already held"))
        changesServed = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "changes_served", unitName: "total",
                helpText: "Changes sent to devices in pulls"))
        conflictsOpened = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "conflicts_opened", unitName: "total",
                helpText: "Fields that went into conflict"))
        conflictsResolved = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "conflicts_resolved", unitName: "total",
                helpText: "Conflict resolutions recorded"))
        bytesIn = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "http_bytes_in", unitName: "total",
                helpText: "Request body bytes received (on the wire)"))
        bytesOut = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "http_bytes_out", unitName: "total",
                helpText: "Response body bytes sent (on the wire)"))
        syncLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "fieldsync", metricName: "sync_duration", unitName: "seconds",
                helpText: "Time to serve one sync request"),
            buckets: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            ])
    }

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "fieldsync", metricName: "http_requests", unitName: "total",
            helpText: "HTTP requests by route, method and status")
    }

    /// Counts one request by route and status.
    func request(route: String, method: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
    }

    static var refused: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "fieldsync", metricName: "changes_refused", unitName: "total",
            helpText: "Pushed changes refused, by code (kept in the bounded quarantine)")
    }

    /// Counts refused changes by their code (a fixed set of labels).
    func refused(_ verdicts: [RefusedChange]) {
        var byCode: [FieldSyncError.Code: Int64] = [:]
        for v in verdicts { byCode[v.code, default: 0] += 1 }
        for (code, n) in byCode {
            registry.makeCounter(descriptor: Self.refused, labels: [("code", code.rawValue)]).increment(by: n)
        }
    }

    /// Counts a failed sign-in (a wrong token or a refused registration), and whether it was
    /// answered `429` (the address or the server over its budget).
    func signInFailed(limited: Bool) {
        registry.makeCounter(descriptor: Self.signInsFailed, labels: [("limited", limited ? "true" : "false")])
            .increment()
    }

    static var signInsFailed: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "fieldsync", metricName: "sign_ins_failed", unitName: "total",
            helpText: "Failed sign-ins and refused registrations, by whether they were rate limited")
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}
