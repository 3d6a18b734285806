public import FieldSyncCore
public import FieldSyncStore
public import Foundation
import NIOCore
import PostgresNIO

/// The directory of devices, enrollments, operators and the server's identity, shared by every
/// daemon on the database. Tokens are stored only as hashes computed by the caller.
extension PostgresStore {
    /// Records a one-time enrollment token (its hash) for a device id in a county.
    public func createEnrollment(
        tokenHash: Data, device: DeviceID, county: String, expiresMillis: UInt64, nowMillis: UInt64
    ) async throws(FieldSyncError) {
        try await transaction { conn in
            let existing = try await conn.rows(
                "SELECT status FROM devices WHERE id = \(device.rawValue) FOR UPDATE", self.logger)
            let current = try existing.first.map { DeviceStatus(stored: try $0.decode(String.self)) }
            try EnrollmentRules.checkIssue(device.rawValue, current: current)
            try await conn.run(
                """
                INSERT INTO devices(id, county, public_key, token_hash, status, created_ms, updated_ms)
                VALUES (\(device.rawValue), \(county), NULL, NULL, 'enrolling', \(Int64(nowMillis)), \(Int64(nowMillis)))
                ON CONFLICT (id) DO UPDATE SET county = excluded.county, public_key = NULL, token_hash = NULL, status = 'enrolling',
                    created_ms = excluded.created_ms, updated_ms = excluded.updated_ms
                """, self.logger)
            // One pending enrollment per device id: a new one replaces the old token.
            try await conn.run(
                "DELETE FROM enrollments WHERE device_id = \(device.rawValue) AND used_ms IS NULL", self.logger)
            try await conn.run(
                """
                INSERT INTO enrollments(token_hash, device_id, county, expires_ms, used_ms)
                VALUES (\(ByteBuffer(data: tokenHash)), \(device.rawValue), \(county), \(Int64(expiresMillis)), NULL)
                """, self.logger)
        }
    }

    /// Uses an enrollment token: registers the device's public key and its bearer token hash.
    /// The token's row is locked, so two daemons cannot both redeem it.
    public func completeEnrollment(
        tokenHash: Data, publicKey: Data, bearerHash: Data, nowMillis: UInt64
    ) async throws(FieldSyncError) -> DeviceRecord {
        try await transaction { conn in
            let rows = try await conn.rows(
                "SELECT device_id, county, expires_ms, used_ms FROM enrollments WHERE token_hash = \(ByteBuffer(data: tokenHash)) FOR UPDATE",
                self.logger)
            guard let row = rows.first else {
                throw FieldSyncError.unknownEnrollmentToken
            }
            let (device, county, expires, used) = try row.decode((String, String, Int64, Int64?).self)
            let statusRow = try await conn.rows(
                "SELECT status FROM devices WHERE id = \(device) FOR UPDATE", self.logger
            )
            .first
            let current = try statusRow.map { DeviceStatus(stored: try $0.decode(String.self)) }
            try EnrollmentRules.checkRedeem(
                device, used: used != nil, expiresMillis: expires, nowMillis: nowMillis, current: current)
            try await conn.run(
                "UPDATE enrollments SET used_ms = \(Int64(nowMillis)) WHERE token_hash = \(ByteBuffer(data: tokenHash))",
                self.logger)
            try await conn.run(
                """
                UPDATE devices SET public_key = \(ByteBuffer(data: publicKey)), token_hash = \(ByteBuffer(data: bearerHash)), status = 'active',
                    updated_ms = \(Int64(nowMillis)) WHERE id = \(device)
                """, self.logger)
            return DeviceRecord(id: DeviceID(rawValue: device)!, county: county, publicKey: publicKey, status: .active)
        }
    }

    /// The device whose bearer token has this hash.
    public func device(tokenHash: Data) async throws(FieldSyncError) -> DeviceRecord? {
        try await devices(
            "SELECT id, county, public_key, status FROM devices WHERE token_hash = \(ByteBuffer(data: tokenHash))"
        ).first
    }

    /// A device by id.
    public func device(_ id: DeviceID) async throws(FieldSyncError) -> DeviceRecord? {
        try await devices("SELECT id, county, public_key, status FROM devices WHERE id = \(id.rawValue)").first
    }

    /// Devices, optionally of one county, by id.
    public func devices(county: String?) async throws(FieldSyncError) -> [DeviceRecord] {
        if let county {
            return try await devices(
                "SELECT id, county, public_key, status FROM devices WHERE county = \(county) ORDER BY id")
        }
        return try await devices("SELECT id, county, public_key, status FROM devices ORDER BY id")
    }

    private func devices(_ query: PostgresQuery) async throws(FieldSyncError) -> [DeviceRecord] {
        try await withConnection { conn in
            try await conn.rows(query, self.logger).compactMap { row in
                let (id, county, key, status) = try row.decode((String, String, Data?, String).self)
                return DeviceID(rawValue: id).map {
                    DeviceRecord(id: $0, county: county, publicKey: key, status: DeviceStatus(stored: status))
                }
            }
        }
    }

    /// Revokes a device: its token stops working at once, on every daemon. Returns whether it existed.
    @discardableResult
    public func revokeDevice(_ id: DeviceID, nowMillis: UInt64) async throws(FieldSyncError) -> Bool {
        try await withConnection { conn in
            try await conn.rows(
                "UPDATE devices SET status = 'revoked', updated_ms = \(Int64(nowMillis)) WHERE id = \(id.rawValue) RETURNING id",
                self.logger
            ).count > 0
        }
    }

    /// Creates an operator or admin with a token hash.
    public func createOperator(
        _ record: OperatorRecord, tokenHash: Data, nowMillis: UInt64
    ) async throws(FieldSyncError) {
        try await withConnection { conn in
            try await conn.run(
                """
                INSERT INTO operators(id, name, role, counties, token_hash, revoked, created_ms, expires_ms)
                VALUES (\(record.id), \(record.name), \(record.role.rawValue), \(record.counties.joined(separator: ",")), \(ByteBuffer(data: tokenHash)), false,
                        \(Int64(nowMillis)), \(record.expiresMillis.map { Int64(clamping: $0) }))
                """, self.logger)
        }
    }

    /// The operator whose token has this hash.
    public func operatorRecord(tokenHash: Data) async throws(FieldSyncError) -> OperatorRecord? {
        try await withConnection { conn in
            try await conn.rows(
                "SELECT id, name, role, counties, revoked, expires_ms FROM operators WHERE token_hash = \(ByteBuffer(data: tokenHash))",
                self.logger
            )
            .first.map(Self.operatorRecord)
        }
    }

    private static func operatorRecord(_ row: PostgresRow) throws -> OperatorRecord {
        let (id, name, role, counties, revoked, expires) = try row.decode(
            (String, String, String, String, Bool, Int64?).self)
        return OperatorRecord(
            id: id, name: name, role: OperatorRole(stored: role),
            counties: counties.split(separator: ",").map(String.init), revoked: revoked,
            expiresMillis: expires.map { UInt64(clamping: $0) })
    }

    /// Every operator and admin, by id.
    public func operators() async throws(FieldSyncError) -> [OperatorRecord] {
        try await withConnection { conn in
            try await conn.rows(
                "SELECT id, name, role, counties, revoked, expires_ms FROM operators ORDER BY id", self.logger
            ).map(Self.operatorRecord)
        }
    }

    /// Revokes an operator's or admin's token; returns the record, or nil if there is no such id.
    public func revokeOperator(_ id: String, nowMillis: UInt64) async throws(FieldSyncError) -> OperatorRecord? {
        try await transaction { conn in
            try await conn.run("DELETE FROM console_sessions WHERE operator = \(id)", self.logger)
            return try await conn.rows(
                """
                UPDATE operators SET revoked = true, revoked_ms = coalesce(revoked_ms, \(Int64(clamping: nowMillis))) WHERE id = \(id)
                RETURNING id, name, role, counties, revoked, expires_ms
                """, self.logger
            ).first.map(Self.operatorRecord)
        }
    }

    /// Stores a console session under its id's hash (and forgets sessions expired at its start).
    public func createConsoleSession(_ session: ConsoleSession, idHash: Data) async throws(FieldSyncError) {
        let (created, expires) = (Int64(clamping: session.createdMillis), Int64(clamping: session.expiresMillis))
        try await transaction { conn in
            try await conn.run("DELETE FROM console_sessions WHERE expires_ms < \(created)", self.logger)
            try await conn.run(
                """
                INSERT INTO console_sessions(id_hash, operator, csrf, created_ms, expires_ms)
                VALUES (\(ByteBuffer(data: idHash)), \(session.operatorID), \(session.csrf), \(created), \(expires))
                """, self.logger)
        }
    }

    /// The session with this id hash and its operator, unless it expired by `nowMillis`.
    public func consoleSession(
        idHash: Data, nowMillis: UInt64
    ) async throws(FieldSyncError) -> (session: ConsoleSession, operator: OperatorRecord)? {
        try await withConnection { conn in
            guard
                let row = try await conn.rows(
                    """
                    SELECT o.id, o.name, o.role, o.counties, o.revoked, o.expires_ms, s.csrf, s.created_ms, s.expires_ms
                    FROM console_sessions s JOIN operators o ON o.id = s.operator
                    WHERE s.id_hash = \(ByteBuffer(data: idHash)) AND s.expires_ms > \(Int64(clamping: nowMillis))
                    """, self.logger
                ).first
            else { return nil }
            let (id, name, role, counties, revoked, opExpires, csrf, created, expires) = try row.decode(
                (String, String, String, String, Bool, Int64?, String, Int64, Int64).self)
            let op = OperatorRecord(
                id: id, name: name, role: OperatorRole(stored: role),
                counties: counties.split(separator: ",").map(String.init), revoked: revoked,
                expiresMillis: opExpires.map { UInt64(clamping: $0) })
            let session = ConsoleSession(
                operatorID: id, csrf: csrf, createdMillis: UInt64(clamping: created),
                expiresMillis: UInt64(clamping: expires))
            return (session, op)
        }
    }

    /// Ends a session (signing out); nothing if there is none.
    public func deleteConsoleSession(idHash: Data) async throws(FieldSyncError) {
        try await withConnection { conn in
            try await conn.run("DELETE FROM console_sessions WHERE id_hash = \(ByteBuffer(data: idHash))", self.logger)
        }
    }

    /// Sets a value of the server's identity unless already set; returns the stored value, the
    /// same for every daemon on the database.
    public func initServerIdentity(_ key: String, _ value: Data) async throws(FieldSyncError) -> Data {
        try await withConnection { conn in
            try await conn.run(
                "INSERT INTO server_identity(key, value) VALUES (\(key), \(ByteBuffer(data: value))) ON CONFLICT (key) DO NOTHING",
                self.logger)
            return try await conn.rows("SELECT value FROM server_identity WHERE key = \(key)", self.logger).first!
                .decode(Data.self)
        }
    }

    /// A value of the server's identity, if set.
    public func serverIdentity(_ key: String) async throws(FieldSyncError) -> Data? {
        try await withConnection { conn in
            try await conn.rows("SELECT value FROM server_identity WHERE key = \(key)", self.logger).first?.decode(
                Data.self)
        }
    }

    /// Sets (or, with nil, removes) a value of the server's identity.
    public func setServerIdentity(_ key: String, _ value: Data?) async throws(FieldSyncError) {
        try await withConnection { conn in
            if let value {
                try await conn.run(
                    """
                    INSERT INTO server_identity(key, value) VALUES (\(key), \(ByteBuffer(data: value)))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """, self.logger)
            } else {
                try await conn.run("DELETE FROM server_identity WHERE key = \(key)", self.logger)
            }
        }
    }

    /// Makes `id` the store's authoring identity (once; every daemon on the database shares it).
    public func setIdentity(_ id: DeviceID) async throws(FieldSyncError) {
        let stored = try await withConnection { conn in
            try await conn.run(
                "INSERT INTO fs_meta(key, value) VALUES ('device_id', \(id.rawValue)) ON CONFLICT (key) DO NOTHING",
                self.logger)
            return try await conn.rows("SELECT value FROM fs_meta WHERE key = 'device_id'", self.logger).first!.decode(
                String.self)
        }
        guard stored == id.rawValue else {
            throw FieldSyncError(
                .invalidIdentifier,
                "this database's server identity is \(stored); start every fieldsyncd on it with that id, not \(id)")
        }
    }

    /// The database's epoch (made on first use; the same for every daemon).
    public func epoch() async throws(FieldSyncError) -> String {
        let fresh = Self.makeEpoch()
        return try await withConnection { conn in
            try await conn.run(
                "INSERT INTO fs_meta(key, value) VALUES ('epoch', \(fresh)) ON CONFLICT (key) DO NOTHING", self.logger)
            return try await conn.rows("SELECT value FROM fs_meta WHERE key = 'epoch'", self.logger).first!.decode(
                String.self)
        }
    }

    /// Gives the database a new epoch (after a restore; restart the daemons afterwards).
    public func renewEpoch() async throws(FieldSyncError) -> String {
        let fresh = Self.makeEpoch()
        try await withConnection { conn in
            try await conn.run(
                "INSERT INTO fs_meta(key, value) VALUES ('epoch', \(fresh)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                self.logger)
        }
        return fresh
    }

    /// The highest pull position published.
    public func lastPosition() async throws(FieldSyncError) -> Int64 {
        try await withConnection { conn in
            try await conn.rows("SELECT last_arrival FROM publish_state WHERE id = 1", self.logger).first!.decode(
                Int64.self)
        }
    }

    /// The store's authoring identity, if set.
    public func identity() async throws(FieldSyncError) -> DeviceID? {
        let v = try await withConnection { conn in
            try await conn.rows("SELECT value FROM fs_meta WHERE key = 'device_id'", self.logger).first.map {
                try $0.decode(String.self)
            }
        }
        return v.flatMap(DeviceID.init(rawValue:))
    }

    /// Removes every FieldSync table of this store's schema, and the schema itself unless it is
    /// `public` (tests and benchmarks only).
    public func dropEverything() async throws(FieldSyncError) {
        let schema = configuration.schema
        try await withConnection { conn in
            if schema != "public" {
                try await conn.run(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), self.logger)
                return
            }
            for t in [
                "changes", "publish_state", "report_locks", "device_logs", "reports", "notes", "media", "conflicts",
                "refusals", "refusal_overflow",
                "devices", "enrollments", "operators", "server_identity", "audit", "device_health", "fs_meta",
                "fieldsync_schema",
            ] {
                try await conn.run(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(t) CASCADE"), self.logger)
            }
            try await conn.run("DROP FUNCTION IF EXISTS audit_append_only() CASCADE", self.logger)
        }
    }
}
