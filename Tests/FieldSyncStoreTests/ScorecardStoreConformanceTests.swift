import FieldSyncCore
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// The scorecard's entries as each engine keeps them in its report rows, against the reference:
/// every report's timeline folded from its whole history, and its service, ward and openness
/// from an in-memory replica. Seeded histories from three devices writing concurrently (status
/// set both ways, closed and reopened, withdrawn and restored, service and ward changed) over
/// several months, ingested in shuffled batches with duplicates.
@Suite(.serialized) struct ScorecardStoreConformanceTests {
    static let base: UInt64 = 1_790_000_000_000  // 2026-09-21
    static let statuses: [FieldValue] = ["acknowledged", "in_progress", "closed", "Resolved", "open", "fixed"]

    /// Three devices' changes to shared reports, over about 150 days.
    static func history(seed: UInt64) -> [Change] {
        var rng = SplitMix64(seed: seed)
        var replicas = Array(repeating: Replica(), count: 3)
        var devices = (0..<3).map { LocalDevice(id: DeviceID(rawValue: "sc\($0)")!) }
        var all: [Change] = []
        for step in 0..<240 {
            let i = Int(rng.next() % 3)
            let wall = base + UInt64(step) * 54_000_000 + rng.next() % 54_000_000
            let known = replicas[i].heads.keys.sorted()
            let id: ReportID
            var ops: [ReportOperation]
            if known.isEmpty || rng.chance(0.25) {
                id = ReportID(rawValue: "sc-\(seed)-\(step)")!
                ops = [.create(county: "kisumu"), .set(field: .status, value: "open")]
                if rng.chance(0.8) {
                    ops.append(.set(field: .serviceCode, value: rng.chance(0.5) ? "pothole" : "water"))
                }
                if rng.chance(0.8) { ops.append(.set(field: .ward, value: rng.chance(0.5) ? "kondele" : "nyalenda")) }
            } else {
                id = known[Int(rng.next() % UInt64(known.count))]
                switch rng.next() % 10 {
                case 0: ops = [.set(field: .ward, value: "manyatta")]
                case 1: ops = [.set(field: .serviceCode, value: "streetlight")]
                case 2: ops = [.withdraw(reason: "duplicate")]
                case 3: ops = [.restore]
                default: ops = [.set(field: .status, value: statuses[Int(rng.next() % UInt64(statuses.count))])]
                }
            }
            all.append(try! replicas[i].write(ops, to: id, county: "kisumu", as: &devices[i], wallMillis: wall))
            if rng.chance(0.3) {
                let j = Int(rng.next() % 3)
                try! replicas[j].receive(replicas[i].log)
            }
        }
        return all
    }

    /// The entries the reference computes.
    static func expected(_ changes: [Change]) throws -> [Scorecard.Entry] {
        var replica = Replica()
        try replica.receive(changes)
        var timelines: [ReportID: ReportTimeline] = [:]
        for c in changes { timelines[c.report, default: ReportTimeline(report: c.report, county: c.county)].apply(c) }
        return replica.reports.compactMap { r in
            func text(_ name: FieldName) -> String? {
                if case .string(let v)? = r.fields[name.rawValue] { return v }
                return nil
            }
            return Scorecard.Entry(
                timeline: timelines[r.id]!, serviceCode: text(.serviceCode), ward: text(.ward),
                isOpen: ReportStatus.isOpen(r))
        }
    }

    static func sorted(_ entries: [Scorecard.Entry]) -> [String] {
        entries.map { "\($0)" }.sorted()
    }

    @Test(arguments: StoreKind.available)
    func entriesMatchTheTimelinesFoldedFromEveryHistory(kind: StoreKind) async throws {
        for seed in UInt64(1)...4 {
            let changes = Self.history(seed: seed)
            var rng = SplitMix64(seed: seed)
            let s = try await StoreUnderTest.open(kind)
            var i = 0
            while i < changes.count {
                let n = Int(1 + rng.next() % 25)
                var batch = Array(changes[i..<min(i + n, changes.count)])
                batch.shuffle(using: &rng)
                _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(batch))
                if rng.chance(0.3) { _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(batch)) }
                i += n
            }
            let expected = Self.sorted(try Self.expected(changes))
            let all = try await s.store.scorecardEntries(county: "kisumu", from: 0, to: UInt64(Int64.max))
            #expect(Self.sorted(all) == expected, "seed \(seed), \(kind)")
            #expect(try await s.store.scorecardEntries(county: "mombasa", from: 0, to: UInt64(Int64.max)).isEmpty)
            // A period holds exactly the reports received in it.
            let (from, to) = (Self.base + 30 * 86_400_000, Self.base + 60 * 86_400_000 - 1)
            let period = try await s.store.scorecardEntries(county: "kisumu", from: from, to: to)
            #expect(
                Self.sorted(period)
                    == Self.sorted(try Self.expected(changes).filter { (from...to).contains($0.createdMillis) }))
            let reopened = try await s.reopen()
            let again = try await reopened.scorecardEntries(county: "kisumu", from: 0, to: UInt64(Int64.max))
            #expect(Self.sorted(again) == expected, "seed \(seed), \(kind), reopened")
            await reopened.close()
            await s.finish()
        }
    }

    @Test(arguments: StoreKind.available)
    func touchedEntriesAreThoseOfReportsChangedSinceAPosition(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        var replica = Replica()
        var device = LocalDevice(id: DeviceID(rawValue: "sc-t")!)
        var writes: [Change] = []
        for (n, day) in [10, 40, 70].enumerated() {
            writes.append(
                try replica.write(
                    [.create(county: "kisumu"), .set(field: .status, value: "open")],
                    to: ReportID(rawValue: "t-\(n)")!, county: "kisumu", as: &device,
                    wallMillis: Self.base + UInt64(day) * 86_400_000))
        }
        _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed(writes))
        let position = try await s.store.lastPosition()
        let id = ReportID(rawValue: "t-1")!
        for status in ["acknowledged", "closed"] as [FieldValue] {
            let change = try replica.write(
                [.set(field: .status, value: status)], to: id, county: "kisumu", as: &device,
                wallMillis: Self.base + 100 * 86_400_000)
            _ = try await s.store.ingest(signed: ServerStoreConformanceTests.signed([change]))
        }
        let now = try await s.store.lastPosition()
        let touched = try await s.store.scorecardTouched(county: "kisumu", after: position, through: now, limit: 10)
        #expect(Self.sorted(touched ?? []) == Self.sorted(try Self.expected(replica.log).filter { $0.report == id }))
        #expect(touched?.first?.status.closedMillis == Self.base + 100 * 86_400_000)
        #expect(try await s.store.scorecardTouched(county: "mombasa", after: position, through: now, limit: 10) == [])
        #expect(try await s.store.scorecardTouched(county: "kisumu", after: now, through: now, limit: 10) == [])
        #expect(try await s.store.scorecardTouched(county: "kisumu", after: 0, through: now, limit: 10)?.count == 3)
        #expect(try await s.store.scorecardTouched(county: "kisumu", after: 0, through: now, limit: 2) == nil)
        await s.finish()
    }
}
