import FieldSyncCore
import FieldSyncProtocol
import Hummingbird

/// The service scorecard's routes: operators' (`/v1/scorecard`) and the public one.
extension HTTPAPI {
    func addScorecardRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/v1/scorecard") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "from", "to", "group"])
                let caller = try await self.principal(request, context)
                guard let county = try Self.county(q.get("county")) ?? Self.defaultCounty(caller) else {
                    throw FieldSyncError(.invalidRequest, "give county (you read several)")
                }
                let (from, to, group) = try self.scorecardPeriod(q)
                return try self.respond(
                    try await self.service.scorecard(county: county, from: from, to: to, group: group, by: caller),
                    to: request)
            }
        }
        router.get("/v1/public/scorecard") { request, _ in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "from", "to", "group"])
                guard let county = try Self.county(q.get("county")) else {
                    throw FieldSyncError(.invalidRequest, "give county")
                }
                let (from, to, group) = try self.scorecardPeriod(q)
                var response = try self.respond(
                    try await self.service.publicScorecard(county: county, from: from, to: to, group: group),
                    to: request)
                response.headers[.accessControlAllowOrigin] = "*"
                return response
            }
        }
    }

    /// `from`/`to` (W3C dates or date-times; a date alone as `to` covers its whole day; default:
    /// the last 365 days) and `group` (service, ward or month; default service).
    func scorecardPeriod(_ q: Parameters) throws(FieldSyncError) -> (UInt64, UInt64, Scorecard.Grouping) {
        func bound(_ name: String, end: Bool) throws(FieldSyncError) -> UInt64? {
            guard let text = q.get(name) else { return nil }
            guard let millis = W3CDate.parse(text) else {
                throw FieldSyncError(.invalidRequest, "\(name) must be a date (2026-01-31) or a date-time with a zone")
            }
            return UInt64(millis) + (end && text.utf8.count == 10 ? 86_399_999 : 0)
        }
        let to = try bound("to", end: true) ?? service.now()
        let from = try bound("from", end: false) ?? to &- min(to, 365 * 86_400_000)
        guard from <= to else { throw FieldSyncError(.invalidRequest, "from must come before to") }
        guard to - from <= 3_660 * 86_400_000 else {
            throw FieldSyncError(.invalidRequest, "a period is at most 10 years")
        }
        let group =
            try q.get("group").map { (g: String) throws(FieldSyncError) -> Scorecard.Grouping in
                guard let grouping = Scorecard.Grouping(rawValue: g) else {
                    throw FieldSyncError(.invalidRequest, "group is service, ward or month")
                }
                return grouping
            } ?? .service
        return (from, to, group)
    }
}
