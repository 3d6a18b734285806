import FieldSyncCore
import FieldSyncProtocol
public import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
public import Foundation
import ServiceLifecycle
import Logging

/// A `fieldsyncd` running inside another process on a loopback port — for the demo and fleet
/// simulations. Same code, same SQLite store, real HTTP.
public final class EmbeddedServer: Sendable {
    /// The service.
    public let service: SyncService
    /// `http://127.0.0.1:<port>`.
    public let url: URL
    /// An admin token for this server.
    public let adminToken: String
    private let task: Task<Void, any Error>

    private init(service: SyncService, url: URL, adminToken: String, task: Task<Void, any Error>) {
        self.service = service
        self.url = url
        self.adminToken = adminToken
        self.task = task
    }

    /// Starts a server on `database` (created if needed), on a free loopback port.
    public static func start(
        database: String, configuration: ServerConfiguration = ServerConfiguration(),
        signingKey: DeviceKey? = nil
    ) async throws -> EmbeddedServer {
        let store = try SQLiteStore(path: database, options: .server)
        let service = try await SyncService(store: store, configuration: configuration, signingKey: signingKey)
        var logger = Logger(label: "fieldsyncd-embedded")
        logger.logLevel = .critical
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = FieldSyncDaemon.application(service: service, host: "127.0.0.1", port: 0, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let task = Task { try await app.run() }
        var port = 0
        for await p in stream { port = p }
        let admin = try await service.createOperator(
            OperatorRequest(name: "embedded admin", role: "admin", counties: ["*"]), by: .currentShell)
        return EmbeddedServer(
            service: service, url: URL(string: "http://127.0.0.1:\(port)")!, adminToken: admin.token, task: task)
    }

    /// Stops serving and closes the database.
    public func stop() async {
        task.cancel()
        _ = await task.result
        await service.store.close()
    }
}
