import ArgumentParser
import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// Ingests a seeded workload batch by batch and acknowledges each commit on standard output.
/// The crash-consistency test kills it mid-batch and checks the file afterwards.
struct IngestStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-stress",
        abstract:
            "Ingest a seeded workload batch by batch, printing 'committed N' after each commit (for crash tests).",
        shouldDisplay: false
    )

    @Option(help: "SQLite file.") var db: String
    @Option(help: "Workload seed.") var seed: UInt64 = 1
    @Option(help: "Devices in the workload.") var devices: Int = 8
    @Option(help: "Edits per device.") var edits: Int = 250
    @Option(help: "Changes per batch.") var batch: Int = 50

    func run() async throws {
        let changes = CrashWorkload.batches(seed: seed, devices: devices, edits: edits, batchSize: batch)
        let store = try SQLiteStore(path: db, options: .server)
        for (i, b) in changes.enumerated() {
            _ = try await store.ingest(b)
            FileHandle.standardOutput.write(Data("committed \(i)\n".utf8))
        }
    }
}
