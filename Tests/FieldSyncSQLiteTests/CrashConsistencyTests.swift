import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// A child process ingests batches and acknowledges each commit; it is killed with SIGKILL at a
/// seeded random moment. Reopening the file must show every acknowledged batch, whole, and no
/// part of any other batch.
@Suite struct CrashConsistencyTests {
    static func fieldsyncBinary() -> URL? {
        let fm = FileManager.default
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("fieldsync"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(
            URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(".build/debug/fieldsync"))
        return candidates.first { fm.isExecutableFile(atPath: $0.path) }
    }

    /// Starts the child, waits for `killAfter` acknowledgements, kills it, and returns how many
    /// batches it acknowledged in all.
    static func runAndKill(
        binary: URL, path: String, killAfter: Int, extraMicros: UInt32
    ) async throws -> (Int, Process.TerminationReason) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    let process = Process()
                    process.executableURL = binary
                    process.arguments = [
                        "ingest-stress", "--db", path, "--seed", "5", "--devices", "8", "--edits", "250", "--batch",
                        "50",
                    ]
                    let out = Pipe()
                    process.standardOutput = out
                    try process.run()
                    let reader = out.fileHandleForReading
                    var text = ""
                    while text.components(separatedBy: "committed ").count - 1 < killAfter {
                        let chunk = reader.availableData
                        if chunk.isEmpty { break }
                        text += String(decoding: chunk, as: UTF8.self)
                    }
                    usleep(extraMicros)
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    text += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
                    continuation.resume(
                        returning: (text.components(separatedBy: "committed ").count - 1, process.terminationReason))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    @Test(arguments: [UInt64(11), 22, 33, 44, 55])
    func killedMidBatchLosesNothingAcknowledged(seed: UInt64) async throws {
        let binary = try #require(Self.fieldsyncBinary(), "build the fieldsync executable first (swift build)")
        let dir = TemporaryDirectory()
        let path = dir.path("crash.sqlite")
        let batches = CrashWorkload.batches(seed: 5, devices: 8, edits: 250, batchSize: 50)
        var rng = SplitMix64(seed: seed)
        let killAfter = Int.random(in: 1..<(batches.count - 5), using: &rng)
        let extraMicros = UInt32.random(in: 0..<20_000, using: &rng)

        // The child is driven with blocking calls, on a thread of its own (not Swift concurrency's).
        let (acknowledged, reason) = try await Self.runAndKill(
            binary: binary, path: path, killAfter: killAfter, extraMicros: extraMicros)
        #expect(reason == .uncaughtSignal, "seed \(seed): the child finished before it was killed")

        let store = try SQLiteStore(path: path, options: .server)
        #expect(try await store.integrityCheck() == ["ok"], "seed \(seed)")
        let held = try await store.changeCount()
        // The batches held are exactly a prefix of whole batches, at least as long as acknowledged.
        var prefix = 0, total = 0
        while prefix < batches.count && total < held { total += batches[prefix].count; prefix += 1 }
        #expect(total == held, "seed \(seed): \(held) changes held is not a whole number of batches")
        #expect(prefix >= acknowledged, "seed \(seed): \(acknowledged) batches acknowledged but only \(prefix) held")
        var replica = Replica()
        for b in batches.prefix(prefix) { try replica.receive(b) }
        #expect(
            try await store.canonicalState() == replica.canonicalState(), "seed \(seed): state after the crash differs")
        // The store keeps working after the crash: the rest of the batches apply.
        for b in batches.dropFirst(prefix) { _ = try await store.ingest(b) }
        for b in batches.dropFirst(prefix) { try replica.receive(b) }
        #expect(try await store.canonicalState() == replica.canonicalState(), "seed \(seed)")
    }
}
