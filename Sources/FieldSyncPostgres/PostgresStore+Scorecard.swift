public import FieldSyncCore
import FieldSyncStore
import Foundation
import Logging
import PostgresNIO

/// What the scorecard reads: one compact entry per report, from the `reports_by_created` index
/// alone, and the entries of reports that changes since a position touched (for the server's
/// cache of months).
extension PostgresStore {
    static let scorecardColumns = """
        id, service_code, ward, created_ms, updated_ms, coalesce(ack_ms, -1), coalesce(closed_ms, -1),
        coalesce(reopened_ms, -1), lifecycle = 'withdrawn', status
        """

    /// The scorecard entries of the county's reports received in `from...to`.
    public func scorecardEntries(
        county: String, from: UInt64, to: UInt64
    ) async throws(FieldSyncError) -> [Scorecard.Entry] {
        let (from, to) = (Int64(clamping: from), Int64(clamping: to))
        return try await withConnection { conn in
            try await Self.entries(
                conn.query(
                    """
                    SELECT \(unescaped: Self.scorecardColumns) FROM reports
                    WHERE county = \(county) AND created_ms BETWEEN \(from) AND \(to)
                    """, logger: self.logger))
        }
    }

    /// The entries of the county's reports that changes at positions `after + 1 ... through`
    /// touched, or nil if there are more than `limit`.
    public func scorecardTouched(
        county: String, after: Int64, through: Int64, limit: Int
    ) async throws(FieldSyncError) -> [Scorecard.Entry]? {
        let touched = try await withConnection { conn in
            try await Self.entries(
                conn.query(
                    """
                    SELECT \(unescaped: Self.scorecardColumns) FROM reports WHERE id IN (
                        SELECT report FROM changes WHERE county = \(county) AND arrival > \(after) AND arrival <= \(through)
                    ) AND created_ms IS NOT NULL LIMIT \(Int64(limit) + 1)
                    """, logger: self.logger))
        }
        return touched.count > limit ? nil : touched
    }

    static func entries(_ rows: PostgresRowSequence) async throws -> [Scorecard.Entry] {
        var entries: [Scorecard.Entry] = []
        for try await row in rows {
            let (id, service, ward, created, updated, ack, closed, reopened, withdrawn, status) = try row.decode(
                (String, String?, String?, Int64, Int64, Int64, Int64, Int64, Bool, String?).self)
            guard let report = ReportID(rawValue: id) else { continue }
            func time(_ t: Int64) -> UInt64? { t < 0 ? nil : UInt64(t) }
            entries.append(
                Scorecard.Entry(
                    report: report, serviceCode: service, ward: ward, createdMillis: UInt64(clamping: created),
                    updatedMillis: UInt64(clamping: updated),
                    status: ReportStatusTimes(
                        acknowledgedMillis: time(ack), closedMillis: time(closed), reopenedMillis: time(reopened)),
                    isOpen: ReportStatus.isOpen(withdrawn: withdrawn, status: status)))
        }
        return entries
    }

    /// An optional time as an `int8` column value (-1 for none; `nullif` turns it back).
    static func column(_ millis: UInt64?) -> Int64 { millis.map { Int64(clamping: $0) } ?? -1 }

    /// Fills the scorecard's columns of rows written before migration 10, and the status times of
    /// their heads, from each report's history (inside the migration's transaction).
    static func restoreStatusTimes(_ conn: PostgresConnection, _ logger: Logger) async throws {
        let ids = try await conn.query("SELECT id FROM reports WHERE created_ms IS NULL", logger: logger)
            .collect().map { try $0.decode(String.self) }
        for id in ids {
            let headRow = try await conn.query("SELECT head FROM reports WHERE id = \(id)", logger: logger).collect()
            guard let headData = try headRow.first?.decode(Data.self) else { continue }
            var head = try StoredForm.head(headData)
            var changes: [Change] = []
            let bodies = try await conn.query("SELECT body FROM changes WHERE report = \(id)", logger: logger)
            for try await body in bodies.decode(Data.self) { changes.append(try StoredForm.change(body)) }
            head.restoreStatusTimes(history: changes)
            let t = head.statusTimes
            try await conn.query(
                """
                UPDATE reports SET head = \(ByteBuffer(data: ReportHeadCodec.encode(head))),
                    created_ms = \(Int64(clamping: head.createdAt.millis)), ward = \(head.values[.ward]?.stringValue),
                    ack_ms = \(t.acknowledgedMillis.map { Int64(clamping: $0) }),
                    closed_ms = \(t.closedMillis.map { Int64(clamping: $0) }),
                    reopened_ms = \(t.reopenedMillis.map { Int64(clamping: $0) })
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    /// Fills the `tags` column of rows written before migration 12 from their heads.
    static func restoreTags(_ conn: PostgresConnection, _ logger: Logger) async throws {
        let rows = try await conn.query("SELECT head FROM reports", logger: logger).collect()
        for row in rows {
            let head = try StoredForm.head(try row.decode(Data.self))
            guard !head.tagList.isEmpty else { continue }
            try await conn.query(
                "UPDATE reports SET tags = \(SearchText.tags(head)) WHERE id = \(head.id.rawValue)", logger: logger)
        }
    }
}
