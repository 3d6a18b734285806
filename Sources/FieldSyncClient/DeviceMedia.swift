public import FieldSyncCore
import FieldSyncSigning
public import FieldSyncStore
public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A device's media area: the bytes of the files its reports attach, as `<sha256>` files (0600)
/// in a directory beside its store, and the queue of those the server does not have yet (kept
/// in the store's settings, oldest first). `MediaUpload` drains the queue.
public struct DeviceMedia: Sendable {
    /// The directory holding the files.
    public let directory: URL
    /// The largest file the server takes by default (`ServerConfiguration.maxMediaBytes`).
    public static let maxBytes: UInt64 = 20 * 1024 * 1024

    /// Opens (creating if needed) the media area.
    public init(directory: URL) throws(FieldSyncError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FieldSyncError(.storage, "cannot create the media area \(directory.path): \(error)")
        }
    }

    /// One file waiting for the server.
    public struct Entry: Sendable, Codable, Hashable {
        /// The file's SHA-256 (its name in the area).
        public var sha256: String
        /// Its size.
        public var size: UInt64
        /// Its content type.
        public var contentType: String
        /// Remove the bytes from the device once the server has them.
        public var untilUploaded: Bool
        /// The server's upload URL path once created (resumed with HEAD after a cut or restart).
        public var location: String?

        /// A file to send.
        public init(
            sha256: String, size: UInt64, contentType: String, untilUploaded: Bool = false, location: String? = nil
        ) {
            self.sha256 = sha256
            self.size = size
            self.contentType = contentType
            self.untilUploaded = untilUploaded
            self.location = location
        }
    }

    /// The file's path in the area.
    public func path(_ sha256: String) -> URL { directory.appendingPathComponent(sha256) }

    /// Copies `file` into the area (hashing it as it goes); returns what a change attaches.
    public func add(_ file: URL, contentType: String) throws(FieldSyncError) -> MediaRef {
        guard let input = FileHandle(forReadingAtPath: file.path) else {
            throw FieldSyncError(.invalidRequest, "cannot read \(file.path)")
        }
        defer { try? input.close() }
        let temporary = directory.appendingPathComponent("incoming-\(UUID().uuidString)")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: temporary.path)
        else { throw FieldSyncError(.storage, "cannot write in the media area \(directory.path)") }
        var hash = Digest.SHA256Stream()
        var size: UInt64 = 0
        do {
            while let piece = try input.read(upToCount: 1 << 20), !piece.isEmpty {
                hash.update(piece)
                size += UInt64(piece.count)
                guard size <= Self.maxBytes else {
                    throw FieldSyncError(
                        .bodyTooLarge, "\(file.lastPathComponent) is over \(Self.maxBytes) bytes; resize it first")
                }
                try output.write(contentsOf: piece)
            }
            try output.synchronize()
            try output.close()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let e = error as? FieldSyncError { throw e }
            throw FieldSyncError(.storage, "cannot copy \(file.path) into the media area: \(error)")
        }
        let sha = hash.hex()
        if isPurged(sha) {
            try? FileManager.default.removeItem(at: temporary)
            throw FieldSyncError(
                .mediaPurged, "the county purged this file (\(sha.prefix(12))…): it is not attached or carried again")
        }
        if FileManager.default.fileExists(atPath: path(sha).path) {
            try? FileManager.default.removeItem(at: temporary)
        } else if rename(temporary.path, path(sha).path) != 0 {
            throw FieldSyncError(.storage, "cannot move \(file.lastPathComponent) into the media area")
        }
        return MediaRef(sha256: sha, contentType: contentType, size: size)
    }

    /// Up to `length` bytes of a held file from `offset`.
    public func read(_ sha256: String, offset: UInt64, length: Int) throws(FieldSyncError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path(sha256).path) else {
            throw FieldSyncError(.notFound, "the media area no longer holds \(sha256.prefix(12))…")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: length) ?? Data()
        } catch {
            throw FieldSyncError(.storage, "cannot read \(sha256.prefix(12))… from the media area: \(error)")
        }
    }

    /// Whether the area holds the file.
    public func holds(_ sha256: String) -> Bool { FileManager.default.fileExists(atPath: path(sha256).path) }

    /// Removes a file's bytes from the device.
    public func remove(_ sha256: String) { try? FileManager.default.removeItem(at: path(sha256)) }

    /// Whether the county purged the file (an empty `<sha256>.purged` mark in the area).
    public func isPurged(_ sha256: String) -> Bool {
        FileManager.default.fileExists(atPath: path(sha256).appendingPathExtension("purged").path)
    }

    /// The files this area knows were purged.
    public func purged() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".purged") }.map { String($0.dropLast(7)) }.filter(MediaRef.isValidSHA256)
    }

    /// Forgets files the county purged (personal data): removes their bytes, marks them so that
    /// they are never attached or carried again, and drops them from the queue. Returns how many
    /// of them this device held or was waiting to send.
    @discardableResult
    public func forget(_ hashes: [String], in store: any DeviceStore) async throws(FieldSyncError) -> Int {
        let gone = Set(hashes.filter(MediaRef.isValidSHA256))
        guard !gone.isEmpty else { return 0 }
        var entries = try await Self.queue(store)
        var forgotten = Set(gone.filter(holds))
        for sha in gone where !isPurged(sha) {
            let mark = path(sha).appendingPathExtension("purged")
            guard
                FileManager.default.createFile(atPath: mark.path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw FieldSyncError(.storage, "cannot mark \(sha.prefix(12))… purged in the media area") }
            remove(sha)
        }
        forgotten.formUnion(entries.filter { gone.contains($0.sha256) }.map(\.sha256))
        entries.removeAll { gone.contains($0.sha256) }
        try await Self.saveQueue(entries, to: store)
        return forgotten.count
    }

    // MARK: The queue

    static let queueKey = "media.queue"

    /// The files waiting for the server, oldest first.
    public static func queue(_ store: any DeviceStore) async throws(FieldSyncError) -> [Entry] {
        guard let text = try await store.setting(queueKey), let data = text.data(using: .utf8) else { return [] }
        do { return try JSONDecoder().decode([Entry].self, from: data) } catch {
            throw FieldSyncError(.storage, "the media queue in the store is unreadable: \(error)")
        }
    }

    /// Writes the queue.
    public static func saveQueue(_ entries: [Entry], to store: any DeviceStore) async throws(FieldSyncError) {
        let data = (try? JSONEncoder().encode(entries)) ?? Data("[]".utf8)
        try await store.setSettings([queueKey: String(decoding: data, as: UTF8.self)])
    }

    /// Adds a file to the queue (once per hash).
    public static func enqueue(_ entry: Entry, in store: any DeviceStore) async throws(FieldSyncError) {
        var entries = try await queue(store)
        guard !entries.contains(where: { $0.sha256 == entry.sha256 }) else { return }
        entries.append(entry)
        try await saveQueue(entries, to: store)
    }

    /// Carries a peer's photos: first, the purges the peer knows of are forgotten here too; then
    /// the files `peer`'s queue still waits to send that this device neither holds, waits to
    /// send, nor knows purged are copied into `media`, oldest first, within `budget` bytes, and
    /// queued here (kept only until the server has them). The bytes are hashed as they are
    /// copied; a file that does not match its name is skipped. Returns the files and bytes carried.
    public static func carry(
        from peer: any DeviceStore, _ peerMedia: DeviceMedia, to store: any DeviceStore, _ media: DeviceMedia,
        budget: UInt64
    ) async throws(FieldSyncError) -> (files: Int, bytes: UInt64) {
        try await media.forget(peerMedia.purged(), in: store)
        var mine = try await queue(store)
        var left = budget
        var carried = (files: 0, bytes: UInt64(0))
        for entry in try await queue(peer) where entry.size <= left && peerMedia.holds(entry.sha256) {
            guard !mine.contains(where: { $0.sha256 == entry.sha256 }), !media.holds(entry.sha256),
                !media.isPurged(entry.sha256)
            else { continue }
            let ref = try media.add(peerMedia.path(entry.sha256), contentType: entry.contentType)
            guard ref.sha256 == entry.sha256 else {
                media.remove(ref.sha256)
                continue
            }
            mine.append(
                Entry(sha256: entry.sha256, size: entry.size, contentType: entry.contentType, untilUploaded: true))
            left -= entry.size
            carried.files += 1
            carried.bytes += entry.size
        }
        try await saveQueue(mine, to: store)
        return carried
    }

    /// The content type of a file, from its extension.
    public static func contentType(of file: URL) -> String? {
        [
            "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic",
            "gif": "image/gif", "pdf": "application/pdf", "mp3": "audio/mpeg", "m4a": "audio/mp4", "mp4": "video/mp4",
        ][file.pathExtension.lowercased()]
    }
}
