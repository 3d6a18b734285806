public import FieldSyncCore
public import FieldSyncStore
import Foundation
import PostgresNIO

/// Device health on PostgreSQL (migrations 5 and 6).
extension PostgresStore {
    /// Records a device's sync: a success (`error` nil) or the code it failed with, and the
    /// changes it said it still held (`pending`, kept when nil).
    public func recordDeviceSync(
        _ id: DeviceID, atMillis: UInt64, error: String?, client: String?,
        pending: UInt64?
    ) async throws(FieldSyncError) {
        let at = Int64(clamping: atMillis)
        let backlog = pending.map { Int64(clamping: $0) }
        try await withConnection { conn in
            if let error {
                try await conn.run(
                    """
                    INSERT INTO device_health(id, last_error, last_error_ms, client, pending)
                    VALUES (\(id.rawValue), \(error), \(at), \(client), \(backlog))
                    ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error, last_error_ms = excluded.last_error_ms,
                        client = coalesce(excluded.client, device_health.client),
                        pending = coalesce(excluded.pending, device_health.pending)
                    """, self.logger)
            } else {
                try await conn.run(
                    """
                    INSERT INTO device_health(id, last_sync_ms, client, pending) VALUES (\(id.rawValue), \(at), \(client), \(backlog))
                    ON CONFLICT (id) DO UPDATE SET last_sync_ms = excluded.last_sync_ms, last_error = NULL, last_error_ms = NULL,
                        client = coalesce(excluded.client, device_health.client),
                        pending = coalesce(excluded.pending, device_health.pending)
                    """, self.logger)
            }
        }
    }

    /// The health of every device that has synced, by device id, with its refusals in quarantine.
    public func deviceHealth() async throws(FieldSyncError) -> [DeviceID: DeviceHealth] {
        try await withConnection { conn in
            var result: [DeviceID: DeviceHealth] = [:]
            let rows = try await conn.rows(
                """
                SELECT id, last_sync_ms, last_error, last_error_ms, client, pending,
                       (SELECT count(*) FROM refusals WHERE refusals.via = device_health.id)
                FROM device_health
                """, self.logger)
            for row in rows {
                let (id, sync, error, errorAt, client, pending, refused) =
                    try row.decode((String, Int64?, String?, Int64?, String?, Int64?, Int64).self)
                guard let device = DeviceID(rawValue: id) else { continue }
                result[device] = DeviceHealth(
                    lastSyncMillis: sync.map { UInt64(clamping: $0) }, lastError: error,
                    lastErrorMillis: errorAt.map { UInt64(clamping: $0) }, client: client,
                    pending: pending.map { UInt64(clamping: $0) }, refused: Int(clamping: refused))
            }
            return result
        }
    }
}
