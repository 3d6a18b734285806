public import FieldSyncClient
public import FieldSyncCore
import FieldSyncProtocol
import NIOCore
import NIOPosix

/// A peer link over TCP on the local network: how `fieldsync peer` meets another device. Frames
/// are read by a channel handler into a bounded queue; reading from the socket pauses while the
/// meeting has frames waiting, so memory stays bounded whatever the peer sends.
public final class TCPPeerLink: PeerLink {
    let channel: any Channel
    let queue: PeerFrameQueue

    init(channel: any Channel) {
        self.channel = channel
        queue = PeerFrameQueue(capacity: 4) {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
    }

    /// The peer's address.
    public var remoteAddress: String { channel.remoteAddress?.description ?? "?" }

    /// Opens a link to a listening device.
    public static func connect(host: String, port: Int) async throws(FieldSyncError) -> TCPPeerLink {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try wrap(channel) }
                }
        } catch {
            throw FieldSyncError(
                .timeout,
                "could not reach a peer at \(host):\(port) (is `fieldsync peer listen` running there, on the same network?): \(error)"
            )
        }
    }

    /// A peer that vanished mid-meeting (walked out of range, its link cut) is noticed within
    /// about 25 s when idle (keepalive probes every 5 s after 10 s of silence, 3 unanswered) and
    /// within 60 s when data waits unacknowledged (`TCP_USER_TIMEOUT`): the meeting ends with
    /// `timeout` instead of waiting forever, and a listener takes the next peer.
    static func keepAlive(_ channel: any Channel) throws {
        let options = channel.syncOptions
        try options?.setOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
        try options?.setOption(ChannelOptions.socket(IPPROTO_TCP, TCP_KEEPIDLE), value: 10)
        try options?.setOption(ChannelOptions.socket(IPPROTO_TCP, TCP_KEEPINTVL), value: 5)
        try options?.setOption(ChannelOptions.socket(IPPROTO_TCP, TCP_KEEPCNT), value: 3)
        try options?.setOption(ChannelOptions.socket(IPPROTO_TCP, TCP_USER_TIMEOUT), value: 60_000)
    }

    /// Sets up a channel's pipeline and returns its link (on the channel's event loop).
    static func wrap(_ channel: any Channel) throws -> TCPPeerLink {
        try keepAlive(channel)
        let link = TCPPeerLink(channel: channel)
        try channel.pipeline.syncOperations.addHandler(PeerFrameHandler(link: link))
        return link
    }

    /// Writes one frame and waits until the socket took it.
    public func send(_ payload: [UInt8]) async throws(FieldSyncError) {
        var buffer = channel.allocator.buffer(capacity: payload.count + 4)
        buffer.writeInteger(UInt32(truncatingIfNeeded: payload.count))
        buffer.writeBytes(payload)
        do {
            try await channel.writeAndFlush(buffer)
        } catch {
            throw FieldSyncError(.timeout, "the link to the peer broke while sending; meet again: nothing was lost")
        }
    }

    /// The next frame, or `nil` once the peer closed the stream.
    public func receive() async throws(FieldSyncError) -> [UInt8]? {
        try await queue.next()
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// Cuts the byte stream into frames and hands them to the link's queue.
final class PeerFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let link: TCPPeerLink
    var decoder = PeerFrame.Decoder()

    init(link: TCPPeerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        do {
            while let frame = try decoder.next() {
                // Pausing here, on the event loop, comes before any resume the reader queues.
                if link.queue.push(frame) {
                    context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                }
            }
        } catch {
            link.queue.fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.queue.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.queue.fail(FieldSyncError(.timeout, "the link to the peer failed: \(error)"))
        context.close(promise: nil)
    }
}
