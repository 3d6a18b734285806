public import FieldSyncCore
public import FieldSyncOpen311
import FieldSyncSigning
import FieldSyncStore
import Foundation

/// Open311 GeoReport v2 on the synced history: the county's catalogue as services, its reports
/// as service requests, and requests citizens file through a client application (with a key an
/// admin issued) created as changes signed by the server, which reach the county's officers at
/// their next sync. Nothing personal is ever served.
extension SyncService {
    /// The longest window `requests` and `servicerequestupdates` cover.
    static let open311WindowMillis: Int64 = 90 * 86_400_000
    /// The most requests one answer lists.
    static let open311MaxRequests = 1_000
    /// The most reports one answer looks at.
    static let open311MaxScanned = 20_000

    /// The county a request is about, and its catalogue: `jurisdiction_id`, or the only county
    /// that publishes one.
    func open311County(_ jurisdiction: String?) async throws(FieldSyncError) -> (String, ServiceCatalogue) {
        let counties = try await store.catalogueCounties()
        let county: String
        if let jurisdiction {
            guard counties.contains(jurisdiction) else {
                throw FieldSyncError(.notFound, "jurisdiction_id '\(jurisdiction.prefix(64))' is not served here")
            }
            county = jurisdiction
        } else {
            guard counties.count == 1 else {
                throw counties.isEmpty
                    ? FieldSyncError(.notFound, "no jurisdiction publishes services here yet")
                    : FieldSyncError(
                        .invalidRequest, "jurisdiction_id is required: one of \(counties.joined(separator: ", "))")
            }
            county = counties[0]
        }
        guard let catalogue = try await currentCatalogue(county) else {
            throw FieldSyncError(.notFound, "jurisdiction '\(county)' has no services")
        }
        return (county, catalogue)
    }

    /// `services.{fmt}`.
    public func open311Services(jurisdiction: String?) async throws(FieldSyncError) -> Open311Node {
        Open311Documents.services(try await open311County(jurisdiction).1)
    }

    /// `services/{code}.{fmt}`.
    public func open311Definition(jurisdiction: String?, code: String) async throws(FieldSyncError) -> Open311Node {
        guard let service = try await open311County(jurisdiction).1.service(code) else {
            throw FieldSyncError(.notFound, "no service '\(code.prefix(64))'")
        }
        return Open311Documents.definition(service)
    }

    /// `requests/{id}.{fmt}`: one request, as a one-element list.
    public func open311Request(jurisdiction: String?, id: String) async throws(FieldSyncError) -> Open311Node {
        let (county, catalogue) = try await open311County(jurisdiction)
        guard let rid = ReportID(rawValue: id), let report = try await store.report(rid), report.county == county else {
            throw FieldSyncError(.notFound, "no service request '\(id.prefix(64))'")
        }
        return .list(item: "request", [document(report, catalogue)])
    }

    /// `tokens/{token}.{fmt}`: FieldSync files at once, so a token is the request's id.
    public func open311Token(jurisdiction: String?, token: String) async throws(FieldSyncError) -> Open311Node {
        let (county, _) = try await open311County(jurisdiction)
        guard let rid = ReportID(rawValue: token), let report = try await store.report(rid), report.county == county
        else {
            throw FieldSyncError(.notFound, "no request for token '\(token.prefix(64))'")
        }
        return Open311Documents.token(rid)
    }

    /// `requests.{fmt}` (GET): by id (a comma list, which overrides the rest), or by service,
    /// status and a window of requested dates (default: the last 90 days, at most 1,000).
    public func open311Requests(jurisdiction: String?, query: Open311Form) async throws(FieldSyncError) -> Open311Node {
        let (county, catalogue) = try await open311County(jurisdiction)
        let ids = query["service_request_id"].flatMap { $0.isEmpty ? nil : $0 }
        // Every parameter is checked for form; service_request_id then overrides the rest.
        let (start, end) = try Self.window(query, now: Int64(clamping: now()), checkingSpan: ids == nil)
        let codes = query["service_code"].map { Set($0.split(separator: ",").map(String.init)) }
        let statuses = try query["status"].map(Self.statuses)
        if let ids {
            let list = ids.split(separator: ",").map(String.init)
            guard list.count <= 100 else { throw FieldSyncError(.invalidRequest, "at most 100 service_request_id") }
            var found: [Open311Node] = []
            for id in list {
                if let rid = ReportID(rawValue: id), let r = try await store.report(rid), r.county == county {
                    found.append(document(r, catalogue))
                }
            }
            return .list(item: "request", found)
        }
        var found: [Open311Node] = []
        try await scan(county: county, since: start) { r in
            let requested = Int64(clamping: r.createdAt.millis)
            guard (start...end).contains(requested), codes.map({ $0.contains(r.serviceCode ?? "") }) ?? true,
                statuses.map({ $0.contains(Open311Status(report: r)) }) ?? true
            else { return true }
            found.append(document(r, catalogue))
            return found.count < Self.open311MaxRequests
        }
        return .list(item: "request", found)
    }

    /// Reports of `county` updated since `since`, newest first, until `visit` says stop or
    /// `open311MaxScanned` were looked at.
    func scan(
        county: String, since: Int64, _ visit: (Report) async throws(FieldSyncError) -> Bool
    ) async throws(FieldSyncError) {
        var filter = ReportFilter(
            county: county, updatedSince: HybridTimestamp(millis: UInt64(clamping: since)), limit: 500)
        while filter.offset < Self.open311MaxScanned {
            let page = try await store.reports(filter)
            for r in page where !(try await visit(r)) { return }
            if page.count < filter.limit { return }
            filter.offset += page.count
        }
    }

    func document(_ r: Report, _ catalogue: ServiceCatalogue) -> Open311Node {
        Open311Documents.request(
            r, service: r.serviceCode.flatMap(catalogue.service), offsetMinutes: configuration.open311OffsetMinutes)
    }

    /// `start_date`/`end_date`: W3C date-times, at most 90 days apart (default: the last 90 days).
    static func window(
        _ query: Open311Form, now: Int64, checkingSpan: Bool = true
    ) throws(FieldSyncError) -> (Int64, Int64) {
        func date(_ name: String) throws(FieldSyncError) -> Int64? {
            guard let text = query[name], !text.isEmpty else { return nil }
            guard let millis = W3CDate.parse(text) else {
                throw FieldSyncError(
                    .invalidRequest, "\(name) must be a W3C date-time such as 2026-11-01T00:00:00+03:00")
            }
            return millis
        }
        let end = try date("end_date") ?? now
        let start = try date("start_date") ?? end - open311WindowMillis
        guard !checkingSpan || (start <= end && end - start <= open311WindowMillis) else {
            throw FieldSyncError(.invalidRequest, "start_date must come before end_date, at most 90 days before it")
        }
        return (start, end)
    }

    static func statuses(_ text: String) throws(FieldSyncError) -> Set<Open311Status> {
        var set = Set<Open311Status>()
        for s in text.split(separator: ",") {
            guard let status = Open311Status(rawValue: String(s)) else {
                throw FieldSyncError(.invalidRequest, "status is open, closed, or both separated by a comma")
            }
            set.insert(status)
        }
        return set
    }
}

extension Report {
    /// The report's `service_code`, if it is a string.
    var serviceCode: String? { stringField(.serviceCode) }
}
