public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncStore

/// The county's service scorecard, from the synced change history: operators read it with every
/// group; anyone reads the public variant, whose groups of fewer than five requests are left out.
extension SyncService {
    /// The most reports one scorecard looks at (a narrower period answers the rest).
    static let scorecardMaxReports = 50_000
    /// The smallest group the public scorecard shows.
    static let publicScorecardMinimum = 5

    /// The scorecard of a county for requests received in `from...to` (operators of the county).
    public func scorecard(
        county: String, from: UInt64, to: UInt64, group: Scorecard.Grouping, by caller: Principal
    ) async throws(FieldSyncError) -> ScorecardResponse {
        try requireCounty(try requireOperator(caller), county)
        return try await computeScorecard(county: county, from: from, to: to, group: group)
    }

    /// The public scorecard: the same figures, groups under `publicScorecardMinimum` left out.
    /// Anyone may ask, so an answer is kept five minutes for the same query (periods are read
    /// to the minute), and one public scorecard is computed at a time (`overloaded` meanwhile).
    public func publicScorecard(
        county: String, from: UInt64, to: UInt64, group: Scorecard.Grouping
    ) async throws(FieldSyncError) -> ScorecardResponse {
        guard Identifier.isValid(county) else { throw FieldSyncError(.invalidRequest, "county must be an identifier") }
        let (from, to) = (from / 60_000 * 60_000, to / 60_000 * 60_000 + 59_999)
        let key = "\(county) \(from) \(to) \(group.rawValue)"
        if let cached = publicScorecards.get(key, now: now()) { return cached }
        guard publicScorecards.begin() else {
            throw FieldSyncError(.overloaded, "another public scorecard is being computed; retry in a few seconds")
        }
        defer { publicScorecards.end() }
        var card = try await computeScorecard(county: county, from: from, to: to, group: group)
        card.rows = Scorecard.publicRows(card.rows, minimum: Self.publicScorecardMinimum)
        card.minimumCount = Self.publicScorecardMinimum
        publicScorecards.put(key, card, now: now())
        return card
    }

    private func computeScorecard(
        county: String, from: UInt64, to: UInt64, group: Scorecard.Grouping
    ) async throws(FieldSyncError) -> ScorecardResponse {
        guard from <= to else { throw FieldSyncError(.invalidRequest, "from must come before to") }
        var entries: [Scorecard.Entry] = []
        var filter = ReportFilter(county: county, updatedSince: HybridTimestamp(millis: from), limit: 500)
        var truncated = false
        scan: while true {
            let page = try await store.reports(filter)
            for r in page where (from...to).contains(r.createdAt.millis) {
                var timeline = ReportTimeline(report: r.id, county: r.county)
                for c in try await store.history(of: r.id) { timeline.apply(c) }
                entries.append(
                    Scorecard.Entry(
                        timeline: timeline, serviceCode: r.serviceCode, ward: r.stringField(.ward),
                        isOpen: ReportStatus.isOpen(r)))
            }
            filter.offset += page.count
            if page.count < filter.limit { break }
            if filter.offset >= Self.scorecardMaxReports {
                truncated = true
                break scan
            }
        }
        var targets: [String: Int] = [:]
        for s in try await currentCatalogue(county)?.services ?? [] { targets[s.serviceCode] = s.targets?.resolveHours }
        return ScorecardResponse(
            county: county, fromMillis: from, toMillis: to, group: group,
            rows: Scorecard.rows(entries, from: from, to: to, by: group, resolveHours: targets, now: now()),
            truncated: truncated ? true : nil)
    }
}

extension Report {
    /// A field's value if it is a string.
    func stringField(_ name: FieldName) -> String? {
        if case .string(let s)? = fields[name.rawValue] { return s }
        return nil
    }
}
