public import FieldSyncCore
public import Foundation

/// One message of a peer meeting (`protocol/peer.md`): what two devices say to each other over
/// any reliable byte stream. Each message travels as one frame (`PeerFrame`); its first byte is
/// its type, the rest its body in FieldSync's binary primitives, every count and length bounded.
public enum PeerMessage: Hashable, Sendable {
    /// The opening: the protocol version, the sender's certificate, a fresh random challenge, and
    /// the newest signed revocation list the sender holds.
    case hello(PeerHello)
    /// The sender's signature over `PeerProof` (the other's challenge, its own, both ids).
    case proof(Data)
    /// A part of the sender's summary: how much of each log it holds. `last` ends the summary.
    case summary([PeerLogSummary], last: Bool)
    /// Certificates of the authors of the changes that follow.
    case certificates([SignedCertificate])
    /// A batch of changes, each with its signature as its author made it.
    case changes([SignedChange])
    /// The sender has sent every change the other lacked; `count` of them.
    case done(count: UInt64)
    /// The clean close: the sender took `applied` of the other's changes.
    case bye(applied: UInt64)
    /// The sender refuses the meeting, with the stable code and a message; it closes next.
    case refuse(FieldSyncError)
    /// The photos the sender holds and still carries for the server, which the other may want.
    case mediaOffer([PeerMediaOffer])
    /// The offered photos the sender lacks and wants, by SHA-256, within its budget.
    case mediaWant([Data])
    /// A piece of a wanted photo: its SHA-256, the offset of the piece, the bytes, and whether it is the last.
    case mediaPiece(sha256: Data, offset: UInt64, bytes: [UInt8], last: Bool)
    /// The sender has sent every photo the other wanted.
    case mediaDone

    /// The protocol version this library speaks.
    public static let version: UInt64 = 1
    /// Most summary entries in one message.
    public static let maxSummaryEntries = 2_000
    /// Most missing sequence numbers listed for one log.
    public static let maxMissingListed = 64
    /// Most certificates in one message.
    public static let maxCertificates = 1_000
    /// Most changes in one batch.
    public static let maxBatchChanges = 1_000
    /// Most revoked devices a hello carries.
    public static let maxRevoked = 20_000
    /// Most bytes a batch's changes take before compression.
    public static let maxBatchBytes = 4 << 20
    /// Most photos offered or wanted in one meeting.
    public static let maxMedia = 2_000
    /// Most bytes of a photo in one piece.
    public static let maxPieceBytes = 256 << 10

    enum Kind: UInt8 {
        case hello = 1, proof, summary, certificates, changes, done, bye, refuse, mediaOffer, mediaWant, mediaPiece,
            mediaDone
    }

    /// The message's name, for progress and recordings.
    public var name: String {
        switch self {
        case .hello: "hello"
        case .proof: "proof"
        case .summary: "summary"
        case .certificates: "certificates"
        case .changes: "changes"
        case .done: "done"
        case .bye: "bye"
        case .refuse: "refuse"
        case .mediaOffer: "media_offer"
        case .mediaWant: "media_want"
        case .mediaPiece: "media_piece"
        case .mediaDone: "media_done"
        }
    }
}

/// What a hello says.
public struct PeerHello: Hashable, Sendable {
    /// The protocol version the sender speaks.
    public var version: UInt64
    /// The sender's certificate, signed by the server.
    public var certificate: SignedCertificate
    /// 32 random bytes the other side must sign.
    public var challenge: Data
    /// The newest signed list of the county's revoked devices the sender holds, and its signature.
    public var revocations: (Revocations, Data)?

    /// A hello.
    public init(
        version: UInt64 = PeerMessage.version, certificate: SignedCertificate, challenge: Data,
        revocations: (Revocations, Data)? = nil
    ) {
        self.version = version
        self.certificate = certificate
        self.challenge = challenge
        self.revocations = revocations
    }

    public static func == (a: PeerHello, b: PeerHello) -> Bool {
        a.version == b.version && a.certificate == b.certificate && a.challenge == b.challenge
            && a.revocations?.0 == b.revocations?.0 && a.revocations?.1 == b.revocations?.1
    }

    public func hash(into h: inout Hasher) {
        h.combine(version)
        h.combine(certificate)
        h.combine(challenge)
    }
}

/// How much of one log a device holds, as it tells a peer.
public struct PeerLogSummary: Hashable, Sendable {
    /// The log's device.
    public var device: DeviceID
    /// The highest sequence number held (0: none).
    public var head: UInt64
    /// Sequence numbers below `head` not held (at most `PeerMessage.maxMissingListed`).
    public var missing: [UInt64]
    /// Whether more are missing than `missing` lists (the peer then sends everything below `head`).
    public var moreMissing: Bool

    /// A log's summary.
    public init(device: DeviceID, head: UInt64, missing: [UInt64] = [], moreMissing: Bool = false) {
        self.device = device
        self.head = head
        self.missing = missing
        self.moreMissing = moreMissing
    }
}

/// A photo offered in a meeting.
public struct PeerMediaOffer: Hashable, Sendable {
    /// Its SHA-256 (32 bytes).
    public var sha256: Data
    /// Its size in bytes.
    public var size: UInt64
    /// Its content type (`image/jpeg`).
    public var contentType: String

    /// An offer.
    public init(sha256: Data, size: UInt64, contentType: String) {
        self.sha256 = sha256
        self.size = size
        self.contentType = contentType
    }
}
