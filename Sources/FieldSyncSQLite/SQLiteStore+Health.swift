public import FieldSyncCore
public import FieldSyncStore
import Foundation

/// Device health on SQLite (migrations 9 and 10).
extension SQLiteStore {
    /// Records a device's sync: a success (`error` nil) or the code it failed with, and the
    /// changes it said it still held (`pending`, kept when nil).
    public func recordDeviceSync(
        _ id: DeviceID, atMillis: UInt64, error: String?, client: String?,
        pending: UInt64?
    ) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let at = SQLiteValue.int(Int64(clamping: atMillis))
        let agent: SQLiteValue = client.map { .text($0) } ?? .null
        let backlog: SQLiteValue = pending.map { .int(Int64(clamping: $0)) } ?? .null
        if let error {
            try db.statement(
                """
                INSERT INTO device_health(id, last_error, last_error_ms, client, pending) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_error = excluded.last_error, last_error_ms = excluded.last_error_ms,
                    client = coalesce(excluded.client, client), pending = coalesce(excluded.pending, pending)
                """
            ).bind(.text(id.rawValue), .text(error), at, agent, backlog).run()
        } else {
            try db.statement(
                """
                INSERT INTO device_health(id, last_sync_ms, client, pending) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_sync_ms = excluded.last_sync_ms, last_error = NULL, last_error_ms = NULL,
                    client = coalesce(excluded.client, client), pending = coalesce(excluded.pending, pending)
                """
            ).bind(.text(id.rawValue), at, agent, backlog).run()
        }
    }

    /// The health of every device that has synced, by device id, with its refusals in quarantine.
    public func deviceHealth() throws(FieldSyncError) -> [DeviceID: DeviceHealth] {
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            """
            SELECT id, last_sync_ms, last_error, last_error_ms, client, pending,
                   (SELECT count(*) FROM refusals WHERE refusals.via = device_health.id)
            FROM device_health
            """)
        var result: [DeviceID: DeviceHealth] = [:]
        while try s.step() {
            guard let id = DeviceID(rawValue: s.text(0)) else { continue }
            result[id] = DeviceHealth(
                lastSyncMillis: s.isNull(1) ? nil : UInt64(clamping: s.int64(1)),
                lastError: s.isNull(2) ? nil : s.text(2),
                lastErrorMillis: s.isNull(3) ? nil : UInt64(clamping: s.int64(3)),
                client: s.isNull(4) ? nil : s.text(4),
                pending: s.isNull(5) ? nil : UInt64(clamping: s.int64(5)), refused: Int(clamping: s.int64(6)))
        }
        return result
    }
}
