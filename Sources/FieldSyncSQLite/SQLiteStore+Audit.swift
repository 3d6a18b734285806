public import FieldSyncCore
public import FieldSyncStore
import Foundation

/// The audit log on SQLite (migration 8; triggers refuse updates and deletes).
extension SQLiteStore {
    /// Appends an entry to the audit log; returns it with its position.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws(FieldSyncError) -> AuditEntry {
        defer { db.resetBusyStatements() }
        try db.statement(
            """
            INSERT INTO audit(at_ms, actor, role, address, action, county, subject, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .int(Int64(clamping: entry.atMillis)), .text(entry.actor), .text(entry.role), .text(entry.address),
            .text(entry.action.rawValue), entry.county.map { .text($0) } ?? .null, .text(entry.subject),
            .text(entry.detail)
        ).run()
        var stored = entry
        stored.id = try db.scalar("SELECT last_insert_rowid()") ?? 0
        return stored
    }

    /// Audit entries, newest first.
    public func audit(_ filter: AuditFilter) throws(FieldSyncError) -> [AuditEntry] {
        defer { db.resetBusyStatements() }
        var sql = "SELECT id, at_ms, actor, role, address, action, county, subject, detail FROM audit WHERE 1 = 1"
        var args: [SQLiteValue] = []
        if let counties = filter.counties {
            let marks = counties.map { _ in "?" }.joined(separator: ", ")
            sql +=
                " AND (county IN (\(counties.isEmpty ? "NULL" : marks))\(filter.includeGlobal ? " OR county IS NULL" : ""))"
            args += counties.map { .text($0) }
        }
        if let action = filter.action { sql += " AND action = ?"; args.append(.text(action.rawValue)) }
        if let actor = filter.actor { sql += " AND actor = ?"; args.append(.text(actor)) }
        if let since = filter.sinceMillis { sql += " AND at_ms >= ?"; args.append(.int(Int64(clamping: since))) }
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        args += [.int(Int64(max(0, filter.limit))), .int(Int64(max(0, filter.offset)))]
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var entries: [AuditEntry] = []
        while try s.step() {
            guard let action = AuditAction(rawValue: s.text(5)) else { continue }
            entries.append(
                AuditEntry(
                    id: s.int64(0), atMillis: UInt64(clamping: s.int64(1)), actor: s.text(2), role: s.text(3),
                    address: s.text(4), action: action, county: s.isNull(6) ? nil : s.text(6),
                    subject: s.text(7), detail: s.text(8)))
        }
        return entries
    }
}
