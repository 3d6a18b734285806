public import FieldSyncCore
public import FieldSyncStore
public import Foundation

/// Service catalogues and Open311 client keys on SQLite (migration 12).
extension SQLiteStore {
    /// Stores a new version of a county's catalogue, numbered one past the newest.
    public func publishCatalogue(
        county: String, body: Data, atMillis: UInt64, by: String
    ) throws(FieldSyncError) -> CatalogueRecord {
        defer { db.resetBusyStatements() }
        return try db.transaction { () throws(FieldSyncError) -> CatalogueRecord in
            let s = try db.statement("SELECT coalesce(max(version), 0) FROM catalogues WHERE county = ?")
            s.bind(.text(county), at: 1)
            let version = Int(try s.step() ? s.int64(0) : 0) + 1
            try db.statement("INSERT INTO catalogues(county, version, at_ms, by, body) VALUES (?, ?, ?, ?, ?)")
                .bind(.text(county), .int(Int64(version)), .int(Int64(clamping: atMillis)), .text(by), .blob(body))
                .run()
            return CatalogueRecord(county: county, version: version, atMillis: atMillis, by: by, body: body)
        }
    }

    /// A county's catalogue: one version, or the newest.
    public func catalogue(county: String, version: Int?) throws(FieldSyncError) -> CatalogueRecord? {
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            """
            SELECT version, at_ms, by, body FROM catalogues WHERE county = ? AND (?2 IS NULL OR version = ?2)
            ORDER BY version DESC LIMIT 1
            """)
        s.bind(.text(county), at: 1)
        s.bind(version.map { .int(Int64($0)) } ?? .null, at: 2)
        guard try s.step() else { return nil }
        return CatalogueRecord(
            county: county, version: Int(s.int64(0)), atMillis: UInt64(clamping: s.int64(1)), by: s.text(2),
            body: s.blob(3))
    }

    /// The counties that have published a catalogue, sorted.
    public func catalogueCounties() throws(FieldSyncError) -> [String] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT DISTINCT county FROM catalogues ORDER BY county")
        var list: [String] = []
        while try s.step() { list.append(s.text(0)) }
        return list
    }

    /// Every version of a county's catalogue, newest first, without bodies.
    public func catalogueVersions(county: String) throws(FieldSyncError) -> [CatalogueRecord] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT version, at_ms, by FROM catalogues WHERE county = ? ORDER BY version DESC")
        s.bind(.text(county), at: 1)
        var list: [CatalogueRecord] = []
        while try s.step() {
            list.append(
                CatalogueRecord(
                    county: county, version: Int(s.int64(0)), atMillis: UInt64(clamping: s.int64(1)), by: s.text(2),
                    body: Data()))
        }
        return list
    }

    /// Stores an Open311 client's key (its hash).
    public func createOpen311Key(_ record: Open311KeyRecord, keyHash: Data) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.statement("INSERT INTO open311_keys(id, name, county, key_hash, created_ms) VALUES (?, ?, ?, ?, ?)")
            .bind(
                .text(record.id), .text(record.name), .text(record.county), .blob(keyHash),
                .int(Int64(clamping: record.createdMillis))
            ).run()
    }

    /// The key with this hash.
    public func open311Key(keyHash: Data) throws(FieldSyncError) -> Open311KeyRecord? {
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            "SELECT id, name, county, created_ms, revoked_ms FROM open311_keys WHERE key_hash = ?")
        s.bind(.blob(keyHash), at: 1)
        return try s.step() ? Self.open311Key(s) : nil
    }

    /// Every Open311 key, by id.
    public func open311Keys() throws(FieldSyncError) -> [Open311KeyRecord] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT id, name, county, created_ms, revoked_ms FROM open311_keys ORDER BY id")
        var list: [Open311KeyRecord] = []
        while try s.step() { list.append(Self.open311Key(s)) }
        return list
    }

    /// Revokes a key (keeping the first time); false if there is no such key.
    public func revokeOpen311Key(_ id: String, nowMillis: UInt64) throws(FieldSyncError) -> Bool {
        defer { db.resetBusyStatements() }
        try db.statement("UPDATE open311_keys SET revoked_ms = coalesce(revoked_ms, ?) WHERE id = ?")
            .bind(.int(Int64(clamping: nowMillis)), .text(id)).run()
        return try db.scalar("SELECT changes()") ?? 0 > 0
    }

    private static func open311Key(_ s: SQLiteStatement) -> Open311KeyRecord {
        Open311KeyRecord(
            id: s.text(0), name: s.text(1), county: s.text(2), createdMillis: UInt64(clamping: s.int64(3)),
            revokedMillis: s.isNull(4) ? nil : UInt64(clamping: s.int64(4)))
    }
}
