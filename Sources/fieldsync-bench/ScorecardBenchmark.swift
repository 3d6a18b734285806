import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncStore
import Foundation

/// The scorecard's cost (issue 17): a county whose reports each have a creation, an
/// acknowledgement and (most) a closing, received over a year, then the operators' scorecard of
/// that year timed on SQLite.
enum ScorecardBenchmark {
    /// Seconds for the year's scorecard of a county of `reports` reports.
    static func measure(reports: Int, directory: URL) async throws -> (seconds: Double, rows: Int) {
        let store = try SQLiteStore(
            path: directory.appendingPathComponent("scorecard-\(reports).sqlite").path, options: .server)
        let service = try await SyncService(store: store)
        let device = DeviceID(rawValue: "bench-1")!
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        var rng = SplitMix64(seed: 17)
        var seq: UInt64 = 0
        var batch: [SignedChange] = []
        func add(_ report: ReportID, _ at: UInt64, _ ops: [ReportOperation]) async throws {
            seq += 1
            batch.append(
                SignedChange(
                    change: Change(
                        dot: Dot(device: device, seq: seq), report: report, county: "kisumu",
                        context: seq == 1 || ops.first.map({ if case .create = $0 { true } else { false } }) == true
                            ? VersionVector() : VersionVector([device: seq - 1]),
                        hlc: HybridTimestamp(millis: at), ops: ops),
                    signature: nil))
            if batch.count == 3_000 {
                let r = try await store.ingest(signed: batch, preRefused: [:], atomic: false, via: nil)
                if let first = r.refusals.first { print("refused: \(r.refusals.count), first: \(first.code)") }
                batch.removeAll(keepingCapacity: true)
            }
        }
        let year: UInt64 = 365 * 86_400_000
        for i in 0..<reports {
            let id = ReportID(rawValue: "r-\(i)")!
            let created = now - year + UInt64(i) * (year - 30 * 86_400_000) / UInt64(max(1, reports))
            try await add(
                id, created,
                [
                    .create(county: "kisumu"), .set(field: .serviceCode, value: ["pothole", "water_point"][i % 2]),
                    .set(field: .ward, value: .string("ward-\(i % 30)")), .set(field: .status, value: "open"),
                ])
            try await add(id, created + 1 + rng.next() % 86_400_000, [.set(field: .status, value: "acknowledged")])
            if i % 5 != 0 {
                try await add(
                    id, created + 86_400_000 + rng.next() % (20 * 86_400_000), [.set(field: .status, value: "closed")])
            }
        }
        if !batch.isEmpty {
            let r = try await store.ingest(signed: batch, preRefused: [:], atomic: false, via: nil)
            if let first = r.refusals.first {
                print("refused: \(r.refusals.count), first: \(first.code) \(first.message)")
            }
        }
        let start = DispatchTime.now()
        let card = try await service.scorecard(
            county: "kisumu", from: now - year, to: now, group: .service, by: .currentShell)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        await store.close()
        return (seconds, card.rows.first?.received ?? 0)
    }
}
