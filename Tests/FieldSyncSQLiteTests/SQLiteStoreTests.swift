import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import PropertyBased
import Testing
import FieldSyncTestSupport

@Suite struct SQLiteStoreTests {
    let dir = TemporaryDirectory()

    /// A small causal workload: shared reports, then three devices' interleaved logs.
    func workload(seed: UInt64 = 7) -> [Change] {
        CrashWorkload.batches(seed: seed, devices: 3, edits: 60, batchSize: 10_000)[0]
    }

    /// Server-store behaviours are in ServerStoreConformanceTests (run on SQLite and PostgreSQL);
    /// these are the device store's own.
    @Test func aDeviceStoreStillNeedsCausalDependencies() async throws {
        let changes = workload()
        // A device store accepts any dense or sparse log but still needs causal dependencies.
        let deviceStore = try SQLiteStore(path: dir.path("e2.sqlite"))
        let edit = changes.first { !$0.isCreate }!
        do {
            _ = try await deviceStore.ingest([edit])
            Issue.record("accepted a change without its report")
        } catch {
            #expect(error.code == .missingDependency)
        }
        #expect(try await deviceStore.changeCount() == 0)
    }

    @Test func aDeviceStoreNumbersItsOwnLogAcrossReopens() async throws {
        let path = dir.path("h.sqlite")
        let id = DeviceID(rawValue: "tablet-7")!
        let report = ReportID(rawValue: "rep-1")!
        do {
            let store = try SQLiteStore(path: path)
            try await store.setIdentity(id)
            _ = try await store.write([.create(county: "nakuru")], to: report, county: "nakuru", wallMillis: 1_000)
            _ = try await store.write(
                [.set(field: .status, value: "open")], to: report, county: "nakuru", wallMillis: 2_000)
            await store.close()
        }
        let store = try SQLiteStore(path: path)
        let c = try await store.write([.addTag("flooded")], to: report, county: "nakuru", wallMillis: 500)
        #expect(c.dot == Dot(device: id, seq: 3))
        #expect(c.hlc > HybridTimestamp(millis: 2_000))  // the clock never runs back
        #expect(try await store.log(of: id).map(\.dot.seq) == [1, 2, 3])
        do {
            try await store.setIdentity(DeviceID(rawValue: "someone-else")!)
            Issue.record("a store changed owner")
        } catch {
            #expect(error.code == .invalidIdentifier)
        }
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let path = dir.path("j.sqlite")
        do { let s = try SQLiteStore(path: path); await s.close() }
        // Simulate a file written by a future version.
        let raw = try SQLiteStore(path: path)
        await raw.close()
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = [
            "python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()", path,
        ]
        try proc.run()
        proc.waitUntilExit()
        do {
            _ = try SQLiteStore(path: path)
            Issue.record("opened a newer schema")
        } catch {
            #expect(error.code == .schemaTooNew)
        }
    }
}

@Suite struct LazyFlushTests {
    /// Heads and open conflicts are written lazily; a store that dies between flushes rebuilds
    /// them from the change log when reopened.
    @Test(arguments: [37, 100, 1_000])
    func unflushedStateIsRebuiltFromTheLog(flushAfter: Int) async throws {
        let dir = TemporaryDirectory()
        let path = dir.path("lazy.sqlite")
        var options = SQLiteStore.Options.server
        options.flushAfterChanges = flushAfter
        let changes = CrashWorkload.batches(seed: 3, devices: 4, edits: 120, batchSize: 10_000)[0]
        var replica = Replica()
        try replica.receive(changes)
        let crashed = try SQLiteStore(path: path, options: options)
        for start in stride(from: 0, to: changes.count, by: 23) {
            _ = try await crashed.ingest(Array(changes[start..<min(start + 23, changes.count)]))
        }
        // No flush, no close: as if the process died here. A second store opens the same file.
        let reopened = try SQLiteStore(path: path, options: options)
        #expect(try await reopened.canonicalState() == replica.canonicalState(), "flush every \(flushAfter)")
        #expect(try await reopened.conflicts(ConflictFilter(open: true)).count == replica.openConflicts.count)
        #expect(try await reopened.reports(ReportFilter(limit: 10_000)).count == replica.heads.count)
        // The by-report index is written lazily too: every report's history is complete.
        for id in replica.heads.keys {
            let expected = Set(replica.log.filter { $0.report == id }.map(\.dot))
            let history = try await reopened.history(of: id)
            #expect(
                history.count == expected.count && Set(history.map(\.dot)) == expected,
                "history of \(id), flush every \(flushAfter)")
        }
    }
}
