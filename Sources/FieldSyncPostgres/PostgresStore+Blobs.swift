public import FieldSyncCore
public import FieldSyncStore
public import Foundation
import NIOCore
import PostgresNIO

/// Media blobs on PostgreSQL (migration 7): every daemon on the database sees every blob and
/// every partial upload, so a device may resume through another daemon. Pieces are stored as
/// they arrive; a commit copies them into the blob's pieces in one transaction.
extension PostgresStore: BlobStore {
    public func blob(_ sha256: String) async throws(FieldSyncError) -> BlobInfo? {
        try await withConnection { conn in
            for row in try await conn.rows(
                "SELECT size, purged_reason, purged_ms FROM blobs WHERE sha256 = \(sha256)", self.logger)
            {
                let (size, reason, at) = try row.decode((Int64, String?, Int64?).self)
                return BlobInfo(
                    sha256: sha256, size: UInt64(clamping: size), purgedReason: reason,
                    purgedMillis: at.map { UInt64(clamping: $0) })
            }
            return nil
        }
    }

    public func read(_ sha256: String, offset: UInt64, length: Int) async throws(FieldSyncError) -> Data {
        try await readPieces(table: "blob_pieces", key: "sha256", value: sha256, offset: offset, length: length)
    }

    public func createUpload(_ upload: UploadRecord) async throws(FieldSyncError) {
        try await withConnection { conn in
            try await conn.run(
                """
                INSERT INTO uploads(id, sha256, length, device, county, content_type, created_ms, expires_ms)
                VALUES (\(upload.id), \(upload.sha256), \(Int64(clamping: upload.length)), \(upload.device),
                        \(upload.county), \(upload.contentType), \(Int64(clamping: upload.createdMillis)),
                        \(Int64(clamping: upload.expiresMillis)))
                """, self.logger)
        }
    }

    public func upload(_ id: String) async throws(FieldSyncError) -> UploadRecord? {
        try await uploadRecords("WHERE u.id = $1", id).first
    }

    public func uploads(device: String) async throws(FieldSyncError) -> [UploadRecord] {
        try await uploadRecords("WHERE u.device = $1", device)
    }

    public func append(_ id: String, at offset: UInt64, _ bytes: Data) async throws(FieldSyncError) -> UInt64 {
        try await transaction { conn in
            var current: (Int64, Int64)?
            for row in try await conn.rows(
                """
                SELECT u.length, coalesce((SELECT sum(length(data)) FROM upload_pieces p WHERE p.id = u.id), 0)::int8
                FROM uploads u WHERE u.id = \(id) FOR UPDATE
                """, self.logger)
            {
                current = try row.decode((Int64, Int64).self)
            }
            guard let (length, held) = current else { throw FieldSyncError(.notFound, "no upload \(id)") }
            guard UInt64(held) == offset else {
                throw FieldSyncError(
                    .uploadConflict, "upload \(id) is at offset \(held), not \(offset); resume from there")
            }
            guard offset + UInt64(bytes.count) <= UInt64(length) else {
                throw FieldSyncError(
                    .invalidRequest, "upload \(id) is \(length) bytes long; this piece goes past its end")
            }
            if !bytes.isEmpty {
                try await conn.run(
                    "INSERT INTO upload_pieces(id, start, data) VALUES (\(id), \(Int64(offset)), \(ByteBuffer(data: bytes)))",
                    self.logger)
            }
            return offset + UInt64(bytes.count)
        }
    }

    public func readUpload(_ id: String, offset: UInt64, length: Int) async throws(FieldSyncError) -> Data {
        try await readPieces(table: "upload_pieces", key: "id", value: id, offset: offset, length: length)
    }

    public func commitUpload(_ id: String) async throws(FieldSyncError) -> BlobInfo {
        guard let record = try await upload(id), record.offset == record.length else {
            throw FieldSyncError(.uploadConflict, "upload \(id) is not complete")
        }
        try await transaction { conn in
            let inserted = try await conn.rows(
                """
                INSERT INTO blobs(sha256, size) VALUES (\(record.sha256), \(Int64(clamping: record.length)))
                ON CONFLICT (sha256) DO NOTHING RETURNING sha256
                """, self.logger)
            if !inserted.isEmpty {
                try await conn.run(
                    """
                    INSERT INTO blob_pieces(sha256, start, data)
                    SELECT \(record.sha256), start, data FROM upload_pieces WHERE id = \(id)
                    """, self.logger)
            }
            try await conn.run("DELETE FROM uploads WHERE id = \(id)", self.logger)
        }
        return BlobInfo(sha256: record.sha256, size: record.length)
    }

    public func deleteUpload(_ id: String) async throws(FieldSyncError) {
        try await withConnection { conn in
            try await conn.run("DELETE FROM uploads WHERE id = \(id)", self.logger)
        }
    }

    public func collectExpired(nowMillis: UInt64) async throws(FieldSyncError) -> Int {
        try await withConnection { conn in
            try await conn.rows(
                "DELETE FROM uploads WHERE expires_ms <= \(Int64(clamping: nowMillis)) RETURNING id", self.logger
            ).count
        }
    }

    public func purge(
        _ sha256: String, size: UInt64, reason: String, nowMillis: UInt64
    ) async throws(FieldSyncError) {
        try await transaction { conn in
            try await conn.run(
                """
                INSERT INTO blobs(sha256, size, purged_reason, purged_ms)
                VALUES (\(sha256), \(Int64(clamping: size)), \(reason), \(Int64(clamping: nowMillis)))
                ON CONFLICT (sha256) DO UPDATE
                SET purged_reason = excluded.purged_reason, purged_ms = coalesce(blobs.purged_ms, excluded.purged_ms)
                """, self.logger)
            try await conn.run("DELETE FROM blob_pieces WHERE sha256 = \(sha256)", self.logger)
            try await conn.run("DELETE FROM uploads WHERE sha256 = \(sha256)", self.logger)
        }
    }

    public func purges(after mark: PurgeMark?, limit: Int) async throws(FieldSyncError) -> [PurgeMark] {
        let at = Int64(clamping: mark?.atMillis ?? 0)
        let sha = mark?.sha256 ?? ""
        return try await withConnection { conn in
            var marks: [PurgeMark] = []
            for row in try await conn.rows(
                """
                SELECT sha256, purged_ms FROM blobs WHERE purged_ms IS NOT NULL
                    AND (purged_ms, sha256 COLLATE "C") > (\(at), \(sha))
                ORDER BY purged_ms, sha256 COLLATE "C" LIMIT \(max(0, limit))
                """, self.logger)
            {
                let (sha256, ms) = try row.decode((String, Int64).self)
                marks.append(PurgeMark(sha256: sha256, atMillis: UInt64(clamping: ms)))
            }
            return marks
        }
    }

    // MARK: Pieces

    private func uploadRecords(_ condition: String, _ value: String) async throws(FieldSyncError) -> [UploadRecord] {
        try await withConnection { conn in
            var query = PostgresQuery(
                unsafeSQL: """
                    SELECT u.id, u.sha256, u.length, u.device, u.county, u.content_type, u.created_ms, u.expires_ms,
                        coalesce((SELECT sum(length(data)) FROM upload_pieces p WHERE p.id = u.id), 0)::int8
                    FROM uploads u \(condition) ORDER BY u.created_ms, u.id
                    """)
            try query.binds.append(value, context: .default)
            var result: [UploadRecord] = []
            for row in try await conn.rows(query, self.logger) {
                let (id, sha, length, device, county, type, created, expires, held) =
                    try row.decode((String, String, Int64, String, String, String, Int64, Int64, Int64).self)
                result.append(
                    UploadRecord(
                        id: id, sha256: sha, length: UInt64(clamping: length), offset: UInt64(clamping: held),
                        device: device, county: county, contentType: type, createdMillis: UInt64(clamping: created),
                        expiresMillis: UInt64(clamping: expires)))
            }
            return result
        }
    }

    /// The bytes `[offset, offset + length)` of a piece table's rows for one key.
    private func readPieces(
        table: String, key: String, value: String, offset: UInt64, length: Int
    ) async throws(FieldSyncError) -> Data {
        guard length > 0 else { return Data() }
        let start = Int64(clamping: offset)
        let end = start &+ Int64(length)
        return try await withConnection { conn in
            var query = PostgresQuery(
                unsafeSQL: """
                    SELECT start, data FROM \(table) WHERE \(key) = $1 AND start < $2 AND start + length(data) > $3
                    ORDER BY start
                    """)
            try query.binds.append(value, context: .default)
            try query.binds.append(end, context: .default)
            try query.binds.append(start, context: .default)
            var out = Data()
            for row in try await conn.rows(query, self.logger) {
                let (pieceStart, buffer) = try row.decode((Int64, ByteBuffer).self)
                let bytes = Data(buffer.readableBytesView)
                let from = Int(max(0, start - pieceStart))
                let to = Int(min(Int64(bytes.count), end - pieceStart))
                if from < to { out.append(bytes[bytes.startIndex + from..<bytes.startIndex + to]) }
            }
            return out
        }
    }
}
