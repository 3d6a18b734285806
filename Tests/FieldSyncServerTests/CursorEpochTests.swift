import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// Pull cursors name the database's epoch: a cursor the database cannot have issued (another
/// epoch, or a position beyond its last — it was restored from an older backup) starts the
/// pull over instead of skipping what the restored database numbers anew.
@Suite struct CursorEpochTests {
    func pull(_ device: TestDevice, cursor: String?) async throws -> SyncResponse {
        var traffic = FieldSyncAPI.Traffic()
        return try await device.api.sync(SyncRequest(cursor: cursor, limit: 100), traffic: &traffic)
    }

    @Test func cursorsTheDatabaseCannotHaveIssuedStartOver() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<5 { try await a.create("r\(i)") }
        try await a.sync()
        let first = try await pull(b, cursor: nil)
        #expect(first.changes.count == 5)
        let position = try SyncCursor.decode(first.cursor)
        let epoch = try #require(position.epoch)
        #expect(SyncCursor.isValidEpoch(epoch))
        #expect(epoch == server.service.epoch)

        // Up to date: nothing more.
        #expect(try await pull(b, cursor: first.cursor).changes.isEmpty)
        // A cursor without an epoch is read as before.
        #expect(try await pull(b, cursor: "a\(position.arrival)").changes.isEmpty)
        #expect(try await pull(b, cursor: "a2").changes.count == 3)
        // Another database's epoch: everything again.
        let other = epoch == "00000000" ? "00000001" : "00000000"
        #expect(try await pull(b, cursor: "a\(position.arrival).\(other)").changes.count == 5)
        // A position beyond the database's last (restored from an older backup): everything again.
        let beyond = try await pull(b, cursor: SyncCursor.encode(position.arrival + 1_000, epoch: epoch))
        #expect(beyond.changes.count == 5)
        #expect(try SyncCursor.decode(beyond.cursor).arrival == position.arrival)
        // Malformed epochs are refused like any cursor the server did not issue.
        for bad in ["a5.XYZ", "a5.", "a5.123", "a-1.00000000", "a5.00000000.1"] {
            do {
                _ = try await pull(b, cursor: bad)
                Issue.record("cursor \(bad) was accepted")
            } catch let error as FieldSyncError {
                #expect(error.code == .invalidRequest, "\(bad)")
            }
        }
        await server.stop()
    }

    /// The restore procedure: stop, restore, `admin new-epoch`, start. A device that pulled
    /// before gets its county again from the start, once, and converges.
    @Test func afterANewEpochADevicePullsFromTheStartAndConverges() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<4 { try await a.create("r\(i)") }
        try await a.sync()
        try await b.sync()
        let oldCursor = try await pull(b, cursor: nil).cursor
        let oldEpoch = server.service.epoch
        await server.embedded.stop()  // the daemon stops; the database stays

        let store = try SQLiteStore(path: server.dbPath, options: .server)
        let renewed = try await store.renewEpoch()
        await store.close()
        #expect(renewed != oldEpoch)
        let restarted = try await EmbeddedServer.start(database: server.dbPath)
        #expect(restarted.service.epoch == renewed)
        let api = FieldSyncAPI(transport: URLSessionTransport(baseURL: restarted.url), token: b.token)
        var traffic = FieldSyncAPI.Traffic()
        let again = try await api.sync(SyncRequest(cursor: oldCursor, limit: 100), traffic: &traffic)
        #expect(again.changes.count == 4, "a cursor of the old epoch must start over")
        #expect(try SyncCursor.decode(again.cursor).epoch == renewed)
        // The device's own sync: it re-receives the county (already held: nothing changes) and
        // keeps a cursor of the new epoch, so the next sync is up to date in one round trip.
        try await DeviceSync(store: b.store, api: api).run()
        let next = try await DeviceSync(store: b.store, api: api).run()
        #expect(next.roundTrips == 1 && next.pulled == 0)
        #expect(
            try await b.store.canonicalState(county: b.county) == (try await a.store.canonicalState(county: a.county)))
        await restarted.stop()
        try? FileManager.default.removeItem(at: server.dir)
    }

    /// A real restore: the server's file goes back to a backup taken before some pushes; the
    /// operator gives it a new epoch. Devices pull their county again, re-push what the
    /// restored database lost, and everything converges.
    @Test func aRestoredServerGetsBackWhatDevicesHoldAndEveryoneConverges() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<4 { try await a.create("r\(i)") }
        try await a.sync()
        try await b.sync()
        await server.embedded.stop()
        let backup = server.dir.appendingPathComponent("backup.sqlite").path
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: server.dbPath + suffix) {
            try FileManager.default.copyItem(atPath: server.dbPath + suffix, toPath: backup + suffix)
        }

        // After the backup: more work reaches the server, and b pulls it.
        let second = try await EmbeddedServer.start(database: server.dbPath)
        let a2 = FieldSyncAPI(transport: URLSessionTransport(baseURL: second.url), token: a.token)
        let b2 = FieldSyncAPI(transport: URLSessionTransport(baseURL: second.url), token: b.token)
        try await a.create("r4")
        try await a.write([.set(field: .status, value: "closed")], to: "r0")
        try await DeviceSync(store: a.store, api: a2).run()
        try await DeviceSync(store: b.store, api: b2).run()
        await second.stop()

        // The restore, then `admin new-epoch`.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: server.dbPath + suffix) }
        try FileManager.default.removeItem(atPath: server.dbPath)
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: backup + suffix) {
            try FileManager.default.copyItem(atPath: backup + suffix, toPath: server.dbPath + suffix)
        }
        let store = try SQLiteStore(path: server.dbPath, options: .server)
        _ = try await store.renewEpoch()
        #expect(try await store.changeCount() == 4, "the restored database lacks the later changes")
        await store.close()

        let third = try await EmbeddedServer.start(database: server.dbPath)
        let a3 = FieldSyncAPI(transport: URLSessionTransport(baseURL: third.url), token: a.token)
        let b3 = FieldSyncAPI(transport: URLSessionTransport(baseURL: third.url), token: b.token)
        // b syncs first (it has a's later changes, pulled before the restore, and relays them);
        // a then finds the server lacking its own log and pushes it again.
        try await DeviceSync(store: b.store, api: b3).run()
        try await DeviceSync(store: a.store, api: a3).run()
        try await DeviceSync(store: b.store, api: b3).run()
        let reference = try await a.store.canonicalState(county: a.county)
        #expect(try await third.service.store.changeCount() == 6)
        #expect(try await third.service.store.canonicalState(county: a.county) == reference)
        #expect(try await b.store.canonicalState(county: b.county) == reference)
        await third.stop()
        try? FileManager.default.removeItem(at: server.dir)
    }
}
