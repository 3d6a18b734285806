import FieldSyncCore
import FieldSyncStore
import Foundation
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Assembles a runnable `fieldsyncd`: the store, the service, the HTTP application.
public enum FieldSyncDaemon {
    /// File descriptors kept for the store, logs and the listening socket, beside connections.
    static let reservedDescriptors = 64

    /// Builds the HTTP application for a service on `host:port`. `onRunning` receives the bound
    /// port (useful with port 0). Connections are reaped after `idleTimeoutSeconds` without a
    /// complete request head, and capped at `maxConnections` (within the descriptor limit).
    public static func application(
        service: SyncService, host: String, port: Int, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let configuration = service.configuration
        let connections = connectionCap(configuration.maxConnections, logger: logger)
        let idle = TimeAmount.milliseconds(Int64(max(0.001, configuration.idleTimeoutSeconds) * 1000))
        return Application(
            router: HTTPAPI(service: service).router(),
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port), serverName: "fieldsyncd",
                availableConnectionsDelegate: MaximumAvailableConnections(connections, logger: logger)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    /// The connection cap the process can honour: raises the soft descriptor limit towards the
    /// hard one if needed, and keeps the cap below it with room for the store and logs.
    static func connectionCap(_ wanted: Int, logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return max(1, wanted) }
        let needed = rlim_t(max(0, wanted) + reservedDescriptors)
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = Int(clamping: limit.rlim_cur) - reservedDescriptors
        guard available < wanted else { return max(1, wanted) }
        logger.warning(
            "connection cap lowered to fit the file-descriptor limit",
            metadata: [
                "wanted": "\(wanted)", "cap": "\(max(1, available))", "nofile": "\(limit.rlim_cur)",
            ])
        return max(1, available)
    }
}
