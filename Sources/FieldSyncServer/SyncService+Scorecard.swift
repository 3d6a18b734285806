public import FieldSyncCore
public import FieldSyncProtocol
import FieldSyncStore

/// The county's service scorecard, from the synced change history: operators read it with every
/// group; anyone reads the public variant, whose groups of fewer than five requests are left out.
extension SyncService {
    /// The most changed reports a scorecard reads to bring its kept months up to date (past it,
    /// it reads the months again).
    static let scorecardMaxTouched = 20_000
    /// How often the scorecard gauges are computed again, at most.
    static let scorecardGaugeSeconds: UInt64 = 60
    /// The longest period one scorecard covers, in months.
    static let scorecardMaxMonths = 120
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
        let months = UTCMonth.covering(from: from, to: to)
        guard months.count <= Self.scorecardMaxMonths else {
            throw FieldSyncError(.invalidRequest, "a scorecard covers at most \(Self.scorecardMaxMonths / 12) years")
        }
        let (names, chunks) = try await scorecardChunks(county, months)
        var targets: [String: Int] = [:]
        for s in try await currentCatalogue(county)?.services ?? [] { targets[s.serviceCode] = s.targets?.resolveHours }
        return ScorecardResponse(
            county: county, fromMillis: from, toMillis: to, group: group,
            rows: Scorecard.rows(
                chunks, names: names, from: from, to: to, by: group, resolveHours: targets, now: now()))
    }

    /// The county's names and the packed entries of `months`: kept months from memory, the rest
    /// read from the store (four at a time) and kept.
    private func scorecardChunks(
        _ county: String, _ months: [UTCMonth]
    ) async throws(FieldSyncError) -> (Scorecard.Names, [[Scorecard.Packed]]) {
        let position = try await advanceScorecardMonths(county)
        try await loadScorecardMonths(county, months.filter { !scorecardMonths.holds(county, $0) }, at: position)
        // A month that could not be kept (another caller advanced meanwhile) is read for this answer.
        var (names, chunks, missing) = scorecardMonths.snapshot(county, months)
        for month in missing {
            let entries = try await store.scorecardEntries(county: county, from: month.startMillis, to: month.endMillis)
            chunks.append(entries.map { Scorecard.Packed($0, names: &names) })
        }
        return (names, chunks)
    }

    /// Reads months from the store, four at a time, and keeps them as of `position`.
    private func loadScorecardMonths(
        _ county: String, _ months: [UTCMonth], at position: Int64
    ) async throws(FieldSyncError) {
        let (store, kept) = (store, scorecardMonths)
        do {
            try await withThrowingTaskGroup(of: (UTCMonth, [Scorecard.Entry]).self) { group in
                var next = months.makeIterator()
                func start() {
                    guard let month = next.next() else { return }
                    group.addTask {
                        (
                            month,
                            try await store.scorecardEntries(
                                county: county, from: month.startMillis, to: month.endMillis)
                        )
                    }
                }
                for _ in 0..<4 { start() }
                while let (month, entries) = try await group.next() {
                    kept.keep(county, month, entries, loadedAt: position)
                    start()
                }
            }
        } catch {
            throw (error as? FieldSyncError) ?? FieldSyncError(.internalError, "reading the scorecard failed: \(error)")
        }
    }

    /// Sets the scorecard gauges of every county whose months are in memory, for the last 365
    /// days; at most once every `scorecardGaugeSeconds` (a scrape in between reads the last values).
    func refreshScorecardGauges() async {
        let now = now()
        guard scorecardMonths.claimGaugeRefresh(now: now, every: Self.scorecardGaugeSeconds * 1_000) else { return }
        let from = now &- min(now, 365 * 86_400_000)
        for county in scorecardMonths.counties() {
            guard let card = try? await computeScorecard(county: county, from: from, to: now, group: .service),
                let total = card.rows.first
            else { continue }
            metrics.scorecard(county: county, total: total)
        }
    }

    /// Reads every county's months of the last thirteen into memory (run when the daemon starts,
    /// so that the first scorecards answer from memory). Returns the counties and entries kept.
    public func prewarmScorecards() async -> (counties: Int, entries: Int) {
        var counties = Set((try? await store.catalogueCounties()) ?? [])
        for d in (try? await store.devices(county: nil)) ?? [] { counties.insert(d.county) }
        let now = now()
        let months = UTCMonth.covering(from: now &- min(now, 396 * 86_400_000), to: now)
        var entries = 0
        for county in counties.sorted() where !Task.isCancelled {
            guard let (_, chunks) = try? await scorecardChunks(county, months) else { continue }
            entries += chunks.reduce(0) { $0 + $1.count }
        }
        return (counties.count, entries)
    }

    /// Brings the county's kept months up to the store's last position: the entries of reports
    /// that changes since touched replace theirs. Returns the position the months are now as of.
    private func advanceScorecardMonths(_ county: String) async throws(FieldSyncError) -> Int64 {
        while true {
            let through = try await store.lastPosition()
            let known = scorecardMonths.position(county)
            var touched: [Scorecard.Entry]? = []
            if let known, known < through {
                touched = try await store.scorecardTouched(
                    county: county, after: known, through: through, limit: Self.scorecardMaxTouched)
            }
            if known.map({ $0 >= through }) == true { return known! }
            if scorecardMonths.advance(county, from: known, to: through, touched: touched) { return through }
        }
    }
}

extension Report {
    /// A field's value if it is a string.
    func stringField(_ name: FieldName) -> String? {
        if case .string(let s)? = fields[name.rawValue] { return s }
        return nil
    }
}
