public import FieldSyncCore

/// A reliable byte stream between two devices, as a peer meeting sees it: frames out, frames in.
/// The CLI backs it with TCP on the local network; a phone app with Bluetooth or Wi-Fi Direct.
/// `send` and `receive` may be called at once from two tasks (a meeting sends while it receives).
public protocol PeerLink: Sendable {
    /// Sends one frame's payload (the link adds the length prefix on a byte stream).
    func send(_ payload: [UInt8]) async throws(FieldSyncError)
    /// The next frame's payload, or `nil` when the other side closed the stream.
    func receive() async throws(FieldSyncError) -> [UInt8]?
    /// Closes the stream.
    func close() async
}
