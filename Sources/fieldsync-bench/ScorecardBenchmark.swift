import FieldSyncCore
import FieldSyncPostgres
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncStore
import Foundation

/// The scorecard's cost (issue 17): a county whose reports each have a creation, an
/// acknowledgement and (most) a closing, received over a year; then the operators' scorecard of
/// that year, timed cold (every month read from the store), warm (months kept by the daemon),
/// and after one new change (its report's month read again), on SQLite and on PostgreSQL.
enum ScorecardBenchmark {
    /// The figures of one county size on one engine.
    struct Figures {
        var engine: String
        var reports: Int
        var loadSeconds: Double
        var coldSeconds: Double
        var warmSeconds: Double
        var afterChangeSeconds: Double
        var byMonthSeconds: Double
        var counted: Int
    }

    /// Measures a county of `reports` reports on `store` (empty, a server store).
    static func measure(engine: String, reports: Int, store: any ServerStore) async throws -> Figures {
        let service = try await SyncService(store: store)
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let year: UInt64 = 365 * 86_400_000
        let load = try await Self.load(reports: reports, into: store, now: now, year: year)
        func card(_ group: Scorecard.Grouping = .service) async throws -> (Double, ScorecardResponse) {
            let start = DispatchTime.now()
            let card = try await service.scorecard(
                county: "kisumu", from: now - year, to: now, group: group, by: .currentShell)
            return (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9, card)
        }
        let (cold, first) = try await card()
        let (warm, _) = try await card()
        // One officer closes one report received mid-year: its month is read again.
        let change = Change(
            dot: Dot(device: DeviceID(rawValue: "bench-2")!, seq: 1), report: ReportID(rawValue: "r-\(reports / 2)")!,
            county: "kisumu", context: VersionVector([DeviceID(rawValue: "bench-1")!: UInt64(load.seq)]),
            hlc: HybridTimestamp(millis: now - 1_000), ops: [.set(field: .status, value: "fixed")])
        _ = try await store.ingest(
            signed: [SignedChange(change: change, signature: nil)], preRefused: [:], atomic: false, via: nil)
        let (after, _) = try await card()
        let (byMonth, _) = try await card(.month)
        return Figures(
            engine: engine, reports: reports, loadSeconds: load.seconds, coldSeconds: cold, warmSeconds: warm,
            afterChangeSeconds: after, byMonthSeconds: byMonth, counted: first.rows.first?.received ?? 0)
    }

    /// Writes the county's year through the store's ingest, in batches of 5,000 changes.
    static func load(
        reports: Int, into store: any ServerStore, now: UInt64, year: UInt64
    ) async throws -> (seconds: Double, seq: Int) {
        let start = DispatchTime.now()
        let device = DeviceID(rawValue: "bench-1")!
        var rng = SplitMix64(seed: 17)
        var seq: UInt64 = 0
        var batch: [SignedChange] = []
        func flush() async throws {
            let r = try await store.ingest(signed: batch, preRefused: [:], atomic: false, via: nil)
            if let first = r.refusals.first {
                print("refused: \(r.refusals.count), first: \(first.code) \(first.message)")
            }
            batch.removeAll(keepingCapacity: true)
        }
        func add(_ report: ReportID, _ at: UInt64, _ ops: [ReportOperation], creates: Bool) async throws {
            seq += 1
            let context = creates ? VersionVector() : VersionVector([device: seq - 1])
            batch.append(
                SignedChange(
                    change: Change(
                        dot: Dot(device: device, seq: seq), report: report, county: "kisumu", context: context,
                        hlc: HybridTimestamp(millis: at), ops: ops),
                    signature: nil))
            if batch.count == 5_000 { try await flush() }
        }
        for i in 0..<reports {
            let id = ReportID(rawValue: "r-\(i)")!
            let created = now - year + UInt64(i) * (year - 30 * 86_400_000) / UInt64(max(1, reports))
            let ops: [ReportOperation] = [
                .create(county: "kisumu"), .set(field: .serviceCode, value: .string("service-\(i % 20)")),
                .set(field: .ward, value: .string("ward-\(i % 30)")), .set(field: .status, value: "open"),
            ]
            try await add(id, created, ops, creates: true)
            try await add(
                id, created + 1 + rng.next() % 86_400_000, [.set(field: .status, value: "acknowledged")], creates: false
            )
            if i % 5 != 0 {
                let closed = created + 86_400_000 + rng.next() % (20 * 86_400_000)
                try await add(id, closed, [.set(field: .status, value: "closed")], creates: false)
            }
        }
        if !batch.isEmpty { try await flush() }
        return (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9, Int(seq))
    }

    /// Every figure for each size, on SQLite and (with a URL) PostgreSQL, one line each.
    static func run(sizes: [Int], directory: URL, postgres: String?) async throws {
        for n in sizes {
            let sqlite = try SQLiteStore(
                path: directory.appendingPathComponent("scorecard-\(n).sqlite").path, options: .server)
            print(line(try await measure(engine: "SQLite", reports: n, store: sqlite)))
            await sqlite.close()
            guard let postgres else { continue }
            var configuration = try PostgresStoreConfiguration(url: postgres)
            configuration.schema = "bench_scorecard_\(n)"
            let stale = try await PostgresStore.connect(configuration)
            try await stale.dropEverything()  // a schema of its own, left by an interrupted run
            await stale.close()
            let pg = try await PostgresStore.connect(configuration)
            print(line(try await measure(engine: "PostgreSQL", reports: n, store: pg)))
            try await pg.dropEverything()
            await pg.close()
        }
    }

    static func line(_ f: Figures) -> String {
        String(
            format: "scorecard of a year, %d reports (%@): cold %.3f s, warm %.3f s, after one change %.3f s, "
                + "by month %.3f s; %d counted; loading took %.0f s",
            f.reports, f.engine, f.coldSeconds, f.warmSeconds, f.afterChangeSeconds, f.byMonthSeconds, f.counted,
            f.loadSeconds)
    }
}
