public import FieldSyncCore
import FieldSyncStore

/// What the scorecard reads: one compact entry per report, from the `reports_by_created` index
/// alone, and the entries of reports that changes since a position touched (for the server's
/// cache of months).
extension SQLiteStore {
    static let scorecardColumns = """
        id, service_code, ward, created_ms, updated_ms, ack_ms, closed_ms, reopened_ms, lifecycle, status
        """

    /// The scorecard entries of the county's reports received in `from...to`.
    public func scorecardEntries(county: String, from: UInt64, to: UInt64) throws(FieldSyncError) -> [Scorecard.Entry] {
        try flush()
        defer { db.resetBusyStatements() }
        return try Self.entries(
            db.statement(
                """
                SELECT \(Self.scorecardColumns) FROM reports INDEXED BY reports_by_created
                WHERE county = ? AND created_ms BETWEEN ? AND ?
                """
            ).bind(.text(county), .int(Int64(clamping: from)), .int(Int64(clamping: to))))
    }

    /// The entries of the county's reports that changes at positions `after + 1 ... through`
    /// touched, or nil if there are more than `limit`.
    public func scorecardTouched(
        county: String, after: Int64, through: Int64, limit: Int
    ) throws(FieldSyncError) -> [Scorecard.Entry]? {
        try flush()
        defer { db.resetBusyStatements() }
        let touched = try Self.entries(
            db.statement(
                """
                SELECT \(Self.scorecardColumns) FROM reports WHERE id IN (
                    SELECT report FROM changes WHERE county = ? AND arrival > ? AND arrival <= ?
                ) AND created_ms IS NOT NULL LIMIT ?
                """
            ).bind(.text(county), .int(after), .int(through), .int(Int64(limit) + 1)))
        return touched.count > limit ? nil : touched
    }

    static func entries(_ s: SQLiteStatement) throws(FieldSyncError) -> [Scorecard.Entry] {
        var entries: [Scorecard.Entry] = []
        func time(_ column: Int32) -> UInt64? { s.isNull(column) ? nil : UInt64(clamping: s.int64(column)) }
        func text(_ column: Int32) -> String? { s.isNull(column) ? nil : s.text(column) }
        while try s.step() {
            guard let report = ReportID(rawValue: s.text(0)) else { continue }
            entries.append(
                Scorecard.Entry(
                    report: report, serviceCode: text(1), ward: text(2),
                    createdMillis: time(3) ?? 0, updatedMillis: time(4) ?? 0,
                    status: ReportStatusTimes(
                        acknowledgedMillis: time(5), closedMillis: time(6), reopenedMillis: time(7)),
                    isOpen: ReportStatus.isOpen(withdrawn: s.text(8) == "withdrawn", status: text(9))))
        }
        return entries
    }

    /// Fills the scorecard's columns of rows written before migration 13, and the status times of
    /// their heads, from each report's history (run inside the migration's transaction).
    static func restoreStatusTimes(_ db: SQLiteConnection) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let reports = try db.statement("SELECT id, head FROM reports")
        var heads: [ReportHead] = []
        while try reports.step() { heads.append(try StoredForm.head(reports.blob(1))) }
        reports.reset()
        let history = try db.statement("SELECT body FROM changes WHERE report = ?")
        let update = try db.statement(
            """
            UPDATE reports SET head = ?, created_ms = ?, ward = ?, ack_ms = ?, closed_ms = ?, reopened_ms = ?
            WHERE id = ?
            """)
        for var head in heads {
            var changes: [Change] = []
            history.bind(.text(head.id.rawValue))
            while try history.step() { changes.append(try StoredForm.change(history.blob(0))) }
            history.reset()
            head.restoreStatusTimes(history: changes)
            let t = head.statusTimes
            func time(_ millis: UInt64?) -> SQLiteValue { millis.map { .int(Int64(clamping: $0)) } ?? .null }
            try update.bind(
                .blob(ReportHeadCodec.encode(head)), time(head.createdAt.millis),
                head.values[.ward]?.stringValue.map(SQLiteValue.text) ?? .null,
                time(t.acknowledgedMillis), time(t.closedMillis), time(t.reopenedMillis), .text(head.id.rawValue)
            ).run()
            update.reset()
        }
    }

    /// Fills the `tags` column of rows written before migration 15 from their heads.
    static func restoreTags(_ db: SQLiteConnection) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let reports = try db.statement("SELECT head FROM reports")
        var heads: [ReportHead] = []
        while try reports.step() { heads.append(try StoredForm.head(reports.blob(0))) }
        reports.reset()
        let update = try db.statement("UPDATE reports SET tags = ? WHERE id = ?")
        for head in heads where !head.tagList.isEmpty {
            try update.bind(.text(SearchText.tags(head)), .text(head.id.rawValue)).run()
            update.reset()
        }
    }
}
