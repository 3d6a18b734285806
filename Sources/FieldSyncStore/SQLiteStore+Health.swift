import FieldSyncCore
import Foundation

/// Device health on SQLite (migration 9).
extension SQLiteStore {
    /// Records a device's sync: a success (`error` nil) or the code it failed with.
    public func recordDeviceSync(_ id: DeviceID, atMillis: UInt64, error: String?, client: String?) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let at = SQLiteValue.int(Int64(clamping: atMillis))
        let agent: SQLiteValue = client.map { .text($0) } ?? .null
        if let error {
            try db.statement("""
                INSERT INTO device_health(id, last_error, last_error_ms, client) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_error = excluded.last_error, last_error_ms = excluded.last_error_ms,
                    client = coalesce(excluded.client, client)
                """).bind(.text(id.rawValue), .text(error), at, agent).run()
        } else {
            try db.statement("""
                INSERT INTO device_health(id, last_sync_ms, client) VALUES (?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_sync_ms = excluded.last_sync_ms, last_error = NULL, last_error_ms = NULL,
                    client = coalesce(excluded.client, client)
                """).bind(.text(id.rawValue), at, agent).run()
        }
    }

    /// The health of every device that has synced, by device id.
    public func deviceHealth() throws(FieldSyncError) -> [DeviceID: DeviceHealth] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT id, last_sync_ms, last_error, last_error_ms, client FROM device_health")
        var result: [DeviceID: DeviceHealth] = [:]
        while try s.step() {
            guard let id = DeviceID(rawValue: s.text(0)) else { continue }
            result[id] = DeviceHealth(lastSyncMillis: s.isNull(1) ? nil : UInt64(clamping: s.int64(1)), lastError: s.isNull(2) ? nil : s.text(2),
                                      lastErrorMillis: s.isNull(3) ? nil : UInt64(clamping: s.int64(3)), client: s.isNull(4) ? nil : s.text(4))
        }
        return result
    }
}
