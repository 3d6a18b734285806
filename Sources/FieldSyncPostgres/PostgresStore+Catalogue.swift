public import FieldSyncCore
public import FieldSyncStore
public import Foundation
import PostgresNIO

/// Service catalogues and Open311 client keys on PostgreSQL (migration 9). Publishing takes the
/// county's row lock order by inserting under a transaction-scoped advisory lock, so two daemons
/// publishing at once get consecutive versions.
extension PostgresStore {
    /// Stores a new version of a county's catalogue, numbered one past the newest.
    public func publishCatalogue(
        county: String, body: Data, atMillis: UInt64, by: String
    ) async throws(FieldSyncError) -> CatalogueRecord {
        let version = try await transaction { conn in
            try await conn.run("SELECT pg_advisory_xact_lock(hashtext('catalogue:' || \(county)))", self.logger)
            return try await conn.rows(
                """
                INSERT INTO catalogues(county, version, at_ms, by_whom, body)
                SELECT \(county), coalesce(max(version), 0) + 1, \(Int64(clamping: atMillis)), \(by), \(body)
                FROM catalogues WHERE county = \(county)
                RETURNING version
                """, self.logger
            ).first!.decode(Int32.self)
        }
        return CatalogueRecord(county: county, version: Int(version), atMillis: atMillis, by: by, body: body)
    }

    /// A county's catalogue: one version, or the newest.
    public func catalogue(county: String, version: Int?) async throws(FieldSyncError) -> CatalogueRecord? {
        let wanted = version.map { Int32(clamping: $0) }
        return try await withConnection { conn in
            for row in try await conn.rows(
                """
                SELECT version, at_ms, by_whom, body FROM catalogues
                WHERE county = \(county) AND (\(wanted)::int4 IS NULL OR version = \(wanted))
                ORDER BY version DESC LIMIT 1
                """, self.logger)
            {
                let (v, at, by, body) = try row.decode((Int32, Int64, String, Data).self)
                return CatalogueRecord(
                    county: county, version: Int(v), atMillis: UInt64(clamping: at), by: by, body: body)
            }
            return nil
        }
    }

    /// The counties that have published a catalogue, sorted.
    public func catalogueCounties() async throws(FieldSyncError) -> [String] {
        try await withConnection { conn in
            try await conn.rows("SELECT DISTINCT county FROM catalogues ORDER BY county", self.logger).map {
                try $0.decode(String.self)
            }
        }
    }

    /// Every version of a county's catalogue, newest first, without bodies.
    public func catalogueVersions(county: String) async throws(FieldSyncError) -> [CatalogueRecord] {
        try await withConnection { conn in
            try await conn.rows(
                "SELECT version, at_ms, by_whom FROM catalogues WHERE county = \(county) ORDER BY version DESC",
                self.logger
            ).map { row in
                let (v, at, by) = try row.decode((Int32, Int64, String).self)
                return CatalogueRecord(
                    county: county, version: Int(v), atMillis: UInt64(clamping: at), by: by, body: Data())
            }
        }
    }

    /// Stores an Open311 client's key (its hash).
    public func createOpen311Key(_ record: Open311KeyRecord, keyHash: Data) async throws(FieldSyncError) {
        try await withConnection { conn in
            try await conn.run(
                """
                INSERT INTO open311_keys(id, name, county, key_hash, created_ms)
                VALUES (\(record.id), \(record.name), \(record.county), \(keyHash), \(Int64(clamping: record.createdMillis)))
                """, self.logger)
        }
    }

    /// The key with this hash.
    public func open311Key(keyHash: Data) async throws(FieldSyncError) -> Open311KeyRecord? {
        try await open311Keys(where: "key_hash = $1", keyHash).first
    }

    /// Every Open311 key, by id.
    public func open311Keys() async throws(FieldSyncError) -> [Open311KeyRecord] {
        try await open311Keys(where: "true", nil)
    }

    /// Revokes a key (keeping the first time); false if there is no such key.
    public func revokeOpen311Key(_ id: String, nowMillis: UInt64) async throws(FieldSyncError) -> Bool {
        try await withConnection { conn in
            !(try await conn.rows(
                """
                UPDATE open311_keys SET revoked_ms = coalesce(revoked_ms, \(Int64(clamping: nowMillis)))
                WHERE id = \(id) RETURNING id
                """, self.logger
            ).isEmpty)
        }
    }

    private func open311Keys(where condition: String, _ hash: Data?) async throws(FieldSyncError) -> [Open311KeyRecord]
    {
        try await withConnection { conn in
            var query = PostgresQuery(
                unsafeSQL:
                    "SELECT id, name, county, created_ms, revoked_ms FROM open311_keys WHERE \(condition) ORDER BY id")
            if let hash { try query.binds.append(hash) }
            return try await conn.rows(query, self.logger).map { row in
                let (id, name, county, created, revoked) = try row.decode((String, String, String, Int64, Int64?).self)
                return Open311KeyRecord(
                    id: id, name: name, county: county, createdMillis: UInt64(clamping: created),
                    revokedMillis: revoked.map { UInt64(clamping: $0) })
            }
        }
    }
}
