import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// `fieldsync-bench`: measures merge and ingest throughput on the standard scenario.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldsync-bench",
        abstract: "Measure FieldSync merge and ingest throughput on the standard scenario."
    )

    @Option(help: "Devices in the scenario.") var devices = 50
    @Option(help: "Edits per device.") var edits = 2_000
    @Option(help: "Share of edits on reports other devices also edit.") var shared = 0.2
    @Option(help: "Repetitions of each figure (the median is reported).") var repeats = 5
    @Option(help: "Changes per ingest batch.") var batch = 1_000
    @Option(help: "Directory for the SQLite files.") var dir: String?
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @Option(help: "Changes pushed in the 10-device HTTP sync figure.") var syncChanges = 20_000
    @Option(help: "Only write the scenario's edits as JSON to this file (for scripts/bench-peer) and exit.") var export:
        String?
    @Option(help: "Only fill this server database for the pull benchmark (scripts/bench-pull) and exit.")
    var fillServer: String?
    @Option(help: "Changes to fill with.") var fillChanges = 1_000_000
    @Option(help: "Where to write the reader's enrollment token.") var tokenFile = "reader.token"
    @Option(help: "Only measure this figure: merge, ingest, media, scorecard or peer.") var only: String?
    @Option(help: "Changes each device holds in the peer figure (comma-separated).") var peerHistory = "2000,20000"
    @Option(help: "Devices that wrote that history.") var peerWriters = 20
    @Option(help: "Changes by which the two meeting devices differ (half each).") var peerDiffer = 200
    @Option(help: "Report counts for the scorecard figure (comma-separated).") var scorecardReports = "1000,100000"
    @Option(help: "A PostgreSQL URL: the scorecard figure is measured there too (in schemas of its own).")
    var postgres: String?
    @Option(
        help:
            "Only push the scenario through these running daemons (comma-separated URLs; scripts/bench-scaleout) and print changes/s."
    )
    var ingestServers: String?
    @Option(help: "Admin token of --ingest-servers.") var adminToken: String?

    func run() async throws {
        if let fillServer {
            return try await PullFill.run(database: fillServer, count: fillChanges, tokenFile: tokenFile)
        }
        let scenario = StandardScenario(devices: devices, editsPerDevice: edits, sharedFraction: shared)
        if let ingestServers { return try await pushThroughDaemons(ingestServers, scenario: scenario) }
        let generated = scenario.generate()
        let all = generated.all
        print(
            "scenario: \(devices) devices × \(self.edits) edits, \(Int(shared * 100))% on shared reports, seed \(scenario.seed): \(all.count) changes"
        )
        if let export {
            try ScenarioExport.write(generated, to: export)
            print("wrote \(generated.editCount) edits to \(export)")
            return
        }
        var figures = [try measureMerge(all)]
        if only == "merge" {
            print("merge: \(fmt(figures[0].median)) changes/s (median of \(repeats))")
            return
        }
        let directory =
            dir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("fieldsync-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(at: directory) } }
        if only == "scorecard" {
            let sizes = scorecardReports.split(separator: ",").compactMap { Int($0) }
            try await ScorecardBenchmark.run(sizes: sizes, directory: directory, postgres: postgres)
            return
        }
        if only == "peer" {
            let sizes = peerHistory.split(separator: ",").compactMap { Int($0) }
            try await PeerBenchmark.run(history: sizes, writers: peerWriters, differ: peerDiffer, directory: directory)
            return
        }
        if only == "media" {
            for f in try await measureMedia(directory: directory) {
                print("\(f.name): \(fmt(f.median)) \(f.unit)")
            }
            return
        }
        figures += try await measureIngest(all, directory: directory)
        if only == "ingest" {
            for f in figures.suffix(3) { print("\(f.name): \(fmt(f.median)) (\(fmt(f.min))–\(fmt(f.max))) \(f.unit)") }
            return
        }
        figures += try await measureSync(directory: directory)
        figures += try await measureWire(generated, directory: directory)
        figures += try await measurePushByFleetSize(directory: directory)
        figures += try await measureMedia(directory: directory)
        try report(figures, edits: generated.editCount)
    }

    /// `--ingest-servers`: pushes the scenario through running daemons and prints changes/s.
    func pushThroughDaemons(_ servers: String, scenario: StandardScenario) async throws {
        let urls = servers.split(separator: ",").compactMap { URL(string: String($0)) }
        guard !urls.isEmpty, let adminToken else {
            throw ValidationError("give --ingest-servers URL[,URL…] and --admin-token")
        }
        let r = try await IngestThroughDaemons.run(servers: urls, adminToken: adminToken, scenario: scenario)
        print(
            String(
                format: "ingest through %d daemon(s): %d changes in %.2f s = %.0f changes/s", urls.count, r.changes,
                r.seconds, Double(r.changes) / r.seconds))
    }

    /// In-memory merge: every change into a fresh replica.
    func measureMerge(_ all: [Change]) throws -> Figure {
        var mergeTimes: [Double] = []
        var conflicts = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now()
            var replica = Replica()
            try replica.receive(all)
            mergeTimes.append(seconds(since: start))
            conflicts = replica.openConflicts.count + replica.resolvedConflicts.count
        }
        print("  conflict records after merge: \(conflicts)")
        return Figure(name: "in-memory merge", unit: "changes/s", samples: mergeTimes.map { Double(all.count) / $0 })
    }

    /// Persisted ingest, server path (dedup, materialize, conflicts, durable commit per batch),
    /// beside a raw indexed insert of the same rows in the same run.
    func measureIngest(_ all: [Change], directory: URL) async throws -> [Figure] {
        let batches = stride(from: 0, to: all.count, by: batch).map { Array(all[$0..<min($0 + batch, all.count)]) }
        var ingestTimes: [Double] = []
        var rawTimes: [Double] = []
        for i in 0..<repeats {
            let path = directory.appendingPathComponent("ingest-\(i).sqlite").path
            let store = try SQLiteStore(path: path, options: .server)
            let start = DispatchTime.now()
            for b in batches { _ = try await store.ingest(b) }
            try await store.flush()  // heads and conflicts written too: the whole cost is measured
            ingestTimes.append(seconds(since: start))
            await store.close()
            // The same rows, raw: one INSERT per change into a table with UNIQUE(device, seq).
            let rawPath = directory.appendingPathComponent("raw-\(i).sqlite").path
            rawTimes.append(try RawInsertBaseline.run(path: rawPath, batches: batches))
        }
        return [
            Figure(
                name: "SQLite ingest (server path)", unit: "changes/s",
                samples: ingestTimes.map { Double(all.count) / $0 }),
            Figure(
                name: "SQLite raw insert, same rows", unit: "rows/s", samples: rawTimes.map { Double(all.count) / $0 }),
            Figure(
                name: "ingest ÷ raw insert (same run)", unit: "ratio",
                samples: zip(ingestTimes, rawTimes).map { $1 / $0 }),
        ]
    }

    /// Sync over HTTP on loopback: 10 devices push at once; an up-to-date sync's cost.
    func measureSync(directory: URL) async throws -> [Figure] {
        var pushRates: [Double] = []
        var upToDate: (Int, Int) = (0, 0)
        for _ in 0..<repeats {
            let r = try await SyncBenchmark.run(devices: 10, perDevice: syncChanges / 10, directory: directory)
            pushRates.append(Double(r.changes) / r.pushSeconds)
            upToDate = (r.upToDateRoundTrips, r.upToDateBytes)
        }
        return [
            Figure(name: "10-device push, HTTP loopback", unit: "changes/s", samples: pushRates),
            Figure(name: "up-to-date sync: round trips", unit: "count", samples: [Double(upToDate.0)]),
            Figure(name: "up-to-date sync: body bytes", unit: "bytes", samples: [Double(upToDate.1)]),
        ]
    }

    /// Bytes on the wire per edit (one device's whole log as `fieldsync sync` pushes it: JSON,
    /// one signature per run, gzip, 500-change pushes), then by encoding; syncs over the links.
    func measureWire(_ generated: StandardScenario.Output, directory: URL) async throws -> [Figure] {
        var figures: [Figure] = []
        let wire = try WireBenchmark.bytesPerEditByEncoding(generated.deviceLogs[0])
        let sent = wire.encodings.first { $0.encoding == "JSON, one per signed run" }!.bytes
        figures.append(Figure(name: "push bytes per edit, gzip", unit: "bytes", samples: [sent]))
        figures.append(Figure(name: "push bytes per edit, raw JSON", unit: "bytes", samples: [wire.rawSignedRuns]))
        for (encoding, bytes) in wire.encodings {
            figures.append(Figure(name: "  gzip, \(encoding)", unit: "bytes", samples: [bytes]))
        }
        // 1,000 new reports over Edge-Lossy, against 1.3 × bytes ÷ bandwidth + 4 RTT.
        let edge = try await WireBenchmark.edgeLossy(directory: directory)
        figures.append(Figure(name: "1,000 reports over Edge-Lossy", unit: "s (simulated)", samples: [edge.seconds]))
        figures.append(Figure(name: "  its bound: 1.3×bytes/bw + 4 RTT", unit: "s", samples: [edge.bound]))
        // The same sync over each link profile (docs/links.md), for the chart.
        for profile in [LinkProfile.twoG, .threeG, .lan] {
            let r = try await WireBenchmark.linkSync(profile: profile, directory: directory)
            figures.append(
                Figure(name: "1,000 reports over \(profile.name)", unit: "s (simulated)", samples: [r.seconds]))
            figures.append(Figure(name: "  bound over \(profile.name)", unit: "s", samples: [r.bound]))
        }
        return figures
    }

    /// Push throughput against fleet size: n devices push at once over HTTP on loopback.
    func measurePushByFleetSize(directory: URL) async throws -> [Figure] {
        var figures: [Figure] = []
        for n in [1, 5, 25, 50] {
            var rates: [Double] = []
            for _ in 0..<max(1, repeats / 2) {
                let r = try await SyncBenchmark.run(
                    devices: n, perDevice: syncChanges / n, directory: directory, quiet: true)
                rates.append(Double(r.changes) / r.pushSeconds)
            }
            figures.append(Figure(name: "push, \(n) devices at once", unit: "changes/s", samples: rates))
        }
        return figures
    }

    /// Media (issue 16): a 1 MB photo over 2G and over Edge-Lossy with cuts against the bound
    /// 1.3 × size ÷ upload bandwidth + 4 RTT; a photo the server holds; 50 devices × 2 MB at once.
    func measureMedia(directory: URL) async throws -> [Figure] {
        var figures: [Figure] = []
        let size = 1_000_000
        let profiles: [(String, LinkProfile)] = [
            ("2G", .twoG),
            ("Edge-Lossy, cuts", try LinkProfile.parse("custom:bw=240,up=200,rtt=840,loss=0.01,cut=0.3")),
        ]
        for (name, profile) in profiles {
            let r = try await MediaBenchmark.photoOverLink(profile: profile, size: size, seed: 3, directory: directory)
            figures.append(Figure(name: "1 MB photo over \(name)", unit: "s (simulated)", samples: [r.seconds]))
            figures.append(Figure(name: "  its bound: 1.3×size/up + 4 RTT", unit: "s", samples: [r.bound]))
            figures.append(Figure(name: "  body bytes ÷ size", unit: "ratio", samples: [Double(r.body) / Double(size)]))
            figures.append(Figure(name: "  cuts", unit: "count", samples: [Double(r.cuts)]))
            figures.append(Figure(name: "  body bytes sent again", unit: "bytes", samples: [Double(r.body - size)]))
            figures.append(Figure(name: "  requests", unit: "count", samples: [Double(r.requests)]))
        }
        let held = try await MediaBenchmark.heldPhoto(directory: directory)
        figures.append(
            Figure(name: "photo the server holds: requests", unit: "count", samples: [Double(held.requests)]))
        figures.append(Figure(name: "photo the server holds: body bytes", unit: "bytes", samples: [Double(held.body)]))
        // Streamed, not buffered whole: 10 devices × 10 MB first, in a fresh heap, then 50 × 2 MB.
        let big = try await MediaBenchmark.concurrent(devices: 10, size: 10_000_000, directory: directory)
        figures.append(Figure(name: "10 devices × 10 MB upload, loopback", unit: "MB/s", samples: [big.mbPerSecond]))
        figures.append(Figure(name: "  raw file write, same bytes", unit: "MB/s", samples: [big.rawMBPerSecond]))
        figures.append(Figure(name: "  peak RSS growth during uploads", unit: "MiB", samples: [big.peakGrowthMiB]))
        let c = try await MediaBenchmark.concurrent(devices: 50, size: 2_000_000, directory: directory)
        figures.append(Figure(name: "50 devices × 2 MB upload, loopback", unit: "MB/s", samples: [c.mbPerSecond]))
        figures.append(Figure(name: "  raw file write, same bytes", unit: "MB/s", samples: [c.rawMBPerSecond]))
        figures.append(Figure(name: "  peak RSS growth during uploads", unit: "MiB", samples: [c.peakGrowthMiB]))
        return figures
    }

    /// Prints the table and writes `--json`.
    func report(_ figures: [Figure], edits: Int) throws {
        print("")
        print("figure                                    median        min          max          unit")
        for f in figures {
            print(
                "\(f.name.padding(toLength: 40, withPad: " ", startingAt: 0))  \(fmt(f.median).leftPad(11))  \(fmt(f.min).leftPad(11))  \(fmt(f.max).leftPad(11))  \(f.unit)"
            )
        }
        print("(\(edits) device edits; \(repeats) repetitions; fsync at every batch commit)")
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(figures).write(to: URL(fileURLWithPath: json))
        }
    }

    func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    func fmt(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String(format: "%.2f", v) }
}

/// One measured figure.
struct Figure: Encodable {
    var name: String
    var unit: String
    var samples: [Double]
    var median: Double { let s = samples.sorted(); return s[s.count / 2] }
    var min: Double { samples.min() ?? 0 }
    var max: Double { samples.max() ?? 0 }

    enum CodingKeys: String, CodingKey { case name, unit, samples, median, min, max }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(unit, forKey: .unit)
        try c.encode(samples, forKey: .samples)
        try c.encode(median, forKey: .median)
        try c.encode(min, forKey: .min)
        try c.encode(max, forKey: .max)
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
