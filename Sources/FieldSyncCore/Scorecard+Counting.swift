/// How the scorecard counts: one pass over packed entries into one tally per group (groups are
/// numbers, so no hashing per entry), then percentiles by selection rather than sorting.
extension Scorecard {
    /// The rows for the reports received in `from...to` among `chunks` (e.g. one per month),
    /// whose names are numbered in `names`; grouped, with the total first; `resolveHours` are the
    /// services' targets; `now` dates the backlog.
    public static func rows(
        _ chunks: [[Packed]], names: Names, from: UInt64, to: UInt64, by grouping: Grouping,
        resolveHours: [String: Int], now: UInt64
    ) -> [Row] {
        var targets = [UInt64](repeating: Packed.none, count: names.list.count)
        for (n, name) in names.list.enumerated() where n > 0 {
            if let hours = resolveHours[name], hours > 0 { targets[n] = UInt64(hours) * 3_600_000 }
        }
        var all = Tally()
        var groups = [Tally](repeating: Tally(), count: grouping == .month ? 0 : names.list.count)
        var monthSlots: [Int64: Int] = [:]
        var months: [UTCMonth] = []
        for chunk in chunks {
            for e in chunk where e.created >= from && e.created <= to {
                let target = targets[Int(e.service)]
                all.add(e, target: target, now: now)
                let slot: Int
                switch grouping {
                case .service: slot = Int(e.service)
                case .ward: slot = Int(e.ward)
                case .month:
                    let month = UTCMonth(containing: e.created)
                    if let known = monthSlots[month.index] {
                        slot = known
                    } else {
                        slot = groups.count
                        monthSlots[month.index] = slot
                        months.append(month)
                        groups.append(Tally())
                    }
                }
                groups[slot].add(e, target: target, now: now)
            }
        }
        var rows: [Row] = []
        for slot in groups.indices where groups[slot].received > 0 {
            let key: String
            switch grouping {
            case .service, .ward: key = names.name(UInt32(slot)) ?? "(none)"
            case .month: key = months[slot].text
            }
            rows.append(groups[slot].row(key))
        }
        return [all.row("all")] + rows.sorted { $0.key < $1.key }
    }

    /// One group's figures as entries are added.
    struct Tally {
        var received = 0
        var acknowledgeMillis: [UInt64] = []
        var closeMillis: [UInt64] = []
        var withTarget = 0
        var withinTarget = 0
        var reopened = 0
        var backlogNew = 0
        var backlogOlder = 0
        var backlogStale = 0

        mutating func add(_ e: Packed, target: UInt64, now: UInt64) {
            received += 1
            let start = e.created
            if e.acknowledged != Packed.none { acknowledgeMillis.append(e.acknowledged &- min(e.acknowledged, start)) }
            let close = e.closed == Packed.none ? nil : e.closed &- min(e.closed, start)
            if let close { closeMillis.append(close) }
            if target != Packed.none {
                withTarget += 1
                if let close, close <= target { withinTarget += 1 }
            }
            if e.reopened { reopened += 1 }
            guard e.isOpen else { return }
            if now &- min(now, start) < 4 * week { backlogNew += 1 } else { backlogOlder += 1 }
            if now &- min(now, e.updated) >= 8 * week { backlogStale += 1 }
        }

        mutating func row(_ key: String) -> Row {
            let ack = Scorecard.percentiles(&acknowledgeMillis)
            let close = Scorecard.percentiles(&closeMillis)
            return Row(
                key: key, received: received, acknowledged: acknowledgeMillis.count,
                acknowledgeMedianHours: ack?.median, acknowledgeP90Hours: ack?.p90,
                closed: closeMillis.count, closeMedianHours: close?.median, closeP90Hours: close?.p90,
                closedWithinTarget: withTarget == 0 ? nil : Double(withinTarget) / Double(withTarget),
                reopened: reopened, backlogNew: backlogNew, backlogOlder: backlogOlder, backlogStale: backlogStale)
        }
    }

    /// The nearest-rank median and 90th percentile of durations in milliseconds, in hours (nil
    /// when there are none). Reorders `values`.
    static func percentiles(_ values: inout [UInt64]) -> (median: Double, p90: Double)? {
        guard !values.isEmpty else { return nil }
        func rank(_ p: Int) -> Int { max(0, min(values.count - 1, (p * values.count + 99) / 100 - 1)) }
        let (m, n) = (rank(50), rank(90))
        select(&values, m, in: 0..<values.count)
        select(&values, n, in: m..<values.count)
        return (Double(values[m]) / hour, Double(values[n]) / hour)
    }

    /// Puts the `k`-th smallest of `range` at `k`, smaller before and larger after (quickselect,
    /// median-of-three pivots; expected linear time).
    static func select(_ a: inout [UInt64], _ k: Int, in range: Range<Int>) {
        var (lo, hi) = (range.lowerBound, range.upperBound - 1)
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var (i, j) = (lo, hi)
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                hi = j
            } else if k >= i {
                lo = i
            } else {
                return
            }
        }
    }
}
