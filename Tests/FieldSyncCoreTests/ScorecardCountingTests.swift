import FieldSyncCore
import Testing

/// The scorecard's one-pass count (packed entries, numbered groups, percentiles by selection)
/// against a plain count written here: filter, group by name, sort, take the nearest rank.
struct ScorecardCountingTests {
    static func naive(
        _ entries: [Scorecard.Entry], from: UInt64, to: UInt64, by grouping: Scorecard.Grouping,
        targets: [String: Int], now: UInt64
    ) -> [Scorecard.Row] {
        let hour = 3_600_000.0
        let week: UInt64 = 7 * 86_400_000
        func row(_ key: String, _ es: [Scorecard.Entry]) -> Scorecard.Row {
            func rank(_ v: [Double], _ p: Int) -> Double? {
                v.isEmpty ? nil : v.sorted()[max(0, Int((Double(p) / 100 * Double(v.count)).rounded(.up)) - 1)]
            }
            let ack = es.compactMap { e in
                e.status.acknowledgedMillis.map { Double($0 &- min($0, e.createdMillis)) / hour }
            }
            let close = es.compactMap { e in e.status.closedMillis.map { Double($0 &- min($0, e.createdMillis)) / hour }
            }
            let targeted = es.filter { $0.serviceCode.flatMap { targets[$0] } != nil }
            let within = targeted.filter { e in
                e.status.closedMillis.map {
                    Double($0 &- min($0, e.createdMillis)) / hour <= Double(targets[e.serviceCode!]!)
                }
                    ?? false
            }
            let open = es.filter(\.isOpen)
            return Scorecard.Row(
                key: key, received: es.count, acknowledged: ack.count, acknowledgeMedianHours: rank(ack, 50),
                acknowledgeP90Hours: rank(ack, 90), closed: close.count, closeMedianHours: rank(close, 50),
                closeP90Hours: rank(close, 90),
                closedWithinTarget: targeted.isEmpty ? nil : Double(within.count) / Double(targeted.count),
                reopened: es.filter(\.status.wasReopened).count,
                backlogNew: open.filter { now - $0.createdMillis < 4 * week }.count,
                backlogOlder: open.filter { now - $0.createdMillis >= 4 * week }.count,
                backlogStale: open.filter { now &- min(now, $0.updatedMillis) >= 8 * week }.count)
        }
        let inPeriod = entries.filter { (from...to).contains($0.createdMillis) }
        let groups = Dictionary(grouping: inPeriod) { e -> String in
            switch grouping {
            case .service: e.serviceCode ?? "(none)"
            case .ward: e.ward ?? "(none)"
            case .month: String(W3CDate.format(Int64(e.createdMillis)).prefix(7))
            }
        }
        return [row("all", inPeriod)] + groups.keys.sorted().map { row($0, groups[$0]!) }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func theOnePassCountEqualsAPlainCount(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let now: UInt64 = 1_800_000_000_000
        let day: UInt64 = 86_400_000
        // Few distinct durations in some seeds (ties), many in others.
        let spread = seed % 2 == 0 ? 5 * day : 3
        var entries: [Scorecard.Entry] = []
        for i in 0..<Int(rng.next() % 3_000) {
            let created = now - rng.next() % (400 * day)
            func later() -> UInt64? {
                rng.chance(0.7) ? created + (seed % 2 == 0 ? rng.next() % spread : (rng.next() % spread) * day) : nil
            }
            let ack = later()
            let closed = ack.flatMap { _ in later() }
            entries.append(
                Scorecard.Entry(
                    report: ReportID(rawValue: "r-\(i)")!,
                    serviceCode: rng.chance(0.9) ? ["pothole", "water", "light"][Int(rng.next() % 3)] : nil,
                    ward: rng.chance(0.9) ? "ward-\(rng.next() % 12)" : nil, createdMillis: created,
                    updatedMillis: max(created, closed ?? ack ?? created),
                    status: ReportStatusTimes(
                        acknowledgedMillis: ack, closedMillis: closed,
                        reopenedMillis: rng.chance(0.1) ? closed.map { $0 + 1 } : nil),
                    isOpen: closed == nil || rng.chance(0.1)))
        }
        let targets = ["pothole": 72, "water": 240]
        let from = now - rng.next() % (400 * day)
        for grouping in Scorecard.Grouping.allCases {
            let fast = Scorecard.rows(entries, from: from, to: now, by: grouping, resolveHours: targets, now: now)
            let plain = Self.naive(entries, from: from, to: now, by: grouping, targets: targets, now: now)
            #expect(fast == plain, "seed \(seed), \(grouping): \(entries.count) entries")
        }
    }
}
