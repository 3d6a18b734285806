import FieldSyncCore
import FieldSyncStore
import Foundation
import PostgresNIO

/// Device health on PostgreSQL (migration 5).
extension PostgresStore {
    /// Records a device's sync: a success (`error` nil) or the code it failed with.
    public func recordDeviceSync(_ id: DeviceID, atMillis: UInt64, error: String?, client: String?) async throws(FieldSyncError) {
        let at = Int64(clamping: atMillis)
        try await withConnection { conn in
            if let error {
                try await conn.run("""
                    INSERT INTO device_health(id, last_error, last_error_ms, client) VALUES (\(id.rawValue), \(error), \(at), \(client))
                    ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error, last_error_ms = excluded.last_error_ms,
                        client = coalesce(excluded.client, device_health.client)
                    """, self.logger)
            } else {
                try await conn.run("""
                    INSERT INTO device_health(id, last_sync_ms, client) VALUES (\(id.rawValue), \(at), \(client))
                    ON CONFLICT (id) DO UPDATE SET last_sync_ms = excluded.last_sync_ms, last_error = NULL, last_error_ms = NULL,
                        client = coalesce(excluded.client, device_health.client)
                    """, self.logger)
            }
        }
    }

    /// The health of every device that has synced, by device id.
    public func deviceHealth() async throws(FieldSyncError) -> [DeviceID: DeviceHealth] {
        try await withConnection { conn in
            var result: [DeviceID: DeviceHealth] = [:]
            for row in try await conn.rows("SELECT id, last_sync_ms, last_error, last_error_ms, client FROM device_health", self.logger) {
                let (id, sync, error, errorAt, client) = try row.decode((String, Int64?, String?, Int64?, String?).self)
                guard let device = DeviceID(rawValue: id) else { continue }
                result[device] = DeviceHealth(lastSyncMillis: sync.map { UInt64(clamping: $0) }, lastError: error,
                                              lastErrorMillis: errorAt.map { UInt64(clamping: $0) }, client: client)
            }
            return result
        }
    }
}
