public import FieldSyncCore
import FieldSyncSigning
public import FieldSyncProtocol
public import FieldSyncStore
public import Foundation

/// Media: resumable uploads (tus 1.0 underneath, `HTTPAPI+Media`) and downloads, county-scoped.
/// The rules live here, once, whatever the engine: an upload names the SHA-256 it delivers and
/// a length equal to what a change of the device's county declared for it; a blob already held
/// completes at once; a device's open uploads are bounded in number and bytes; each piece can
/// carry a checksum; the whole file is hashed at the end and a mismatch discards it.
extension SyncService {
    /// The id under which an upload of a blob already held is answered (complete at once).
    static let heldPrefix = "held-"

    /// Starts an upload for `sha256` (or finds the blob held). `length` must be the size a change
    /// of the device's county declared for it.
    public func createUpload(
        sha256: String, length: UInt64, contentType: String?, by device: DeviceRecord
    ) async throws(FieldSyncError) -> UploadRecord {
        guard MediaRef.isValidSHA256(sha256) else {
            throw FieldSyncError(.invalidRequest, "the upload must name its sha256 (64 lower-case hex characters)")
        }
        guard length <= configuration.maxMediaBytes else {
            throw FieldSyncError(
                .bodyTooLarge, "a media file may have at most \(configuration.maxMediaBytes) bytes, not \(length)")
        }
        let reference = try await reference(sha256, for: device)
        guard reference.size == length else {
            throw FieldSyncError(
                .invalidRequest,
                "the change that attaches \(sha256.prefix(12))… declared \(reference.size) bytes, not \(length)")
        }
        let type = contentType ?? reference.contentType
        guard configuration.mediaTypes.contains(type) else {
            throw FieldSyncError(
                .unsupportedContentType,
                "media of type '\(type.prefix(64))' is not accepted; allowed: \(configuration.mediaTypes.sorted().joined(separator: ", "))"
            )
        }
        let now = now()
        if let held = try await blobs.blob(sha256) {
            if held.purgedReason != nil { throw Self.purged(held) }
            return UploadRecord(
                id: Self.heldPrefix + sha256, sha256: sha256, length: held.size, offset: held.size,
                device: device.id.rawValue, county: device.county, contentType: type, createdMillis: now,
                expiresMillis: now)
        }
        _ = try await blobs.collectExpired(nowMillis: now)
        try await checkBudget(of: device, adding: length)
        let record = UploadRecord(
            id: Tokens.generate(prefix: "up").replacingOccurrences(of: "_", with: "-"), sha256: sha256,
            length: length, device: device.id.rawValue, county: device.county, contentType: type,
            createdMillis: now, expiresMillis: now + UInt64(configuration.uploadExpiryHours) * 3_600_000)
        try await blobs.createUpload(record)
        return record
    }

    /// An upload of the device's, as far as it has come (a blob already held: complete).
    public func uploadState(_ id: String, by device: DeviceRecord) async throws(FieldSyncError) -> UploadRecord {
        if id.hasPrefix(Self.heldPrefix) {
            let sha = String(id.dropFirst(Self.heldPrefix.count))
            guard MediaRef.isValidSHA256(sha) else { throw Self.noUpload(id) }
            _ = try await reference(sha, for: device)
            guard let held = try await blobs.blob(sha) else { throw Self.noUpload(id) }
            if held.purgedReason != nil { throw Self.purged(held) }
            return UploadRecord(
                id: id, sha256: sha, length: held.size, offset: held.size, device: device.id.rawValue,
                county: device.county, contentType: "", createdMillis: 0, expiresMillis: 0)
        }
        guard Self.isUploadID(id), let record = try await blobs.upload(id), record.device == device.id.rawValue else {
            throw Self.noUpload(id)
        }
        if record.expiresMillis <= now() {
            try await blobs.deleteUpload(id)
            throw FieldSyncError(.uploadExpired, "upload \(id) expired; start it again (POST /v1/uploads)")
        }
        // Every byte arrived but the daemon stopped before the file was checked and stored:
        // finish it now, so that a client told "complete" finds the file stored.
        if record.offset == record.length { try await finish(record) }
        return record
    }

    /// Appends a piece at `offset`; a piece checksum (`sha1` or `sha256`, raw digest) is checked
    /// first. When the upload is complete, the whole file is hashed: a match becomes the blob, a
    /// mismatch is discarded (`media_mismatch`).
    public func appendUpload(
        _ id: String, at offset: UInt64, _ bytes: Data, checksum: (algorithm: String, digest: Data)?,
        by device: DeviceRecord
    ) async throws(FieldSyncError) -> UploadRecord {
        var record = try await uploadState(id, by: device)
        if let checksum {
            let actual: Data
            switch checksum.algorithm {
            case "sha1": actual = Digest.sha1(bytes)
            case "sha256": actual = Digest.sha256(bytes)
            default:
                throw FieldSyncError(.invalidRequest, "Upload-Checksum algorithms: sha1, sha256")
            }
            guard actual == checksum.digest else {
                throw FieldSyncError(
                    .checksumMismatch, "the piece's \(checksum.algorithm) does not match; send it again")
            }
        }
        if id.hasPrefix(Self.heldPrefix) {
            // The server holds the file: a client that ignored the creation's Upload-Offset (a
            // plain tus client starts at 0) is told it is complete; what it sent is dropped.
            guard offset <= record.length else {
                throw FieldSyncError(.uploadConflict, "the server holds this file already; nothing is to be sent")
            }
            return record
        }
        record.offset = try await blobs.append(id, at: offset, bytes)
        store.faults?.reach(.midPiece)
        if record.offset == record.length { try await finish(record) }
        return record
    }

    /// Ends an upload the device no longer wants (tus termination).
    public func deleteUpload(_ id: String, by device: DeviceRecord) async throws(FieldSyncError) {
        let record = try await uploadState(id, by: device)
        if !id.hasPrefix(Self.heldPrefix) { try await blobs.deleteUpload(record.id) }
    }

    /// A stored blob the caller may read: an operator of, or a device of, a county whose report
    /// attaches it.
    public func media(_ sha256: String, by caller: Principal) async throws(FieldSyncError) -> BlobInfo {
        guard MediaRef.isValidSHA256(sha256) else {
            throw FieldSyncError(.invalidRequest, "a media id is its sha256: 64 lower-case hex characters")
        }
        let counties = Set(try await store.mediaReferences(sha256).map(\.county))
        let allowed: Bool
        switch caller {
        case .device(let d): allowed = counties.contains(d.county)
        case .operator(let o): allowed = counties.contains { o.covers($0) }
        case .shell: allowed = true
        }
        guard allowed, let info = try await blobs.blob(sha256) else {
            throw FieldSyncError(.notFound, "no media \(sha256.prefix(12))… that you may read has arrived")
        }
        if info.purgedReason != nil { throw Self.purged(info) }
        return info
    }

    /// Whether each attachment's bytes have arrived.
    func mediaStatuses(_ attachments: [MediaAttachment]) async throws(FieldSyncError) -> [MediaStatus] {
        var result: [MediaStatus] = []
        for a in attachments {
            result.append(try await status(a.media.sha256, type: a.media.contentType, size: a.media.size))
        }
        return result
    }

    /// The attachments of the operator's counties (one county, or all of theirs), each with
    /// whether its bytes arrived; with `missing`, only those not uploaded yet.
    public func mediaList(
        missing: Bool, county: String?, limit: Int, offset: Int, by caller: Principal
    ) async throws(FieldSyncError) -> MediaList {
        let op = try requireOperator(caller)
        try Self.checkPage(limit: limit, offset: offset)
        if let county { try requireCounty(op, county) }
        let counties: [String]? = county.map { [$0] } ?? (op.counties.contains("*") ? nil : op.counties)
        var list: [MediaStatus] = []
        var at = offset
        while list.count < limit {
            let page = try await store.attachments(counties: counties, offset: at, limit: 500)
            for (i, ref) in page.enumerated() {
                var s = try await status(ref.sha256, type: ref.contentType, size: ref.size)
                s.report = ref.report.rawValue
                if !missing || s.state == "missing" { list.append(s) }
                if list.count == limit {
                    return MediaList(media: list, nextOffset: at + i + 1)
                }
            }
            if page.count < 500 { return MediaList(media: list, nextOffset: nil) }
            at += page.count
        }
        return MediaList(media: list, nextOffset: at)
    }

    /// Purges a file (admins): its bytes are removed for good and the reason kept, shown where it
    /// is attached. For personal data in a photo (Kenya's Data Protection Act 2019).
    public func purgeMedia(
        _ sha256: String, reason: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> MediaStatus {
        try requireAdmin(caller)
        guard MediaRef.isValidSHA256(sha256) else {
            throw FieldSyncError(.invalidRequest, "a media id is its sha256: 64 lower-case hex characters")
        }
        // Kept on one line of the audit log: control characters become spaces.
        let reason = String(
            String.UnicodeScalarView(reason.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
        guard (1...500).contains(reason.unicodeScalars.count) else {
            throw FieldSyncError(.invalidRequest, "reason must have 1 to 500 characters")
        }
        let references = try await store.mediaReferences(sha256)
        let held = try await blobs.blob(sha256)
        // A file attached but never uploaded is purged too: devices drop it, the server never takes it.
        guard let size = held?.size ?? references.first?.size else {
            throw FieldSyncError(.notFound, "no media \(sha256.prefix(12))… is stored or attached")
        }
        try await blobs.purge(sha256, size: size, reason: reason, nowMillis: now())
        try await audit(
            .purgeMedia, by: caller, from: address, county: references.first?.county, subject: sha256, detail: reason)
        let first = references.first
        return MediaStatus(
            sha256: sha256, contentType: first?.contentType ?? "", size: first?.size ?? 0, state: "purged",
            purgedReason: reason)
    }

    /// The most purges one sync answer looks at.
    static let purgesPerSync = 200

    /// The purges a device of `county` is told of after `mark` (nil: from the first): at most
    /// `purgesPerSync` looked at, those of files its county attaches listed; the cursor moves
    /// past every one looked at.
    func purges(
        after mark: PurgeMark?, county: String
    ) async throws(FieldSyncError) -> (hashes: [String], cursor: String, more: Bool) {
        let marks = try await blobs.purges(after: mark, limit: Self.purgesPerSync)
        var hashes: [String] = []
        for m in marks {
            let references = try await store.mediaReferences(m.sha256)
            if references.contains(where: { $0.county == county }) { hashes.append(m.sha256) }
        }
        return (hashes, marks.last?.cursor ?? mark?.cursor ?? "", marks.count == Self.purgesPerSync)
    }

    /// Reads `purged_after`: empty (from the first purge) or a cursor the server gave.
    static func purgeMark(_ text: String) throws(FieldSyncError) -> PurgeMark? {
        if text.isEmpty { return nil }
        guard let mark = PurgeMark(cursor: text) else {
            throw FieldSyncError(.invalidRequest, "purged_after must be empty or a purged_cursor this server gave")
        }
        return mark
    }

    private func status(_ sha256: String, type: String, size: UInt64) async throws(FieldSyncError) -> MediaStatus {
        let info = try await blobs.blob(sha256)
        let state = info == nil ? "missing" : info?.purgedReason == nil ? "arrived" : "purged"
        return MediaStatus(
            sha256: sha256, contentType: type, size: size, state: state, purgedReason: info?.purgedReason)
    }

    // MARK: Rules

    /// Hashes the whole upload in 1 MiB pieces; commits it or discards it.
    private func finish(_ record: UploadRecord) async throws(FieldSyncError) {
        var hash = Digest.SHA256Stream()
        var at: UInt64 = 0
        while at < record.length {
            let piece = try await blobs.readUpload(record.id, offset: at, length: 1 << 20)
            guard !piece.isEmpty else { break }
            hash.update(piece)
            at += UInt64(piece.count)
        }
        guard at == record.length, hash.hex() == record.sha256 else {
            try await blobs.deleteUpload(record.id)
            throw FieldSyncError(
                .mediaMismatch,
                "the \(record.length) bytes received do not hash to \(record.sha256.prefix(12))…; the upload was discarded, send the file again"
            )
        }
        store.faults?.reach(.midFinish)
        _ = try await blobs.commitUpload(record.id)
    }

    /// What a change of the device's county declared for `sha256`, or why it may not be uploaded.
    private func reference(_ sha256: String, for device: DeviceRecord) async throws(FieldSyncError) -> MediaReference {
        guard let reference = try await store.mediaReferences(sha256).first(where: { $0.county == device.county })
        else {
            throw FieldSyncError(
                .mediaNotReferenced,
                "no report of county '\(device.county)' attaches \(sha256.prefix(12))…; sync the change that attaches it first"
            )
        }
        return reference
    }

    /// Refuses an upload over the device's budget of open uploads (number and bytes still due).
    private func checkBudget(of device: DeviceRecord, adding length: UInt64) async throws(FieldSyncError) {
        let open = try await blobs.uploads(device: device.id.rawValue)
        let due = open.reduce(UInt64(0)) { $0 + ($1.length - min($1.offset, $1.length)) }
        guard open.count < configuration.maxUploadsPerDevice, due + length <= configuration.maxMediaInFlightBytes
        else {
            throw FieldSyncError(
                .rateLimited,
                "this device has \(open.count) uploads open (\(due) bytes still due); finish or DELETE them first (at most \(configuration.maxUploadsPerDevice), \(configuration.maxMediaInFlightBytes) bytes)"
            )
        }
    }

    static func isUploadID(_ s: String) -> Bool {
        (1...80).contains(s.utf8.count)
            && s.utf8.allSatisfy {
                $0 == 45 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
            }
    }

    static func noUpload(_ id: String) -> FieldSyncError {
        FieldSyncError(.notFound, "no upload \(id.prefix(80)) of this device")
    }

    static func purged(_ info: BlobInfo) -> FieldSyncError {
        FieldSyncError(.mediaPurged, "media \(info.sha256.prefix(12))… was purged: \(info.purgedReason ?? "")")
    }
}
