public import FieldSyncCore
public import FieldSyncStore
public import Foundation

/// The server's directory of devices, enrollments, operators and its own identity, kept in the
/// same file as the logs. Tokens are stored only as hashes computed by the caller.
extension SQLiteStore {
    /// Records a one-time enrollment token (its hash) for a device id in a county.
    public func createEnrollment(
        tokenHash: Data, device: DeviceID, county: String, expiresMillis: UInt64, nowMillis: UInt64
    ) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.transaction { () throws(FieldSyncError) in
            let existing = try db.statement("SELECT status FROM devices WHERE id = ?").bind(.text(device.rawValue))
            let current = try existing.step() ? DeviceStatus(stored: existing.text(0)) : nil
            existing.reset()
            try EnrollmentRules.checkIssue(device.rawValue, current: current)
            try db.statement(
                "INSERT OR REPLACE INTO devices(id, county, public_key, token_hash, status, created_ms, updated_ms) VALUES (?, ?, NULL, NULL, 'enrolling', ?, ?)"
            )
            .bind(.text(device.rawValue), .text(county), .int(Int64(nowMillis)), .int(Int64(nowMillis))).run()
            // One pending enrollment per device id: a new one replaces the old token.
            try db.statement("DELETE FROM enrollments WHERE device_id = ? AND used_ms IS NULL").bind(
                .text(device.rawValue)
            ).run()
            try db.statement(
                "INSERT INTO enrollments(token_hash, device_id, county, expires_ms, used_ms) VALUES (?, ?, ?, ?, NULL)"
            )
            .bind(.blob(tokenHash), .text(device.rawValue), .text(county), .int(Int64(expiresMillis))).run()
        }
    }

    /// Uses an enrollment token: registers the device's public key and its bearer token hash.
    public func completeEnrollment(
        tokenHash: Data, publicKey: Data, bearerHash: Data, nowMillis: UInt64
    ) throws(FieldSyncError) -> DeviceRecord {
        defer { db.resetBusyStatements() }
        return try db.transaction { () throws(FieldSyncError) -> DeviceRecord in
            let s = try db.statement(
                "SELECT device_id, county, expires_ms, used_ms FROM enrollments WHERE token_hash = ?"
            ).bind(.blob(tokenHash))
            guard try s.step() else {
                throw FieldSyncError.unknownEnrollmentToken
            }
            let device = s.text(0), county = s.text(1), expires = s.int64(2), used = !s.isNull(3)
            s.reset()
            let status = try db.statement("SELECT status FROM devices WHERE id = ?").bind(.text(device))
            let current = try status.step() ? DeviceStatus(stored: status.text(0)) : nil
            status.reset()
            try EnrollmentRules.checkRedeem(
                device, used: used, expiresMillis: expires, nowMillis: nowMillis, current: current)
            try db.statement("UPDATE enrollments SET used_ms = ? WHERE token_hash = ?").bind(
                .int(Int64(nowMillis)), .blob(tokenHash)
            ).run()
            try db.statement(
                "UPDATE devices SET public_key = ?, token_hash = ?, status = 'active', updated_ms = ? WHERE id = ?"
            )
            .bind(.blob(publicKey), .blob(bearerHash), .int(Int64(nowMillis)), .text(device)).run()
            return DeviceRecord(id: DeviceID(rawValue: device)!, county: county, publicKey: publicKey, status: .active)
        }
    }

    /// The device whose bearer token has this hash.
    public func device(tokenHash: Data) throws(FieldSyncError) -> DeviceRecord? {
        defer { db.resetBusyStatements() }
        return try deviceRow(
            try db.statement("SELECT id, county, public_key, status FROM devices WHERE token_hash = ?").bind(
                .blob(tokenHash)))
    }

    /// A device by id.
    public func device(_ id: DeviceID) throws(FieldSyncError) -> DeviceRecord? {
        defer { db.resetBusyStatements() }
        return try deviceRow(
            try db.statement("SELECT id, county, public_key, status FROM devices WHERE id = ?").bind(.text(id.rawValue))
        )
    }

    /// Devices, optionally of one county, by id.
    public func devices(county: String?) throws(FieldSyncError) -> [DeviceRecord] {
        defer { db.resetBusyStatements() }
        let s =
            county == nil
            ? try db.statement("SELECT id, county, public_key, status FROM devices ORDER BY id")
            : try db.statement("SELECT id, county, public_key, status FROM devices WHERE county = ? ORDER BY id").bind(
                .text(county!))
        var result: [DeviceRecord] = []
        while let d = try deviceRow(s) { result.append(d) }
        return result
    }

    private func deviceRow(_ s: SQLiteStatement) throws(FieldSyncError) -> DeviceRecord? {
        guard try s.step(), let id = DeviceID(rawValue: s.text(0)) else { return nil }
        return DeviceRecord(
            id: id, county: s.text(1), publicKey: s.isNull(2) ? nil : s.blob(2), status: DeviceStatus(stored: s.text(3))
        )
    }

    /// Revokes a device: its token stops working at once. Returns whether it existed.
    @discardableResult
    public func revokeDevice(_ id: DeviceID, nowMillis: UInt64) throws(FieldSyncError) -> Bool {
        defer { db.resetBusyStatements() }
        try db.statement("UPDATE devices SET status = 'revoked', updated_ms = ? WHERE id = ?").bind(
            .int(Int64(nowMillis)), .text(id.rawValue)
        ).run()
        return db.changes > 0
    }

    /// Creates an operator or admin with a token hash.
    public func createOperator(_ record: OperatorRecord, tokenHash: Data, nowMillis: UInt64) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let expires: SQLiteValue = record.expiresMillis.map { .int(Int64(clamping: $0)) } ?? .null
        try db.statement(
            "INSERT INTO operators(id, name, role, counties, token_hash, revoked, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"
        )
        .bind(
            .text(record.id), .text(record.name), .text(record.role.rawValue),
            .text(record.counties.joined(separator: ",")),
            .blob(tokenHash), .int(Int64(nowMillis)), expires
        ).run()
    }

    static let operatorColumns = "id, name, role, counties, revoked, expires_ms"

    private func operatorRecord(_ s: SQLiteStatement) -> OperatorRecord {
        OperatorRecord(
            id: s.text(0), name: s.text(1), role: OperatorRole(stored: s.text(2)),
            counties: s.text(3).split(separator: ",").map(String.init),
            revoked: s.int64(4) != 0, expiresMillis: s.isNull(5) ? nil : UInt64(clamping: s.int64(5)))
    }

    /// Every operator and admin, by id.
    public func operators() throws(FieldSyncError) -> [OperatorRecord] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT \(Self.operatorColumns) FROM operators ORDER BY id")
        var list: [OperatorRecord] = []
        while try s.step() { list.append(operatorRecord(s)) }
        return list
    }

    /// Revokes an operator's or admin's token; returns the record, or nil if there is no such id.
    public func revokeOperator(_ id: String, nowMillis: UInt64) throws(FieldSyncError) -> OperatorRecord? {
        defer { db.resetBusyStatements() }
        try db.statement("UPDATE operators SET revoked = 1, revoked_ms = coalesce(revoked_ms, ?) WHERE id = ?")
            .bind(.int(Int64(clamping: nowMillis)), .text(id)).run()
        try db.statement("DELETE FROM console_sessions WHERE operator = ?").bind(.text(id)).run()
        let s = try db.statement("SELECT \(Self.operatorColumns) FROM operators WHERE id = ?").bind(.text(id))
        return try s.step() ? operatorRecord(s) : nil
    }

    /// The operator whose token has this hash.
    public func operatorRecord(tokenHash: Data) throws(FieldSyncError) -> OperatorRecord? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT \(Self.operatorColumns) FROM operators WHERE token_hash = ?").bind(
            .blob(tokenHash))
        guard try s.step() else { return nil }
        return operatorRecord(s)
    }

    /// Stores a console session under its id's hash (and forgets sessions expired at its start).
    public func createConsoleSession(_ session: ConsoleSession, idHash: Data) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.statement("DELETE FROM console_sessions WHERE expires_ms < ?").bind(
            .int(Int64(clamping: session.createdMillis))
        ).run()
        try db.statement(
            "INSERT INTO console_sessions(id_hash, operator, csrf, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)"
        ).bind(
            .blob(idHash), .text(session.operatorID), .text(session.csrf),
            .int(Int64(clamping: session.createdMillis)), .int(Int64(clamping: session.expiresMillis))
        ).run()
    }

    /// The session with this id hash and its operator, unless it expired by `nowMillis`.
    public func consoleSession(
        idHash: Data, nowMillis: UInt64
    ) throws(FieldSyncError) -> (session: ConsoleSession, operator: OperatorRecord)? {
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            """
            SELECT o.id, o.name, o.role, o.counties, o.revoked, o.expires_ms, s.csrf, s.created_ms, s.expires_ms
            FROM console_sessions s JOIN operators o ON o.id = s.operator
            WHERE s.id_hash = ? AND s.expires_ms > ?
            """
        ).bind(.blob(idHash), .int(Int64(clamping: nowMillis)))
        guard try s.step() else { return nil }
        let op = operatorRecord(s)
        let session = ConsoleSession(
            operatorID: op.id, csrf: s.text(6), createdMillis: UInt64(clamping: s.int64(7)),
            expiresMillis: UInt64(clamping: s.int64(8)))
        return (session, op)
    }

    /// Ends a session (signing out); nothing if there is none.
    public func deleteConsoleSession(idHash: Data) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.statement("DELETE FROM console_sessions WHERE id_hash = ?").bind(.blob(idHash)).run()
    }

    /// The number of admins (to know whether bootstrap is needed).
    public func adminCount() throws(FieldSyncError) -> Int {
        defer { db.resetBusyStatements() }
        return Int(try db.scalar("SELECT count(*) FROM operators WHERE role = 'admin' AND revoked = 0") ?? 0)
    }

    /// A value of the server's identity (e.g. its private key), if set.
    public func serverIdentity(_ key: String) throws(FieldSyncError) -> Data? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT value FROM server_identity WHERE key = ?").bind(.text(key))
        return try s.step() ? s.blob(0) : nil
    }

    /// Sets (or, with nil, removes) a value of the server's identity.
    public func setServerIdentity(_ key: String, _ value: Data?) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        if let value {
            try db.statement("INSERT OR REPLACE INTO server_identity(key, value) VALUES (?, ?)").bind(
                .text(key), .blob(value)
            ).run()
        } else {
            try db.statement("DELETE FROM server_identity WHERE key = ?").bind(.text(key)).run()
        }
    }

    /// Sets a value of the server's identity, unless already set; returns the stored value.
    public func initServerIdentity(_ key: String, _ value: Data) throws(FieldSyncError) -> Data {
        defer { db.resetBusyStatements() }
        try db.statement("INSERT OR IGNORE INTO server_identity(key, value) VALUES (?, ?)").bind(
            .text(key), .blob(value)
        ).run()
        return try serverIdentity(key) ?? value
    }
}

/// Small named settings of a store (sync cursors, known server positions), kept in `meta`.
extension SQLiteStore {
    /// A setting's value.
    public func setting(_ key: String) throws(FieldSyncError) -> String? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT value FROM meta WHERE key = ?").bind(.text("setting:" + key))
        return try s.step() ? s.text(0) : nil
    }

    /// Sets several settings in one transaction (all or none).
    public func setSettings(_ values: [String: String]) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.transaction { () throws(FieldSyncError) in
            for (k, v) in values {
                try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)").bind(
                    .text("setting:" + k), .text(v)
                ).run()
            }
        }
    }
}
