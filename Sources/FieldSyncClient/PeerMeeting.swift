public import FieldSyncCore
import FieldSyncProtocol
public import FieldSyncSigning
public import FieldSyncStore
import Foundation

/// Two devices meeting with no server: each proves to the other that it is an enrolled officer
/// of the same county, then each sends the changes the other lacks, in bounded batches, both
/// directions at once, every change checked against its author's certificate before it is stored
/// (`protocol/peer.md`). Both sides run the same meeting; the link decides nothing.
///
/// A cut at any moment loses nothing: what arrived was stored batch by batch, and the next
/// meeting's summaries say what is still missing.
public struct PeerMeeting: Sendable {
    /// The device's store.
    public let store: any DeviceStore
    /// The device's signing key (it proves possession of the key its certificate names).
    public let key: DeviceKey
    /// Changes per batch (at most `PeerMessage.maxBatchChanges`).
    public var batchSize = 500
    /// The device's photos: offered to the peer, and where the peer's are kept (none: no photos).
    public var media: DeviceMedia?
    /// The most bytes of the peer's photos this device takes in one meeting.
    public var mediaBudget: UInt64 = 50 << 20
    /// How long the greeting may take — hellos, proofs, summaries and photo offers — before the
    /// meeting ends with `timeout`: a peer that connects and says nothing does not hold a
    /// listener. (Later a vanished peer is noticed by the link itself: TCP keepalive.)
    public var greetingTimeout: Duration = .seconds(60)
    /// How long nothing may go either way after the greeting before the meeting ends with
    /// `timeout` (long enough for a whole batch to cross 2G).
    public var idleTimeout: Duration = .seconds(600)
    /// The clock, in milliseconds since the epoch.
    public var now: @Sendable () -> UInt64 = { WallClock.millis() }
    /// Called after each batch taken or sent.
    public var progress: (@Sendable (Outcome) -> Void)?
    /// Called with every message sent or received, for `--record`.
    public var record: (@Sendable (PeerTrace) -> Void)?

    /// A meeting for the device whose store and key these are.
    public init(store: any DeviceStore, key: DeviceKey) {
        self.store = store
        self.key = key
    }

    /// What a meeting did.
    public struct Outcome: Sendable, Hashable, Codable {
        /// The peer's device id (empty until its hello).
        public var peer = ""
        /// Changes sent to the peer.
        public var sent = 0
        /// Changes received from the peer.
        public var received = 0
        /// Of those, new here.
        public var applied = 0
        /// Of those, already held.
        public var duplicates = 0
        /// Conflicts the new changes opened.
        public var conflictsOpened = 0
        /// Changes received and not stored: no certificate for the author, a revoked author, a run
        /// not whole (the server or another peer brings them), or refused by the store.
        public var leftOut = 0
        /// The peer took this many of the changes sent (its `bye`).
        public var peerApplied = 0
        /// Bytes sent and received, frames' length prefixes included.
        public var bytesSent = 0
        /// Bytes received.
        public var bytesReceived = 0
        /// Messages sent and received.
        public var messagesSent = 0
        /// Messages received.
        public var messagesReceived = 0
        /// Round trips: the times this side waited for the peer before it could go on (hello,
        /// proof, summary, the end of the changes, bye).
        public var roundTrips = 0
        /// Seconds the meeting took.
        public var seconds = 0.0
        /// Photos sent to the peer, and their bytes.
        public var photosSent = 0
        /// Bytes of the photos sent.
        public var photoBytesSent = 0
        /// Photos taken from the peer (each checked against its hash), kept until uploaded.
        public var photosReceived = 0
        /// Bytes of the photos taken.
        public var photoBytesReceived = 0

        enum CodingKeys: String, CodingKey {
            case peer, sent, received, applied, duplicates, seconds
            case conflictsOpened = "conflicts_opened"
            case leftOut = "left_out"
            case peerApplied = "peer_applied"
            case bytesSent = "bytes_sent"
            case bytesReceived = "bytes_received"
            case messagesSent = "messages_sent"
            case messagesReceived = "messages_received"
            case roundTrips = "round_trips"
            case photosSent = "photos_sent"
            case photoBytesSent = "photo_bytes_sent"
            case photosReceived = "photos_received"
            case photoBytesReceived = "photo_bytes_received"
        }
    }

    /// One message on the link, for a recording.
    public struct PeerTrace: Sendable, Hashable, Codable {
        /// `out` or `in`.
        public var direction: String
        /// The message's name (`hello`, `changes`, …).
        public var message: String
        /// Its bytes on the link.
        public var bytes: Int
        /// Changes it carried.
        public var changes: Int
        /// Milliseconds since the meeting began.
        public var atMillis: Int

        enum CodingKeys: String, CodingKey {
            case direction = "dir", message, bytes, changes
            case atMillis = "t_ms"
        }
    }
}

extension Result where Failure == FieldSyncError {
    /// The outcome of `body`: its value, or its error (a meeting's side, kept to report both).
    public static func of(_ body: () async throws(FieldSyncError) -> Success) async -> Result<Success, FieldSyncError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }
}
