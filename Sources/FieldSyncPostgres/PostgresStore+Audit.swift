public import FieldSyncCore
public import FieldSyncStore
import Foundation
import PostgresNIO

/// The audit log on PostgreSQL (migration 4; a trigger refuses updates and deletes).
extension PostgresStore {
    /// Appends an entry to the audit log; returns it with its position.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws(FieldSyncError) -> AuditEntry {
        let id = try await withConnection { conn in
            try await conn.rows(
                """
                INSERT INTO audit(at_ms, actor, role, address, action, county, subject, detail)
                VALUES (\(Int64(clamping: entry.atMillis)), \(entry.actor), \(entry.role), \(entry.address), \(entry.action.rawValue),
                        \(entry.county), \(entry.subject), \(entry.detail))
                RETURNING id
                """, self.logger
            ).first!.decode(Int64.self)
        }
        var stored = entry
        stored.id = id
        return stored
    }

    /// Audit entries, newest first.
    public func audit(_ filter: AuditFilter) async throws(FieldSyncError) -> [AuditEntry] {
        let counties = filter.counties ?? []
        let allCounties = filter.counties == nil
        let since = filter.sinceMillis.map { Int64(clamping: $0) } ?? 0
        return try await withConnection { conn in
            let rows = try await conn.rows(
                """
                SELECT id, at_ms, actor, role, address, action, county, subject, detail FROM audit
                WHERE (\(allCounties) OR county = ANY(\(counties)::text[]) OR (\(filter.includeGlobal) AND county IS NULL))
                  AND (\(filter.action?.rawValue)::text IS NULL OR action = \(filter.action?.rawValue))
                  AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
                  AND at_ms >= \(since)
                ORDER BY id DESC LIMIT \(Int64(max(0, filter.limit))) OFFSET \(Int64(max(0, filter.offset)))
                """, self.logger)
            return try rows.compactMap { row -> AuditEntry? in
                let (id, at, actor, role, address, action, county, subject, detail) =
                    try row.decode((Int64, Int64, String, String, String, String, String?, String, String).self)
                guard let action = AuditAction(rawValue: action) else { return nil }
                return AuditEntry(
                    id: id, atMillis: UInt64(clamping: at), actor: actor, role: role, address: address, action: action,
                    county: county, subject: subject, detail: detail)
            }
        }
    }
}
