import FieldSyncSQLite
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// One signature per run of a device's own consecutive changes: accepted whole or partly held,
/// refused when anything in the run was altered, forged or left uncovered.
@Suite(.serialized) struct SignedRunTests {
    func runSync(_ d: TestDevice) async throws -> DeviceSync.Summary {
        var sync = DeviceSync(store: d.store, api: d.api)
        let key = d.key
        sync.runSigner = { key.signRun($0) }
        sync.pushBatch = 50
        return try await sync.run()
    }

    @Test func aPushCarriesOneSignaturePerRunAndConverges() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<30 { try await a.create("r\(i)") }
        for i in 0..<30 { try await a.write([.set(field: .priority, value: .int(Int64(i % 4 + 1)))], to: "r\(i)") }
        #expect(try await runSync(a).pushed == 60)
        let held = try await server.service.store.changes(after: 0, county: nil, limit: 1_000).changes
        #expect(held.count == 60)
        #expect(held.filter { $0.signature != nil }.map(\.run) == [50, 10], "one signature per 50-change push")
        try await b.sync()
        try await b.write([.set(field: .status, value: "closed")], to: "r3")
        try await runSync(b)
        try await runSync(a)
        #expect(
            try await a.store.canonicalState(county: "kisumu") == server.service.store.canonicalState(county: "kisumu"))
        #expect(
            try await b.store.canonicalState(county: "kisumu") == server.service.store.canonicalState(county: "kisumu"))
        await server.stop()
    }

    @Test func anAlteredForgedOrUncoveredChangeInARunIsRefused() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<5 { try await a.create("r\(i)") }
        let own = try await a.store.changes(after: 0, county: nil, limit: 100).changes.map(\.change)
        let before = try await server.fingerprint()
        var traffic = FieldSyncAPI.Traffic()
        func push(_ batch: [SignedChange]) async throws {
            _ = try await a.api.sync(SyncRequest(changes: batch, limit: 0), traffic: &traffic)
        }
        func run(_ changes: [Change], key: DeviceKey) -> [SignedChange] {
            SignedChange.sealingRuns(
                changes.map { SignedChange(change: $0, signature: nil) }, author: a.id, sign: { key.signRun($0) })
        }
        // One change altered after signing.
        var altered = run(own, key: a.key)
        altered[2].change.ops.append(.set(field: .status, value: "closed"))
        await #expect(throws: FieldSyncError.self) { try await push(altered) }
        // Signed by another device's key.
        await #expect(throws: FieldSyncError.self) { try await push(run(own, key: b.key)) }
        // The run's last change left out: the others are uncovered.
        await #expect(throws: FieldSyncError.self) { try await push(Array(run(own, key: a.key).prefix(4))) }
        // A run claiming changes neither sent nor held.
        var short = run(own, key: a.key)
        short.removeFirst()
        await #expect(throws: FieldSyncError.self) { try await push(short) }
        #expect(try await server.fingerprint() == before, "nothing refused was stored")
        // The honest run is accepted.
        try await push(run(own, key: a.key))
        #expect(try await server.service.store.changeCount() == 5)
        await server.stop()
    }

    @Test func aRunPartlyHeldAlreadyVerifiesAgainstTheStoredChanges() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<8 { try await a.create("r\(i)") }
        let own = try await a.store.changes(after: 0, county: nil, limit: 100).changes.map(\.change)
        var traffic = FieldSyncAPI.Traffic()
        let sealed = SignedChange.sealingRuns(
            own.map { SignedChange(change: $0, signature: nil) }, author: a.id, sign: { a.key.signRun($0) })
        // The first 4 arrive with their own signatures; then only the rest of the run is sent,
        // its signature covering all 8 — the server checks it against the 4 it holds.
        _ = try await a.api.sync(
            SyncRequest(changes: own.prefix(4).map { a.key.signed($0) }, limit: 0), traffic: &traffic)
        let reply = try await a.api.sync(SyncRequest(changes: Array(sealed.suffix(4)), limit: 0), traffic: &traffic)
        #expect(reply.accepted?.applied == 4)
        // A relay of changes the server holds, with no signatures at all, changes nothing.
        try await b.sync()
        let relayed = own.map { SignedChange(change: $0, signature: nil) }
        let before = try await server.fingerprint()
        let again = try await b.api.sync(SyncRequest(changes: relayed, limit: 0), traffic: &traffic)
        #expect(again.accepted?.duplicates == 8 && again.accepted?.applied == 0)
        #expect(try await server.fingerprint() == before)
        await server.stop()
    }
}
