public import FieldSyncCore
public import Foundation

/// Where the bytes of photos and other attachments are kept, by content (SHA-256): a blob is
/// stored once whatever the number of reports that attach it. Uploads arrive in pieces (tus) and
/// stay partial until the service has checked the whole file's hash and called
/// `commitUpload`. Engines: `FileBlobStore` (files on disk, beside a SQLite database) and
/// `PostgresStore` (every daemon sees every blob); `BlobStoreConformanceTests` holds both to
/// the same behaviour. The engines decide nothing: who may upload or read what, and whether the
/// bytes match the hash they claim, are the service's rules.
public protocol BlobStore: Sendable {
    /// A stored blob (or one purged: its reason), nil if never stored.
    func blob(_ sha256: String) async throws(FieldSyncError) -> BlobInfo?
    /// Up to `length` bytes of a stored blob from `offset` (fewer at its end).
    func read(_ sha256: String, offset: UInt64, length: Int) async throws(FieldSyncError) -> Data
    /// Starts a partial upload.
    func createUpload(_ upload: UploadRecord) async throws(FieldSyncError)
    /// A partial upload by id.
    func upload(_ id: String) async throws(FieldSyncError) -> UploadRecord?
    /// The partial uploads of one device (for its budget).
    func uploads(device: String) async throws(FieldSyncError) -> [UploadRecord]
    /// Appends bytes at `offset`, which must be the upload's current offset (else
    /// `upload_conflict`, nothing written); returns the new offset.
    func append(_ id: String, at offset: UInt64, _ bytes: Data) async throws(FieldSyncError) -> UInt64
    /// Up to `length` bytes of a partial upload from `offset`.
    func readUpload(_ id: String, offset: UInt64, length: Int) async throws(FieldSyncError) -> Data
    /// Makes a complete partial upload the blob of its hash (the caller checked the bytes) and
    /// removes the partial. A blob already held stays as it is.
    func commitUpload(_ id: String) async throws(FieldSyncError) -> BlobInfo
    /// Removes a partial upload (terminated, expired, or refused at the end). Idempotent.
    func deleteUpload(_ id: String) async throws(FieldSyncError)
    /// Removes the partial uploads expired at `nowMillis`; returns how many.
    func collectExpired(nowMillis: UInt64) async throws(FieldSyncError) -> Int
    /// Removes a blob's bytes for good, and any partial upload of it, keeping the record of why
    /// and when. A blob never stored is recorded as purged too (`size` as its references
    /// declare), so that it is never taken. Purging again keeps the first time, takes the reason.
    func purge(_ sha256: String, size: UInt64, reason: String, nowMillis: UInt64) async throws(FieldSyncError)
    /// The purges in the order they were made (`PurgeMark` order), after `mark` (from the first
    /// when nil), at most `limit`: what devices are told, so that the bytes leave them too.
    func purges(after mark: PurgeMark?, limit: Int) async throws(FieldSyncError) -> [PurgeMark]
}

/// One purge, in the order devices learn of purges: by time, then by hash. Its `cursor` is the
/// opaque position a device sends back (`purged_after`) to hear only of later ones.
public struct PurgeMark: Sendable, Hashable, Codable, Comparable {
    /// The purged blob's SHA-256.
    public var sha256: String
    /// When it was purged (milliseconds since 1970).
    public var atMillis: UInt64

    /// A purge.
    public init(sha256: String, atMillis: UInt64) {
        self.sha256 = sha256
        self.atMillis = atMillis
    }

    /// Reads a cursor (`<ms>.<sha256>`); nil if it is not one.
    public init?(cursor: String) {
        let parts = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard cursor.utf8.count <= 90, parts.count == 2, parts[0].count <= 19,
            let ms = UInt64(parts[0]), MediaRef.isValidSHA256(String(parts[1]))
        else { return nil }
        self.init(sha256: String(parts[1]), atMillis: ms)
    }

    /// The position after this purge.
    public var cursor: String { "\(atMillis).\(sha256)" }

    public static func < (a: PurgeMark, b: PurgeMark) -> Bool {
        (a.atMillis, a.sha256) < (b.atMillis, b.sha256)
    }
}

/// A blob as the store knows it.
public struct BlobInfo: Sendable, Hashable, Codable {
    /// Its SHA-256, lower-case hex.
    public var sha256: String
    /// Its size in bytes.
    public var size: UInt64
    /// Why its bytes were purged (nil while they are held).
    public var purgedReason: String?
    /// When they were purged.
    public var purgedMillis: UInt64?

    /// A blob record.
    public init(sha256: String, size: UInt64, purgedReason: String? = nil, purgedMillis: UInt64? = nil) {
        self.sha256 = sha256
        self.size = size
        self.purgedReason = purgedReason
        self.purgedMillis = purgedMillis
    }
}

/// A partial upload: which blob it will deliver, how far it has come, whose it is, until when.
public struct UploadRecord: Sendable, Hashable, Codable {
    /// The upload's id (random, URL-safe).
    public var id: String
    /// The SHA-256 the whole file must have.
    public var sha256: String
    /// The whole file's length.
    public var length: UInt64
    /// The bytes received so far.
    public var offset: UInt64
    /// The uploading device.
    public var device: String
    /// Its county.
    public var county: String
    /// The declared content type.
    public var contentType: String
    /// When it was created, and when it expires (ms since the epoch).
    public var createdMillis: UInt64
    /// When it expires.
    public var expiresMillis: UInt64

    /// A record.
    public init(
        id: String, sha256: String, length: UInt64, offset: UInt64 = 0, device: String, county: String,
        contentType: String, createdMillis: UInt64, expiresMillis: UInt64
    ) {
        self.id = id
        self.sha256 = sha256
        self.length = length
        self.offset = offset
        self.device = device
        self.county = county
        self.contentType = contentType
        self.createdMillis = createdMillis
        self.expiresMillis = expiresMillis
    }
}
