import FieldSyncCore
import Synchronization

/// The scorecard entries of each county's months, packed and kept in memory, so that a year's
/// scorecard reads from the store only the reports that changed since it was last asked.
///
/// Each county's months are as of a pull position. Before answering, the caller asks the store
/// for the entries of reports that changes since that position touched and `advance`s: each
/// replaces its report's entry in its month (a report's month, that of its creation, never
/// changes). Advancing is compare-and-set on the position, so two callers never apply updates out
/// of order; a month loaded after the position was read is kept only if the position is still
/// the same (`keep`), so a kept month never misses a change. Bounded: past `maxEntries` the least
/// recently used months go (about 80 bytes an entry).
final class ScorecardMonths: Sendable {
    /// One month's entries, with where each report's entry is.
    struct Month {
        var entries: [Scorecard.Packed] = []
        var slots: [UInt64: Int] = [:]
        var lastUse: UInt64 = 0

        mutating func put(_ p: Scorecard.Packed) {
            if let i = slots[p.key] {
                entries[i] = p
            } else {
                slots[p.key] = entries.count
                entries.append(p)
            }
        }
    }

    /// One county's months.
    struct County {
        var position: Int64
        var names = Scorecard.Names()
        var months: [Int64: Month] = [:]
    }

    private struct State {
        var counties: [String: County] = [:]
        var entries = 0
        var clock: UInt64 = 0
        var gaugesAt: UInt64?
    }

    /// The most entries kept, all counties together.
    let maxEntries: Int
    private let state = Mutex(State())

    /// A cache of at most `maxEntries` entries.
    init(maxEntries: Int = 2_000_000) { self.maxEntries = maxEntries }

    /// The position the county's months are as of (nil: nothing kept).
    func position(_ county: String) -> Int64? { state.withLock { $0.counties[county]?.position } }

    /// Moves the county's months from position `from` to `to`, putting the `touched` entries in
    /// the months kept (nil: too many changed, every month of the county is dropped). False if the
    /// county is no longer at `from` (someone else advanced it: read the position again).
    func advance(_ county: String, from: Int64?, to: Int64, touched: [Scorecard.Entry]?) -> Bool {
        state.withLock { s in
            guard var c = s.counties[county] else {
                guard from == nil else { return false }
                // Anyone may ask the public scorecard for any county name: forget empty ones.
                if s.counties.count >= 1_000 { s.counties = s.counties.filter { !$0.value.months.isEmpty } }
                s.counties[county] = County(position: to)
                return true
            }
            guard c.position == from else { return false }
            if let touched {
                for e in touched {
                    let month = UTCMonth(containing: e.createdMillis).index
                    guard c.months[month] != nil else { continue }
                    let packed = Scorecard.Packed(e, names: &c.names)
                    let before = c.months[month]!.entries.count
                    c.months[month]!.put(packed)
                    s.entries += c.months[month]!.entries.count - before
                }
            } else {
                s.entries -= c.months.values.reduce(0) { $0 + $1.entries.count }
                c.months = [:]
            }
            c.position = to
            s.counties[county] = c
            return true
        }
    }

    /// The counties with months kept, sorted.
    func counties() -> [String] {
        state.withLock { s in s.counties.filter { !$0.value.months.isEmpty }.keys.sorted() }
    }

    /// Claims the refresh of the gauges if the last was `every` milliseconds before `now` or more.
    func claimGaugeRefresh(now: UInt64, every: UInt64) -> Bool {
        state.withLock { s in
            if let last = s.gaugesAt, now &- min(now, last) < every { return false }
            s.gaugesAt = now
            return true
        }
    }

    /// Whether a month of the county is kept.
    func holds(_ county: String, _ month: UTCMonth) -> Bool {
        state.withLock { $0.counties[county]?.months[month.index] != nil }
    }

    /// Keeps a month loaded after the county was advanced to `position`, unless someone advanced
    /// it further meanwhile (the load may then miss a change) or it alone exceeds the bound.
    func keep(_ county: String, _ month: UTCMonth, _ entries: [Scorecard.Entry], loadedAt position: Int64) {
        guard entries.count <= maxEntries else { return }
        state.withLock { s in
            guard var c = s.counties[county], c.position == position, c.months[month.index] == nil else { return }
            var m = Month()
            for e in entries { m.put(Scorecard.Packed(e, names: &c.names)) }
            s.clock += 1
            m.lastUse = s.clock
            s.entries += m.entries.count
            c.months[month.index] = m
            s.counties[county] = c
            while s.entries > maxEntries, Self.evictOldest(&s) {}
        }
    }

    /// The county's names and the kept months among `months`, and the months not kept.
    func snapshot(
        _ county: String, _ months: [UTCMonth]
    ) -> (names: Scorecard.Names, chunks: [[Scorecard.Packed]], missing: [UTCMonth]) {
        state.withLock { s in
            guard var c = s.counties[county] else { return (Scorecard.Names(), [], months) }
            var chunks: [[Scorecard.Packed]] = []
            var missing: [UTCMonth] = []
            s.clock += 1
            for month in months {
                if c.months[month.index] != nil {
                    c.months[month.index]!.lastUse = s.clock
                    chunks.append(c.months[month.index]!.entries)
                } else {
                    missing.append(month)
                }
            }
            s.counties[county] = c
            return (c.names, chunks, missing)
        }
    }

    /// Drops the least recently used month; false if there is none.
    private static func evictOldest(_ s: inout State) -> Bool {
        var oldest: (county: String, month: Int64, use: UInt64)?
        for (county, c) in s.counties {
            for (month, m) in c.months where oldest.map({ m.lastUse < $0.use }) ?? true {
                oldest = (county, month, m.lastUse)
            }
        }
        guard let oldest, let gone = s.counties[oldest.county]?.months.removeValue(forKey: oldest.month) else {
            return false
        }
        s.entries -= gone.entries.count
        return true
    }
}
