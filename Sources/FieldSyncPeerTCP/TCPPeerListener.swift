public import FieldSyncCore
import NIOCore
import NIOPosix

/// Listens for peers on a TCP port and hands each connection, one at a time, to a meeting.
public struct TCPPeerListener: Sendable {
    private let server: NIOAsyncChannel<TCPPeerLink, Never>

    /// The port it listens on (the one the system chose for port 0).
    public var port: Int { server.channel.localAddress?.port ?? 0 }

    /// Binds `host:port`.
    public static func bind(host: String, port: Int) async throws(FieldSyncError) -> TCPPeerListener {
        do {
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try TCPPeerLink.wrap(channel) }
                }
            return TCPPeerListener(server: server)
        } catch {
            throw FieldSyncError(.invalidRequest, "could not listen on \(host):\(port): \(error)")
        }
    }

    /// Calls `meet` for each peer that connects, one after another, until `meet` returns false.
    public func serve(_ meet: @Sendable (TCPPeerLink) async -> Bool) async throws(FieldSyncError) {
        do {
            try await server.executeThenClose { inbound in
                for try await link in inbound {
                    if await !meet(link) { break }
                }
            }
        } catch {
            throw FieldSyncError(.internalError, "the listener stopped: \(error)")
        }
    }
}
