public import FieldSyncCore
public import FieldSyncStore
public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Blobs as files on disk: the embedded deployment's media store, beside its SQLite database
/// (`fieldsyncd serve --media-dir`). A blob is `blobs/<2 hex>/<sha256>`; a partial upload is
/// `uploads/<id>.part` with its record in `uploads/<id>.json`; a purged blob leaves
/// `blobs/<2 hex>/<sha256>.purged` with its reason and time, and an empty `purged/<ms>.<sha256>`
/// so that purges list in order from names alone. Files are 0600 and directories 0700; each
/// appended piece is flushed to disk before its new offset is answered, and a commit is one
/// rename, so a killed daemon leaves either the partial or the blob, never half of one.
public actor FileBlobStore: BlobStore {
    /// The media directory.
    public nonisolated let directory: URL
    private let fm = FileManager.default

    /// Opens (creating if needed) the media directory.
    public init(directory: URL) throws(FieldSyncError) {
        self.directory = directory
        for sub in ["", "blobs", "uploads", "purged"] {
            let url = directory.appendingPathComponent(sub)
            do {
                try FileManager.default.createDirectory(
                    at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw FieldSyncError(.storage, "cannot create the media directory \(url.path): \(error)")
            }
        }
    }

    private func blobURL(_ sha: String) -> URL {
        directory.appendingPathComponent("blobs/\(sha.prefix(2))/\(sha)")
    }
    private func partURL(_ id: String) -> URL { directory.appendingPathComponent("uploads/\(id).part") }
    private func recordURL(_ id: String) -> URL { directory.appendingPathComponent("uploads/\(id).json") }

    public func blob(_ sha256: String) throws(FieldSyncError) -> BlobInfo? {
        let url = blobURL(sha256)
        if let size = fileSize(url) { return BlobInfo(sha256: sha256, size: size) }
        guard let data = try? Data(contentsOf: url.appendingPathExtension("purged")) else { return nil }
        return try decode(BlobInfo.self, data)
    }

    public func read(_ sha256: String, offset: UInt64, length: Int) throws(FieldSyncError) -> Data {
        try readFile(blobURL(sha256), offset: offset, length: length)
    }

    public func createUpload(_ upload: UploadRecord) throws(FieldSyncError) {
        guard fm.createFile(atPath: partURL(upload.id).path, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw FieldSyncError(.storage, "cannot create the upload file for \(upload.id)") }
        try writeRecord(upload)
    }

    public func upload(_ id: String) throws(FieldSyncError) -> UploadRecord? {
        guard let data = try? Data(contentsOf: recordURL(id)) else { return nil }
        guard fileSize(partURL(id)) != nil else {
            // A record whose part is gone: left by a commit stopped between its two steps (the
            // file is stored) — the upload is over.
            try deleteUpload(id)
            return nil
        }
        var record = try decode(UploadRecord.self, data)
        // The file is the truth for the offset: a piece written before a crash counts.
        record.offset = min(fileSize(partURL(id)) ?? 0, record.length)
        return record
    }

    public func uploads(device: String) throws(FieldSyncError) -> [UploadRecord] {
        var result: [UploadRecord] = []
        for id in uploadIDs() {
            if let r = try upload(id), r.device == device { result.append(r) }
        }
        return result
    }

    public func append(_ id: String, at offset: UInt64, _ bytes: Data) throws(FieldSyncError) -> UInt64 {
        guard let record = try upload(id) else { throw FieldSyncError(.notFound, "no upload \(id)") }
        guard record.offset == offset else {
            throw FieldSyncError(
                .uploadConflict, "upload \(id) is at offset \(record.offset), not \(offset); resume from there")
        }
        guard offset + UInt64(bytes.count) <= record.length else {
            throw FieldSyncError(
                .invalidRequest, "upload \(id) is \(record.length) bytes long; this piece goes past its end")
        }
        guard let handle = FileHandle(forWritingAtPath: partURL(id).path) else {
            throw FieldSyncError(.storage, "cannot open the upload file for \(id)")
        }
        defer { try? handle.close() }
        do {
            try handle.truncate(atOffset: offset)
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
        } catch {
            throw FieldSyncError(.storage, "cannot write upload \(id): \(error)")
        }
        return offset + UInt64(bytes.count)
    }

    public func readUpload(_ id: String, offset: UInt64, length: Int) throws(FieldSyncError) -> Data {
        try readFile(partURL(id), offset: offset, length: length)
    }

    public func commitUpload(_ id: String) throws(FieldSyncError) -> BlobInfo {
        guard let record = try upload(id), record.offset == record.length else {
            throw FieldSyncError(.uploadConflict, "upload \(id) is not complete")
        }
        let target = blobURL(record.sha256)
        try createDirectory(target.deletingLastPathComponent())
        if let purged = try blob(record.sha256), purged.purgedReason != nil {
            // Purged while its last piece was on the way: the bytes are not kept.
            try deleteUpload(id)
            return purged
        }
        if fileSize(target) == nil, rename(partURL(id).path, target.path) != 0 {
            throw FieldSyncError(.storage, "cannot move upload \(id) into place (errno \(errno))")
        }
        try deleteUpload(id)
        return BlobInfo(sha256: record.sha256, size: record.length)
    }

    public func deleteUpload(_ id: String) throws(FieldSyncError) {
        try? fm.removeItem(at: partURL(id))
        try? fm.removeItem(at: recordURL(id))
    }

    public func collectExpired(nowMillis: UInt64) throws(FieldSyncError) -> Int {
        var removed = 0
        for id in uploadIDs() {
            guard let data = try? Data(contentsOf: recordURL(id)) else {
                // A part without its record (killed between the two writes of createUpload).
                try deleteUpload(id)
                continue
            }
            if let r = try? decode(UploadRecord.self, data), r.expiresMillis > nowMillis { continue }
            try deleteUpload(id)
            removed += 1
        }
        return removed
    }

    public func purge(_ sha256: String, size: UInt64, reason: String, nowMillis: UInt64) throws(FieldSyncError) {
        let held = try blob(sha256)
        let at = held?.purgedMillis ?? nowMillis
        let record = BlobInfo(sha256: sha256, size: held?.size ?? size, purgedReason: reason, purgedMillis: at)
        try createDirectory(blobURL(sha256).deletingLastPathComponent())
        try writeAtomically(encode(record), to: blobURL(sha256).appendingPathExtension("purged"))
        let mark = directory.appendingPathComponent("purged/\(PurgeMark(sha256: sha256, atMillis: at).cursor)")
        guard fm.fileExists(atPath: mark.path) || fm.createFile(atPath: mark.path, contents: nil) else {
            throw FieldSyncError(.storage, "cannot record the purge of \(sha256.prefix(12))…")
        }
        try? fm.removeItem(at: blobURL(sha256))
        for id in uploadIDs() {
            if let data = try? Data(contentsOf: recordURL(id)), let r = try? decode(UploadRecord.self, data),
                r.sha256 == sha256
            {
                try deleteUpload(id)
            }
        }
    }

    public func purges(after mark: PurgeMark?, limit: Int) throws(FieldSyncError) -> [PurgeMark] {
        let names = (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent("purged").path)) ?? []
        let marks = names.compactMap(PurgeMark.init(cursor:)).filter { mark == nil || mark! < $0 }.sorted()
        return Array(marks.prefix(max(0, limit)))
    }

    // MARK: Files

    private func createDirectory(_ url: URL) throws(FieldSyncError) {
        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FieldSyncError(.storage, "cannot create \(url.path): \(error)")
        }
    }

    private func uploadIDs() -> [String] {
        let names = (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent("uploads").path)) ?? []
        return Array(Set(names.compactMap { $0.split(separator: ".").first.map(String.init) })).sorted()
    }

    private func fileSize(_ url: URL) -> UInt64? {
        guard let attributes = try? fm.attributesOfItem(atPath: url.path),
            (attributes[.type] as? FileAttributeType) == .typeRegular
        else { return nil }
        return (attributes[.size] as? NSNumber)?.uint64Value
    }

    private func readFile(_ url: URL, offset: UInt64, length: Int) throws(FieldSyncError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw FieldSyncError(.notFound, "no such media \(url.lastPathComponent)")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: max(0, length)) ?? Data()
        } catch {
            throw FieldSyncError(.storage, "cannot read \(url.lastPathComponent): \(error)")
        }
    }

    private func writeRecord(_ record: UploadRecord) throws(FieldSyncError) {
        try writeAtomically(encode(record), to: recordURL(record.id))
    }

    private func writeAtomically(_ data: Data, to url: URL) throws(FieldSyncError) {
        let temporary = url.appendingPathExtension("tmp")
        guard fm.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary.path, url.path) == 0
        else { throw FieldSyncError(.storage, "cannot write \(url.lastPathComponent)") }
    }

    private func encode<T: Encodable>(_ value: T) throws(FieldSyncError) -> Data {
        do { return try JSONEncoder().encode(value) } catch {
            throw FieldSyncError(.internalError, "cannot encode a media record: \(error)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(FieldSyncError) -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw FieldSyncError(.storage, "a media record is unreadable: \(error)")
        }
    }
}
