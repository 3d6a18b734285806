public import FieldSyncCore
import Foundation
import Synchronization

/// Several daemons behind one database, as a load balancer spreads a device over them: each
/// request goes to the next server in turn, so one device's sync touches every server; a
/// request no server answered (a daemon down) goes to the next one at once. Sync requests are
/// safe to send again (protocol/README.md).
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
        var lastError: FieldSyncError?
        for k in 0..<servers.count {
            do {
                return try await servers[(i + k) % servers.count].send(request)
            } catch  where error.code == .timeout {
                lastError = error
            }
        }
        throw lastError!
    }
}
