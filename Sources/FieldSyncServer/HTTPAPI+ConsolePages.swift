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
        let q = request.uri.queryParameters
        // A form sent with GET writes spaces as `+` (a literal plus arrives as %2B).
        func text(_ name: String) -> String? {
            q[Substring(name)].map { $0.replacingOccurrences(of: "+", with: " ") }
                .flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        }
        var query = ConsolePage.ReportQuery(
            county: text("county"), status: text("status"), service: text("service"), text: text("q"))
        query.offset = min(1_000_000, max(0, text("offset").flatMap { Int($0) } ?? 0))
        let filter = ReportFilter(
            county: query.county, status: query.status, serviceCode: query.service, text: query.text,
            limit: query.limit, offset: query.offset)
        let list = try await service.reports(filter, by: session.principal)
        return page(ConsolePage.reports(list, query: query, viewer: session.viewer))
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
            return page(ConsolePage.scorecard(nil, counties: counties, viewer: session?.viewer))
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let from = now - 365 * 86_400_000
        let card: ScorecardResponse
        if let session {
            card = try await service.scorecard(county: county, from: from, to: now, group: group, by: session.principal)
        } else {
            card = try await service.publicScorecard(county: county, from: from, to: now, group: group)
        }
        return page(ConsolePage.scorecard(card, counties: counties, viewer: session?.viewer))
    }
}
