import FieldSyncCore
import Foundation
import Synchronization

/// Several daemons behind one database, as a load balancer spreads a device over them: each
/// request goes to the next server in turn, so one device's sync touches every server.
public final class SpreadTransport: SyncTransport {
    /// The servers, in turn.
    public let servers: [any SyncTransport]
    private let next = Mutex(0)

    /// Spreads requests over `servers` (at least one), starting at `offset`.
    public init(_ servers: [any SyncTransport], offset: Int = 0) {
        precondition(!servers.isEmpty, "SpreadTransport needs at least one server")
        self.servers = servers
        next.withLock { $0 = offset }
    }

    /// Sends to the next server in turn.
    public func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        let i = next.withLock { n -> Int in
            defer { n &+= 1 }
            return n
        }
        return try await servers[i % servers.count].send(request)
    }
}
