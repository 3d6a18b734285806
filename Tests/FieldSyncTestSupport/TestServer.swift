package import FieldSyncClient
package import FieldSyncCore
import FieldSyncProtocol
package import FieldSyncServer
package import FieldSyncSigning
import FieldSyncStore
package import FieldSyncSQLite
package import Foundation
import Testing

/// A real fieldsyncd on a loopback port, with its SQLite file in a temporary directory.
package final class TestServer: Sendable {
    package let dir: URL
    package let embedded: EmbeddedServer

    package var service: SyncService { embedded.service }
    package var baseURL: URL { embedded.url }
    package var port: Int { embedded.url.port ?? 0 }
    package var adminToken: String { embedded.adminToken }
    package var dbPath: String { dir.appendingPathComponent("server.sqlite").path }

    /// Starts a server in a new temporary directory, or again in `dir` (after `stop(keepingFiles:)`).
    package static func start(
        configuration: ServerConfiguration = ServerConfiguration(), in existing: URL? = nil,
        signingKey: DeviceKey? = nil
    ) async throws -> TestServer {
        let dir =
            existing
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("fieldsyncd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let embedded = try await EmbeddedServer.start(
            database: dir.appendingPathComponent("server.sqlite").path, configuration: configuration,
            signingKey: signingKey)
        return TestServer(dir: dir, embedded: embedded)
    }

    private init(dir: URL, embedded: EmbeddedServer) {
        self.dir = dir
        self.embedded = embedded
    }

    package func stop(keepingFiles: Bool = false) async {
        await embedded.stop()
        if !keepingFiles { try? FileManager.default.removeItem(at: dir) }
    }

    package func api(token: String? = nil) -> FieldSyncAPI {
        FieldSyncAPI(transport: URLSessionTransport(baseURL: baseURL), token: token)
    }

    /// An operator token for some counties.
    package func operatorToken(_ counties: [String]) async throws -> String {
        try await service.createOperator(
            OperatorRequest(name: "op", role: "operator", counties: counties), by: .currentShell
        )
        .token
    }

    /// Enrolls and registers a device over HTTP; returns it with its own store.
    package func device(_ id: String, county: String = "kisumu") async throws -> TestDevice {
        let enrollment = try await service.enroll(EnrollmentRequest(county: county, deviceID: id), by: .currentShell)
        let key = DeviceKey()
        let registered = try await api().register(enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
        let store = try SQLiteStore(path: dir.appendingPathComponent("\(id).sqlite").path)
        try await store.setIdentity(DeviceID(rawValue: registered.deviceID)!)
        try await PeerCertificates.keep(registration: registered, in: store)
        return TestDevice(
            id: DeviceID(rawValue: id)!, county: county, key: key, token: registered.token, store: store, server: self)
    }

    /// Every table of the server's database, byte for byte, but the bounded record of refusals
    /// and the devices' health (a refused request records both by design).
    package func tableSnapshot() async throws -> Data {
        let store = try #require(service.store as? SQLiteStore)
        return try await store.tableSnapshot(excluding: ["refusals", "refusal_overflow", "device_health"])
    }

    /// Everything the server stores that a refused request must not change.
    package func fingerprint() async throws -> Data {
        var data = try await service.store.canonicalState()
        let page = try await service.store.changes(after: 0, county: nil, limit: 1_000_000)
        for e in page.changes { data += ChangeCodec.encodeData(e.change) + (e.signature ?? Data()) }
        data += Data("\(try await service.store.logHeads().sorted { $0.key < $1.key })".utf8)
        return data
    }
}

/// A device with its own SQLite store and signing key.
package struct TestDevice: Sendable {
    package let id: DeviceID
    package let county: String
    package let key: DeviceKey
    package let token: String
    package let store: SQLiteStore
    package let server: TestServer

    /// A device of `server`, already enrolled, with its store, key and token.
    package init(id: DeviceID, county: String, key: DeviceKey, token: String, store: SQLiteStore, server: TestServer) {
        self.id = id
        self.county = county
        self.key = key
        self.token = token
        self.store = store
        self.server = server
    }

    package var api: FieldSyncAPI { server.api(token: token) }

    @discardableResult
    package func sync(
        transport: (any SyncTransport)? = nil, media: DeviceMedia? = nil
    ) async throws -> DeviceSync.Summary {
        var api = self.api
        if let transport { api = FieldSyncAPI(transport: transport, token: token) }
        var sync = DeviceSync(store: store, api: api)
        sync.media = media
        return try await sync.run()
    }

    @discardableResult
    package func write(
        _ ops: [ReportOperation], to report: String, at millis: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)
    ) async throws -> Change {
        let key = self.key
        return try await store.write(
            ops, to: ReportID(rawValue: report)!, county: county, wallMillis: millis, signer: { key.sign($0) })
    }

    package func create(_ report: String, category: String = "pothole") async throws {
        try await write(
            [
                .create(county: county), .set(field: .serviceCode, value: .string(category)),
                .set(field: .status, value: "open"),
            ], to: report)
    }
}

extension TestDevice {
    /// This device meets `other` over an in-memory pipe (optionally shaped), as two phones do
    /// over Bluetooth: both outcomes, or each side's error.
    package func meet(
        _ other: TestDevice, profile: LinkProfile? = nil, seed: UInt64 = 1, batchSize: Int = 50
    ) async -> (Result<PeerMeeting.Outcome, FieldSyncError>, Result<PeerMeeting.Outcome, FieldSyncError>) {
        let (x, y) = PeerPipe.pair()
        let lx: any PeerLink = profile.map { ShapedPeerLink(x, profile: $0, seed: seed, realTime: false) } ?? x
        let ly: any PeerLink = profile.map { ShapedPeerLink(y, profile: $0, seed: seed &+ 1, realTime: false) } ?? y
        var mine = PeerMeeting(store: store, key: key)
        var theirs = PeerMeeting(store: other.store, key: other.key)
        mine.batchSize = batchSize
        theirs.batchSize = batchSize
        async let a = Result.of { () async throws(FieldSyncError) in try await mine.run(over: lx) }
        async let b = Result.of { () async throws(FieldSyncError) in try await theirs.run(over: ly) }
        return await (a, b)
    }

}

extension Result {
    /// The error, if this is one.
    package var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
