public import FieldSyncCore
public import FieldSyncStore
import Foundation

/// The server-store seam on SQLite: epochs, positions and the rest of `ServerStore`.
extension SQLiteStore: ServerStore {
    /// Crashes injected on purpose (from the options).
    public nonisolated var faults: FaultInjector? { options.faults }

    /// The database's epoch (made on first use).
    public func epoch() throws(FieldSyncError) -> String {
        defer { db.resetBusyStatements() }
        try db.statement("INSERT OR IGNORE INTO meta(key, value) VALUES ('epoch', ?)").bind(.text(Self.makeEpoch()))
            .run()
        let s = try db.statement("SELECT value FROM meta WHERE key = 'epoch'")
        guard try s.step() else {
            throw FieldSyncError(.storage, "the store's epoch could not be read; run integrity_check")
        }
        return s.text(0)
    }

    /// Gives the database a new epoch.
    public func renewEpoch() throws(FieldSyncError) -> String {
        let epoch = Self.makeEpoch()
        try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES ('epoch', ?)").bind(.text(epoch)).run()
        return epoch
    }

    /// The highest pull position issued.
    public func lastPosition() throws(FieldSyncError) -> Int64 {
        try db.scalar("SELECT coalesce(max(arrival), 0) FROM changes") ?? 0
    }

    /// The highest sequence number held of each of these logs (0 for one not held).
    public func highestSeqs(of devices: [DeviceID]) throws(FieldSyncError) -> [DeviceID: UInt64] {
        var result: [DeviceID: UInt64] = [:]
        for d in devices { result[d] = try highestSeq(of: d) }
        return result
    }
}

extension SQLiteStore {
    /// The reports that attach the blob `sha256`, with their counties and what each declared.
    public func mediaReferences(_ sha256: String) throws(FieldSyncError) -> [MediaReference] {
        try flush()
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            """
            SELECT m.report, r.county, m.content_type, m.size FROM media m JOIN reports r ON r.id = m.report
            WHERE m.sha256 = ? ORDER BY m.report
            """
        ).bind(.text(sha256))
        var result: [MediaReference] = []
        while try s.step() {
            guard let report = ReportID(rawValue: s.text(0)) else { continue }
            result.append(
                MediaReference(
                    sha256: sha256, report: report, county: s.text(1), contentType: s.text(2),
                    size: UInt64(clamping: s.int64(3))))
        }
        return result
    }

    /// Every attachment of the counties given (all when nil), by hash then report, a page of them.
    public func attachments(counties: [String]?, offset: Int, limit: Int) throws(FieldSyncError) -> [MediaReference] {
        try flush()
        defer { db.resetBusyStatements() }
        var sql =
            "SELECT m.sha256, m.report, r.county, m.content_type, m.size, m.device FROM media m JOIN reports r ON r.id = m.report"
        var args: [SQLiteValue] = []
        if let counties {
            sql += " WHERE r.county IN (\(counties.map { _ in "?" }.joined(separator: ", ")))"
            args += counties.map { .text($0) }
        }
        sql += " ORDER BY m.sha256, m.report LIMIT ? OFFSET ?"
        args += [.int(Int64(max(0, limit))), .int(Int64(max(0, offset)))]
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var result: [MediaReference] = []
        while try s.step() {
            guard let report = ReportID(rawValue: s.text(1)) else { continue }
            result.append(
                MediaReference(
                    sha256: s.text(0), report: report, county: s.text(2), contentType: s.text(3),
                    size: UInt64(clamping: s.int64(4)), device: DeviceID(rawValue: s.text(5))))
        }
        return result
    }
}
