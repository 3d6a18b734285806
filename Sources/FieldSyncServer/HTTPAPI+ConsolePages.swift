import FieldSyncConsole
import FieldSyncCore
import FieldSyncOpen311
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird

/// The console pages that read a query or act: the filtered reports list, resolving a conflict,
/// the scorecard (public without a session).
extension HTTPAPI {
    /// The reports list, filtered by the query string.
    func consoleReports(_ request: Request, _ session: ConsoleRequestSession) async throws -> Response {
        var (query, filter) = try Self.reportQuery(request, limit: 50)
        if filter.county == nil, let only = session.defaultCounty {
            (query.county, filter.county) = (only, only)
        }
        let list = try await service.reports(filter, by: session.principal)
        var notice: String?
        let q = request.uri.queryParameters
        if let changed = q["changed"].flatMap({ Int($0) }) {
            let refused = q["refused"].flatMap { Int($0) } ?? 0
            notice = "Status set on \(changed) report(s)" + (refused > 0 ? "; \(refused) refused." : ".")
        }
        return page(
            ConsolePage.reports(
                list, query: query, viewer: session.viewer, notice: notice, tiles: service.configuration.mapTiles))
    }

    /// The console's report filters from a query string: county, status, service, ward, text,
    /// received from/to (dates; `to` covers its day), open conflict, offset.
    static func reportQuery(
        _ request: Request, limit: Int
    ) throws -> (ConsolePage.ReportQuery, ReportFilter) {
        let q = request.uri.queryParameters
        // A form sent with GET writes spaces as `+` (a literal plus arrives as %2B).
        func text(_ name: String) -> String? {
            q[Substring(name)].map { $0.replacingOccurrences(of: "+", with: " ") }
                .flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        }
        func day(_ name: String, end: Bool) throws(FieldSyncError) -> UInt64? {
            guard let t = text(name) else { return nil }
            guard t.utf8.count == 10, let millis = W3CDate.parse(t) else {
                throw FieldSyncError(.invalidRequest, "\(name) must be a date such as 2026-01-31")
            }
            return UInt64(millis) + (end ? 86_399_999 : 0)
        }
        var query = ConsolePage.ReportQuery(
            county: text("county"), status: text("status"), service: text("service"), text: text("q"))
        query.ward = text("ward")
        query.tag = text("tag")
        query.from = text("from")
        query.to = text("to")
        query.conflict = text("conflict").flatMap { ["open", "none"].contains($0) ? $0 : nil }
        query.photos = text("photos").flatMap { ["any", "missing"].contains($0) ? $0 : nil }
        let order = text("sort").flatMap(ReportFilter.Order.init(rawValue:))
        query.sort = order.map(\.rawValue)
        query.offset = min(1_000_000, max(0, text("offset").flatMap { Int($0) } ?? 0))
        query.limit = limit
        var filter = ReportFilter(
            county: query.county, status: query.status, serviceCode: query.service, text: query.text,
            limit: limit, offset: query.offset)
        filter.ward = query.ward
        filter.tag = query.tag
        filter.createdFrom = try day("from", end: false)
        filter.createdTo = try day("to", end: true)
        filter.hasOpenConflict = query.conflict.map { $0 == "open" }
        filter.hasMedia = query.photos == "any" ? true : nil
        filter.mediaMissing = query.photos == "missing"
        filter.order = order ?? .updatedNewestFirst
        return (query, filter)
    }

    /// Resolves a conflict from its form: a chosen candidate, or a value entered.
    func consoleResolve(
        _ context: FieldSyncRequestContext, _ session: ConsoleRequestSession, _ form: Open311Form
    ) async throws -> Response {
        let report = context.parameters.get("report") ?? ""
        let field = context.parameters.get("field") ?? ""
        let choose = form["choose"].flatMap { $0.isEmpty ? nil : $0 }
        let value = form["value"].flatMap { $0.isEmpty ? nil : $0 }
        let request: ResolveRequest
        switch (choose, value) {
        case (let c?, _): request = ResolveRequest(choose: c)
        case (nil, let v?): request = ResolveRequest(value: .string(v))
        case (nil, nil):
            let c = try await service.conflict(report: report, field: field, resolver: nil, by: session.principal)
            return page(
                ConsolePage.conflict(c, viewer: session.viewer, error: "Choose a candidate or enter a value."),
                .badRequest)
        }
        _ = try await service.resolve(
            report: report, field: field, request, by: session.principal, from: context.clientKey)
        let path = "/console/conflicts/\(ConsoleQuery.encode(report))/\(ConsoleQuery.encode(field))"
        return Self.redirect("\(path)?resolved=1")
    }

    /// The scorecard of the last 365 days: an operator's (every group) when signed in, the public
    /// one (small groups left out) otherwise.
    func consoleScorecard(_ request: Request, _ session: ConsoleRequestSession?) async throws -> Response {
        let q = request.uri.queryParameters
        var counties = try await service.store.catalogueCounties()
        if let viewer = session?.viewer, !viewer.counties.contains("*") { counties = viewer.counties }
        let county = q[Substring("county")].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? counties.first
        let group = Scorecard.Grouping(rawValue: q[Substring("group")].map(String.init) ?? "service") ?? .service
        guard let county else {
            return page(ConsolePage.scorecard(nil, counties: counties, viewer: session?.viewer), request: request)
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let from = now - 365 * 86_400_000
        func card(_ group: Scorecard.Grouping) async throws -> ScorecardResponse {
            if let session {
                return try await service.scorecard(
                    county: county, from: from, to: now, group: group, by: session.principal)
            }
            return try await service.publicScorecard(county: county, from: from, to: now, group: group)
        }
        let chosen = try await card(group)
        let months = group == .month ? nil : try await card(.month)
        return page(
            ConsolePage.scorecard(chosen, byMonth: months, counties: counties, viewer: session?.viewer),
            request: request)
    }

    /// Field work on one report from its page's form (empty fields unchanged).
    func consoleEdit(
        _ context: FieldSyncRequestContext, _ session: ConsoleRequestSession, _ form: Open311Form
    ) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        func given(_ name: String) -> String? { form[name].flatMap { $0.isEmpty ? nil : $0 } }
        var priority: Int?
        if let p = given("priority") {
            guard let n = Int(p) else { throw FieldSyncError(.invalidRequest, "priority is 1 (urgent) to 4 (low)") }
            priority = n
        }
        let edit = SyncService.ReportEdit(
            status: given("status"), assignee: given("assignee"), priority: priority, note: given("note"))
        var refusal: FieldSyncError?
        do {
            try await service.editReport(id, edit, by: session.principal, from: context.clientKey)
        } catch {
            refusal = error
        }
        if let refusal {
            guard refusal.code == .invalidRequest else { throw refusal }
            let detail = try await service.report(id, by: session.principal)
            return page(ConsolePage.report(detail, viewer: session.viewer, error: refusal.message), .badRequest)
        }
        return Self.redirect("/console/reports/\(ConsoleQuery.encode(id))?saved=1")
    }

    /// One status for the reports ticked in the list (at most 100); each is its own change, and
    /// one refused does not stop the others. Back to the list with what happened.
    func consoleBulk(
        _ request: Request, _ context: FieldSyncRequestContext, _ session: ConsoleRequestSession,
        _ form: Open311Form
    ) async throws -> Response {
        let ids = form.values["report"] ?? []
        guard !ids.isEmpty, ids.count <= 100 else {
            throw FieldSyncError(.invalidRequest, "tick 1–100 reports for a bulk change")
        }
        let edit = SyncService.ReportEdit(status: form["status"].flatMap { $0.isEmpty ? nil : $0 })
        var done = 0
        var refused: [String] = []
        for id in ids {
            do {
                try await service.editReport(id, edit, by: session.principal, from: context.clientKey)
                done += 1
            } catch {
                refused.append("\(id.prefix(64)): \(error.message)")
            }
        }
        let back = form["back"].flatMap { $0.hasPrefix("/console/reports") ? $0 : nil } ?? "/console/reports"
        let separator = back.contains("?") ? "&" : "?"
        return Self.redirect("\(back)\(separator)changed=\(done)&refused=\(refused.count)")
    }
}
