public import Hummingbird
public import NIOCore

/// The daemon's request context: Hummingbird's core context plus the peer's address, which
/// the sign-in limiter keys on.
public struct FieldSyncRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The address the request came from (`nil` if the channel has none).
    public let remoteAddress: SocketAddress?

    /// Creates the context of one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The caller's address as a limiter key: the IP, without the port.
    var clientKey: String { remoteAddress?.ipAddress ?? "unknown" }
}
