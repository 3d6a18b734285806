import FieldSyncSigning
import ArgumentParser
import FieldSyncCore
import FieldSyncStore
import Foundation

/// `fieldsync report generate`: a seeded day of field work written offline as the enrolled
/// device — new reports, edits of its own, and edits of reports others also edit (QA loads and
/// fault-injection runs).
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract:
            "Write N seeded edits offline as this device: new reports, edits of its own reports and of reports it shares with others."
    )
    @OptionGroup var options: StoreOptions
    @Option(help: "Edits to write.") var count = 100
    @Option(help: "Seed (the same seed, device and store give the same edits).") var seed: UInt64 = 1
    @Option(help: "Share of edits on reports this device did not create (held in its store), 0–1.") var shared = 0.2
    @Option(help: "Share of edits that create a new report, 0–1.") var create = 0.2
    @Option(
        help:
            "Wall clock of the first edit, ms since the epoch; edits follow 1 s apart (default: ending now, so the device's clock never runs ahead)."
    ) var startMillis: UInt64?

    func validate() throws {
        guard count >= 0, count <= 1_000_000 else { throw ValidationError("--count must be between 0 and 1,000,000") }
        guard (0...1).contains(shared), (0...1).contains(create) else {
            throw ValidationError("--shared and --create must be between 0 and 1")
        }
    }

    func run() async throws {
        let store = try options.open()
        let credentials = try await DeviceCredentials.load(store)
        let key = credentials.key
        // Seeded by the seed and the device id (FNV-1a), so devices given one seed differ.
        // New report ids carry the device's next sequence number, so they never repeat.
        let firstSeq = try await store.highestSeq(of: credentials.id) + 1
        var rng = SplitMix64(
            seed: credentials.id.rawValue.utf8.reduce(seed ^ firstSeq ^ 0xcbf2_9ce4_8422_2325) {
                ($0 ^ UInt64($1)) &* 0x100_0000_01b3
            })
        let held = try await store.reports(ReportFilter(limit: 100_000)).map(\.id)
        let prefix = credentials.id.rawValue + "-"
        let others = held.filter { !$0.rawValue.hasPrefix(prefix) }.sorted()
        var own = held.filter { $0.rawValue.hasPrefix(prefix) }.sorted()
        let statuses: [FieldValue] = ["open", "acknowledged", "in_progress", "closed"]
        let categories: [FieldValue] = ["pothole", "water_point", "streetlight", "drainage", "waste"]
        let wards: [FieldValue] = ["Kondele", "Nyalenda", "Manyatta", "Kaloleni", "Milimani"]
        // By default the edits end now: stamping them from now on would run the device's clock
        // ahead of real time by the length of the run (500 edits: 8 minutes).
        var clock = startMillis ?? (wallMillis() - UInt64(count + 1) * 1_000)
        for i in 0..<count {
            clock += 1_000
            let roll = Double(rng.next() % 10_000) / 10_000
            let report: ReportID
            var ops: [ReportOperation] = []
            if own.isEmpty || roll < create {
                report = try ReportID(validating: "\(credentials.id.rawValue)-r\(firstSeq + UInt64(i))")
                ops = [
                    .create(county: credentials.county),
                    .set(field: .serviceCode, value: categories[Int(rng.next() % 5)]),
                    .set(field: .description, value: .string("Report \(i) from \(credentials.id.rawValue)")),
                    .set(field: .status, value: "open"),
                ]
                own.append(report)
            } else {
                if !others.isEmpty && roll < create + shared {
                    report = others[Int(rng.next() % UInt64(others.count))]
                } else {
                    report = own[Int(rng.next() % UInt64(own.count))]
                }
                // 1–3 distinct fields.
                var kinds: [UInt64] = [0, 1, 2, 3]
                kinds.shuffle(using: &rng)
                for kind in kinds.prefix(1 + Int(rng.next() % 3)) {
                    switch kind {
                    case 0: ops.append(.set(field: .status, value: statuses[Int(rng.next() % 4)]))
                    case 1: ops.append(.set(field: .priority, value: .int(Int64(1 + rng.next() % 4))))
                    case 2: ops.append(.set(field: .ward, value: wards[Int(rng.next() % 5)]))
                    default: ops.append(.set(field: .statusNotes, value: .string("visit \(i)")))
                    }
                }
            }
            _ = try await store.write(
                ops, to: report, county: credentials.county, wallMillis: clock, signer: { key.sign($0) })
        }
        try await store.flush()
        await store.close()
        print("wrote \(count) edits as \(credentials.id.rawValue)")
    }
}
