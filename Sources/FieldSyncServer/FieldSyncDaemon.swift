import FieldSyncCore
import FieldSyncStore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Assembles a runnable `fieldsyncd`: the store, the service, the HTTP application.
public enum FieldSyncDaemon {
    /// Builds the HTTP application for a service on `host:port`. `onRunning` receives the bound
    /// port (useful with port 0).
    public static func application(service: SyncService, host: String, port: Int, logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: HTTPAPI(service: service).router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "fieldsyncd"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}
