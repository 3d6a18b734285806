import FieldSyncSQLite
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncScenario
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// A transport that loses requests or replies at seeded random moments: before the request
/// reaches the server, or after the server has committed but before the reply arrives.
final class CuttingTransport: SyncTransport, @unchecked Sendable {
    let inner: any SyncTransport
    private let lock = NSLock()
    private var rng: SplitMix64
    let probability: Double
    private(set) var cuts = 0

    init(_ inner: any SyncTransport, seed: UInt64, probability: Double) {
        self.inner = inner
        rng = SplitMix64(seed: seed)
        self.probability = probability
    }

    func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        let roll = lock.withLock { Double.random(in: 0..<1, using: &rng) }
        if roll < probability / 2 {
            lock.withLock { cuts += 1 }
            throw FieldSyncError(.timeout, "cut before the request arrived")
        }
        let response = try await inner.send(request)
        if roll < probability {
            lock.withLock { cuts += 1 }
            throw FieldSyncError(.timeout, "cut after the server answered")
        }
        return response
    }
}

@Suite(.serialized) struct InterruptionTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func syncsCutAtRandomMomentsLoseAndDuplicateNothing(seed: UInt64) async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        var rng = SplitMix64(seed: seed)
        var written = 0
        var cuts = 0
        for round in 0..<6 {
            for d in [a, b] {
                for i in 0..<Int.random(in: 1...30, using: &rng) {
                    try await d.create("\(d.id)-\(round)-\(i)")
                    written += 1
                }
                let transport = CuttingTransport(
                    URLSessionTransport(baseURL: server.baseURL), seed: rng.next(), probability: 0.4)
                cuts += try await Self.syncUntilDone(d, transport: transport)
            }
        }
        try await a.sync()
        try await b.sync()
        #expect(cuts > 0, "seed \(seed): the transport never cut")
        #expect(
            try await server.service.store.changeCount() == written,
            "seed \(seed): server holds a different number of changes than were written")
        let reference = try await server.service.store.canonicalState()
        #expect(try await a.store.canonicalState() == reference, "seed \(seed)")
        #expect(try await b.store.canonicalState() == reference, "seed \(seed)")
        #expect(try await a.store.changeCount() == written)
        await server.stop()
    }

    /// Retries a sync until it completes, as the CLI does; returns how many attempts were cut.
    static func syncUntilDone(_ d: TestDevice, transport: CuttingTransport) async throws -> Int {
        var sync = DeviceSync(store: d.store, api: FieldSyncAPI(transport: transport, token: d.token))
        sync.pushBatch = 7
        sync.pullLimit = 9
        var failures = 0
        for _ in 0..<200 {
            do {
                _ = try await sync.run()
                return failures
            } catch {
                guard error.code == .timeout else { throw error }
                failures += 1
            }
        }
        Issue.record("sync never completed")
        return failures
    }

    @Test func aBodyCutMidRequestStoresNothing() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        for i in 0..<50 { try await a.create("r\(i)") }
        let changes = try await a.store.changes(after: 0, county: nil, limit: 100).changes.map(\.signed)
        let body = try JSONWireCodec().encode(SyncRequest(changes: changes))
        let before = try await server.fingerprint()
        let partial = RawHTTP.request(
            "POST", "/v1/sync", headers: ["Authorization": "Bearer \(a.token)", "Content-Type": "application/json"],
            body: body.prefix(body.count / 2), contentLength: body.count)
        _ = await RawHTTP.exchange(port: server.port, partial, readLimit: 0)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await server.fingerprint() == before)
        let summary = try await a.sync()
        #expect(summary.pushed == 50)
        #expect(try await server.service.store.changeCount() == 50)
        await server.stop()
    }

    @Test func aReplyCutMidResponseIsResumedWithoutDuplicates() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        for i in 0..<200 { try await a.create("r\(i)") }
        try await a.sync()
        try await b.create("mine")
        let mine = try await b.store.changes(after: 0, county: nil, limit: 10).changes.map(\.signed)
        // B pushes its change and starts receiving 200 changes; the connection dies mid-reply.
        let body = try JSONWireCodec().encode(SyncRequest(changes: mine))
        let reply = await RawHTTP.exchange(
            port: server.port,
            RawHTTP.request(
                "POST", "/v1/sync",
                headers: ["Authorization": "Bearer \(b.token)", "Content-Type": "application/json"], body: body),
            readLimit: 300)
        #expect(reply.count <= 300)
        #expect(try await server.service.store.highestSeq(of: b.id) == 1)  // committed before the reply
        let summary = try await b.sync()
        #expect(summary.pushed == 0)  // the server already had it
        #expect(summary.pulled == 200)
        #expect(try await b.store.canonicalState() == server.service.store.canonicalState())
        await server.stop()
    }
}
