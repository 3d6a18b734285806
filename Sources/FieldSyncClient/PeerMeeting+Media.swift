import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization

extension PeerMeeting {
    /// The photos this device offers: those its queue still carries for the server and whose
    /// bytes it holds (none without a media area).
    func mediaOffers() async throws(FieldSyncError) -> [PeerMediaOffer] {
        guard let media else { return [] }
        return try await DeviceMedia.queue(store).compactMap { e -> PeerMediaOffer? in
            guard let sha = Self.bytes(hex: e.sha256), media.holds(e.sha256) else { return nil }
            return PeerMediaOffer(sha256: sha, size: e.size, contentType: e.contentType)
        }
        .prefix(PeerMessage.maxMedia).map { $0 }
    }

    /// The offered photos this device lacks (not held, not queued, not known purged), oldest
    /// first, within `mediaBudget` bytes.
    func mediaWants(_ offers: [PeerMediaOffer]) async throws(FieldSyncError) -> [PeerMediaOffer] {
        guard let media else { return [] }
        let queued = Set(try await DeviceMedia.queue(store).map(\.sha256))
        var left = mediaBudget
        var wants: [PeerMediaOffer] = []
        for o in offers where o.size <= left && o.size <= DeviceMedia.maxBytes {
            let hex = Self.hex(o.sha256)
            guard !queued.contains(hex), !media.holds(hex), !media.isPurged(hex),
                !wants.contains(where: { $0.sha256 == o.sha256 })
            else { continue }
            wants.append(o)
            left -= o.size
        }
        return wants
    }

    /// Sends the photos the peer wanted (of those offered) while taking those this device wanted.
    func exchangeMedia(
        wanted mine: [PeerMediaOffer], offered: [PeerMediaOffer], theirWants: [Data], _ wire: Wire
    ) async throws(FieldSyncError) {
        guard !mine.isEmpty || !theirWants.isEmpty else { return }
        let offeredSet = Set(offered.map(\.sha256))
        var asked = Set<Data>()
        let toSend = theirWants.filter { offeredSet.contains($0) && asked.insert($0).inserted }
        try await wire.both(
            { () async throws(FieldSyncError) in try await self.sendMedia(toSend, wire) },
            { () async throws(FieldSyncError) in try await self.takeMedia(mine, wire) })
    }

    private func sendMedia(_ hashes: [Data], _ wire: Wire) async throws(FieldSyncError) {
        if let media {
            for sha in hashes {
                let hex = Self.hex(sha)
                var offset: UInt64 = 0
                while true {
                    let piece = try media.read(hex, offset: offset, length: PeerMessage.maxPieceBytes)
                    let last = piece.count < PeerMessage.maxPieceBytes
                    try await wire.send(.mediaPiece(sha256: sha, offset: offset, bytes: [UInt8](piece), last: last))
                    offset += UInt64(piece.count)
                    if last { break }
                }
                wire.outcome.withLock {
                    $0.photosSent += 1
                    $0.photoBytesSent += Int(clamping: offset)
                }
            }
        }
        try await wire.send(.mediaDone)
    }

    /// Takes pieces of wanted photos until the peer's `media_done`; a photo is kept (and queued
    /// for the server) only when its bytes hash to its name.
    private func takeMedia(_ wanted: [PeerMediaOffer], _ wire: Wire) async throws(FieldSyncError) {
        var incoming = IncomingMedia(wanted: wanted, media: media)
        defer { incoming.discard() }
        while true {
            switch try await wire.receive(expecting: "photos") {
            case .mediaPiece(let sha, let offset, let bytes, let last):
                guard let done = try incoming.take(sha, offset: offset, bytes: bytes, last: last) else { continue }
                try await DeviceMedia.enqueue(
                    DeviceMedia.Entry(
                        sha256: Self.hex(sha), size: done.size, contentType: done.contentType, untilUploaded: true),
                    in: store)
                wire.outcome.withLock {
                    $0.photosReceived += 1
                    $0.photoBytesReceived += Int(clamping: done.size)
                }
            case .mediaDone: return
            default: throw Wire.unexpected("photos")
            }
        }
    }

    static func hex(_ bytes: Data) -> String { Digest.hex(bytes) }

    static func bytes(hex: String) -> Data? {
        guard hex.utf8.count == 64 else { return nil }
        var out = Data(capacity: 32)
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
            out.append(b)
            i = j
        }
        return out
    }
}

/// The photos being received: each written to a temporary file piece by piece, in order, never
/// beyond its offered size, then hashed into the media area.
struct IncomingMedia {
    let wanted: [Data: PeerMediaOffer]
    let media: DeviceMedia?
    var files: [Data: (handle: FileHandle, url: URL, written: UInt64)] = [:]
    /// Photos already taken whole (a second copy is refused).
    var done = Set<Data>()

    init(wanted: [PeerMediaOffer], media: DeviceMedia?) {
        self.wanted = Dictionary(wanted.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
        self.media = media
    }

    /// Takes a piece; returns the photo's offer once its last piece is in and its hash checks.
    mutating func take(
        _ sha: Data, offset: UInt64, bytes: [UInt8], last: Bool
    ) throws(FieldSyncError) -> PeerMediaOffer? {
        guard let media, let offer = wanted[sha] else {
            throw FieldSyncError(.mediaNotReferenced, "the peer sent a photo this device did not ask for")
        }
        let written = files[sha]?.written ?? 0
        guard offset == written, written + UInt64(bytes.count) <= offer.size, !done.contains(sha) else {
            throw FieldSyncError(.malformed, "a photo's piece is out of order, repeated or beyond its offered size")
        }
        var file: (handle: FileHandle, url: URL, written: UInt64)
        if let held = files[sha] { file = held } else { file = try open(media) }
        do { try file.handle.write(contentsOf: bytes) } catch {
            throw FieldSyncError(.storage, "cannot write a photo in \(media.directory.path): \(error)")
        }
        file.written += UInt64(bytes.count)
        files[sha] = file
        guard last else { return nil }
        try? file.handle.close()
        files[sha] = nil
        done.insert(sha)
        defer { try? FileManager.default.removeItem(at: file.url) }
        let ref = try media.add(file.url, contentType: offer.contentType)
        guard ref.sha256 == PeerMeeting.hex(sha) else {
            media.remove(ref.sha256)
            throw FieldSyncError(.mediaMismatch, "a photo's bytes do not hash to its name: the peer altered it")
        }
        return offer
    }

    private func open(_ media: DeviceMedia) throws(FieldSyncError) -> (handle: FileHandle, url: URL, written: UInt64) {
        let url = media.directory.appendingPathComponent("peer-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: url.path)
        else { throw FieldSyncError(.storage, "cannot write a photo in \(media.directory.path)") }
        return (handle, url, 0)
    }

    /// Removes what was left half-received.
    mutating func discard() {
        for (_, f) in files {
            try? f.handle.close()
            try? FileManager.default.removeItem(at: f.url)
        }
        files = [:]
    }
}
