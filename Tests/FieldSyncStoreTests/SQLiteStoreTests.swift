import FieldSyncCore
import FieldSyncScenario
import FieldSyncStore
import Foundation
import PropertyBased
import Testing

@Suite struct SQLiteStoreTests {
    let dir = TemporaryDirectory()

    /// A small causal workload: shared reports, then three devices' interleaved logs.
    func workload(seed: UInt64 = 7) -> [Change] {
        CrashWorkload.batches(seed: seed, devices: 3, edits: 60, batchSize: 10_000)[0]
    }

    @Test func ingestThenReopenKeepsEverything() async throws {
        let path = dir.path("a.sqlite")
        let changes = workload()
        var replica = Replica()
        try replica.receive(changes)
        do {
            let store = try SQLiteStore(path: path, options: .server)
            let r = try await store.ingest(changes)
            #expect(r.applied == changes.count)
            #expect(r.duplicates == 0)
            #expect(try await store.canonicalState() == replica.canonicalState())
            await store.close()
        }
        let reopened = try SQLiteStore(path: path, options: .server)
        #expect(try await reopened.changeCount() == changes.count)
        #expect(try await reopened.canonicalState() == replica.canonicalState())
        #expect(try await reopened.integrityCheck() == ["ok"])
        #expect(try await reopened.conflicts(ConflictFilter(open: true)).count == replica.openConflicts.count)
        #expect(replica.openConflicts.count > 0, "the workload should produce conflicts")
    }

    @Test func reIngestIsIdempotent() async throws {
        let path = dir.path("b.sqlite")
        let changes = workload()
        let store = try SQLiteStore(path: path, options: .server)
        _ = try await store.ingest(changes)
        let state = try await store.canonicalState()
        let count = try await store.changeCount()
        let again = try await store.ingest(changes.shuffled())
        #expect(again.applied == 0)
        #expect(again.duplicates == changes.count)
        #expect(try await store.canonicalState() == state)
        #expect(try await store.changeCount() == count)
    }

    @Test func aReusedDotIsRefusedLoggedAndChangesNothing() async throws {
        let path = dir.path("c.sqlite")
        let store = try SQLiteStore(path: path, options: .server)
        let changes = workload()
        _ = try await store.ingest(changes)
        let before = try await store.canonicalState()
        var forged = changes.last!
        forged.ops = [.appendNote(text: "written again after a restore from backup")]
        await #expect(throws: FieldSyncError.self) { try await store.ingest([forged]) }
        do { _ = try await store.ingest([forged]) } catch { #expect(error.code == .dotReuse) }
        #expect(try await store.canonicalState() == before)
        let refusals = try await store.refusals()
        #expect(refusals.first?.dot == forged.dot)
        #expect(refusals.first?.code == "dot_reuse")
    }

    @Test func aBatchWithOneBadChangeLandsNotAtAll() async throws {
        let path = dir.path("d.sqlite")
        let store = try SQLiteStore(path: path, options: .server)
        let changes = workload()
        _ = try await store.ingest(Array(changes.prefix(50)))
        let before = try await store.canonicalState()
        var bad = try #require(changes.prefix(50).last { !$0.isCreate })
        bad.ops = [.appendNote(text: "conflicting content")]
        do {
            _ = try await store.ingest(Array(changes[50..<80]) + [bad])
            Issue.record("a batch containing a reused dot was accepted")
        } catch {
            #expect(error.code == .dotReuse)
        }
        #expect(try await store.canonicalState() == before)
        #expect(try await store.changeCount() == 50)
    }

    @Test func serverStoresRefuseSequenceGapsAndMissingDependencies() async throws {
        let store = try SQLiteStore(path: dir.path("e.sqlite"), options: .server)
        let changes = workload()
        let device = DeviceID(rawValue: "dev-0001")!
        let own = changes.filter { $0.dot.device == device }
        _ = try await store.ingest(changes.filter { $0.dot.device.rawValue == "county-desk" })
        do {
            _ = try await store.ingest([own[1]])
            Issue.record("accepted a gap")
        } catch {
            #expect(error.code == .sequenceGap)
            #expect(error.message.contains("seq 1"))
        }
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

    @Test func aBatchInAnyOrderIsAppliedInCausalOrder() async throws {
        let store = try SQLiteStore(path: dir.path("f.sqlite"), options: .server)
        let changes = workload()
        var rng = SplitMix64(seed: 3)
        let r = try await store.ingest(changes.shuffled(using: &rng))
        #expect(r.applied == changes.count)
        var replica = Replica()
        try replica.receive(changes)
        #expect(try await store.canonicalState() == replica.canonicalState())
    }

    @Test func pullsFollowArrivalOrderAndCountyScope() async throws {
        let store = try SQLiteStore(path: dir.path("g.sqlite"), options: .server)
        var a = LocalDevice(id: DeviceID(rawValue: "a")!)
        var replica = Replica()
        var all: [Change] = []
        for (i, county) in ["nairobi", "kisumu", "nairobi", "mombasa", "nairobi"].enumerated() {
            all.append(try replica.write([.create(county: county)], to: ReportID(rawValue: "r\(i)")!, county: county, as: &a, wallMillis: UInt64(i)))
        }
        _ = try await store.ingest(all)
        let page1 = try await store.changes(after: 0, county: "nairobi", limit: 2)
        #expect(page1.changes.map(\.change.report.rawValue) == ["r0", "r2"])
        #expect(page1.hasMore)
        let page2 = try await store.changes(after: page1.cursor, county: "nairobi", limit: 2)
        #expect(page2.changes.map(\.change.report.rawValue) == ["r4"])
        #expect(!page2.hasMore)
        let none = try await store.changes(after: page2.cursor, county: "nairobi", limit: 2)
        #expect(none.changes.isEmpty)
        #expect(none.cursor == page2.cursor)
        let everything = try await store.changes(after: 0, county: nil, limit: 100)
        #expect(everything.changes.count == 5)
    }

    @Test func aDeviceStoreNumbersItsOwnLogAcrossReopens() async throws {
        let path = dir.path("h.sqlite")
        let id = DeviceID(rawValue: "tablet-7")!
        let report = ReportID(rawValue: "rep-1")!
        do {
            let store = try SQLiteStore(path: path)
            try await store.setIdentity(id)
            _ = try await store.write([.create(county: "nakuru")], to: report, county: "nakuru", wallMillis: 1_000)
            _ = try await store.write([.set(field: .status, value: "open")], to: report, county: "nakuru", wallMillis: 2_000)
            await store.close()
        }
        let store = try SQLiteStore(path: path)
        let c = try await store.write([.addTag("flooded")], to: report, county: "nakuru", wallMillis: 500)
        #expect(c.dot == Dot(device: id, seq: 3))
        #expect(c.hlc > HybridTimestamp(millis: 2_000))   // the clock never runs back
        #expect(try await store.log(of: id).map(\.dot.seq) == [1, 2, 3])
        do {
            try await store.setIdentity(DeviceID(rawValue: "someone-else")!)
            Issue.record("a store changed owner")
        } catch {
            #expect(error.code == .invalidIdentifier)
        }
    }

    @Test func reportQueriesFilterAndShowHistory() async throws {
        let store = try SQLiteStore(path: dir.path("i.sqlite"))
        try await store.setIdentity(DeviceID(rawValue: "desk")!)
        let r1 = ReportID(rawValue: "r1")!, r2 = ReportID(rawValue: "r2")!
        _ = try await store.write([.create(county: "nairobi"), .set(field: .serviceCode, value: "pothole"), .set(field: .status, value: "open")], to: r1, county: "nairobi", wallMillis: 1)
        _ = try await store.write([.create(county: "nairobi"), .set(field: .serviceCode, value: "streetlight"), .set(field: .status, value: "closed")], to: r2, county: "nairobi", wallMillis: 2)
        _ = try await store.write([.appendNote(text: "bulb replaced")], to: r2, county: "nairobi", wallMillis: 3)
        _ = try await store.write([.withdraw(reason: "test")], to: r1, county: "nairobi", wallMillis: 4)
        #expect(try await store.reports(ReportFilter(status: "closed")).map(\.id) == [r2])
        #expect(try await store.reports(ReportFilter(serviceCode: "pothole")).map(\.id) == [r1])
        #expect(try await store.reports(ReportFilter(lifecycle: "withdrawn")).map(\.id) == [r1])
        #expect(try await store.reports(ReportFilter(county: "kisumu")).isEmpty)
        #expect(try await store.reports(ReportFilter(limit: 1)).map(\.id) == [r1])   // most recently updated first
        #expect(try await store.report(r2)?.notes.map(\.text) == ["bulb replaced"])
        #expect(try await store.history(of: r2).map(\.dot.seq) == [2, 3])
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let path = dir.path("j.sqlite")
        do { let s = try SQLiteStore(path: path); await s.close() }
        // Simulate a file written by a future version.
        let raw = try SQLiteStore(path: path)
        await raw.close()
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()", path]
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

/// The store and the in-memory replica agree on random histories.
@Suite struct StoreMatchesReplicaPropertyTests {
    @Test func storeStateEqualsReplicaStateForRandomBatches() async throws {
        let dir = TemporaryDirectory()
        await propertyCheck(count: 60, input: Gen.uint64(in: 0 ... .max)) { seed in
            let schedule = RandomSchedule(seed: seed)
            var run = schedule.run()
            schedule.exchangeAll(&run)
            var rng = SplitMix64(seed: seed)
            let path = dir.path("p-\(seed).sqlite")
            guard let store = try? SQLiteStore(path: path, options: .server) else { Issue.record("open failed"); return }
            // Cut the causal writing order into random batches, shuffle each, re-send some.
            var i = 0
            while i < run.changes.count {
                let n = Int.random(in: 1...20, using: &rng)
                var batch = Array(run.changes[i..<min(i + n, run.changes.count)])
                batch.shuffle(using: &rng)
                do { _ = try await store.ingest(batch) } catch { Issue.record("seed \(seed): \(error)") }
                if rng.chance(0.3) { _ = try? await store.ingest(batch) }
                i += n
            }
            let stored = try? await store.canonicalState()
            #expect(stored == run.replicas[0].canonicalState(), "seed \(seed): the SQLite store diverged from the in-memory replica")
            await store.close()
        }
    }
}

@Suite struct PullPagingTests {
    /// Regression: pages that leave out the caller's own changes must still say when more follow.
    @Test func pagesExcludingADeviceNeverStopEarly() async throws {
        let dir = TemporaryDirectory()
        let store = try SQLiteStore(path: dir.path("paging.sqlite"))
        var mine = LocalDevice(id: DeviceID(rawValue: "me")!), theirs = LocalDevice(id: DeviceID(rawValue: "them")!)
        var replica = Replica()
        var all: [Change] = []
        for i in 0..<60 {
            // Runs of own changes between others', longer than a page.
            let id = ReportID(rawValue: "r\(i)")!
            if (i / 7) % 2 == 0 {
                all.append(try replica.write([.create(county: "c")], to: id, county: "c", as: &mine, wallMillis: UInt64(i)))
            } else {
                all.append(try replica.write([.create(county: "c")], to: id, county: "c", as: &theirs, wallMillis: UInt64(i)))
            }
        }
        _ = try await store.ingest(all)
        var cursor: Int64 = 0
        var seen: [Change] = []
        while true {
            let page = try await store.changes(after: cursor, county: "c", excludingDevice: mine.id, limit: 5)
            seen += page.changes.map(\.change)
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(seen == all.filter { $0.dot.device != mine.id })
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
            #expect(history.count == expected.count && Set(history.map(\.dot)) == expected, "history of \(id), flush every \(flushAfter)")
        }
    }
}
