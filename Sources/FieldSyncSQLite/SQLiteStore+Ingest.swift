public import FieldSyncCore
public import FieldSyncStore
public import Foundation

/// Ingest: `IngestPlan` decides, this engine reads what the plan asks for and writes what it
/// decided, in one transaction. Crash recovery drives the same plan in replay mode.
extension SQLiteStore {
    /// Applies a batch atomically: all of it lands, or none of it and the error says why.
    /// Re-sending a batch is always safe: changes already held are counted as duplicates.
    public func ingest(_ changes: [Change]) throws(FieldSyncError) -> IngestResult {
        try ingest(signed: changes.map { SignedChange(change: $0, signature: nil) })
    }

    /// Applies a batch of signed changes atomically, keeping each signature with its change so
    /// that it can be relayed. Signatures are checked by the caller (the server), not here.
    public func ingest(signed changes: [SignedChange]) throws(FieldSyncError) -> IngestResult {
        try ingest(signed: changes, preRefused: [:], atomic: true, via: nil)
    }

    /// Applies a batch change by change: every change that can be applied is, each other one is
    /// refused with its own reason (and kept, bounded, in the refusals quarantine), and changes
    /// that depend on a refused one are refused naming it. `preRefused` are changes the caller
    /// refused already. With `atomic`, the first refusal refuses the whole batch instead and
    /// nothing is written but its quarantine record. `via` is the device that sent the batch.
    public func ingest(
        signed changes: [SignedChange], preRefused: [Dot: FieldSyncError], atomic: Bool,
        via: DeviceID?
    ) throws(FieldSyncError) -> IngestResult {
        defer { db.resetBusyStatements() }
        var plan = IngestPlan(limits: options.limits, mode: options.requireContiguousLogs ? .server : .device)
        do {
            var result = try db.transaction { () throws(FieldSyncError) -> IngestResult in
                var source = SQLiteIngestSource(db: db, cache: headCache)
                do { try plan.run(changes, preRefused: preRefused, from: &source) } catch {
                    throw FieldSyncError.storage(error)
                }
                if atomic, let (first, _) = plan.refused.first { throw first.error }
                options.faults?.reach(.midBatch)
                return try write(plan)
            }
            try commit(plan)
            result.refusals = plan.result.refusals
            quarantine(plan.refused, via: via)
            return result
        } catch {
            if atomic, let first = plan.refused.first, first.0.error == error { quarantine([first], via: via) }
            throw error
        }
    }

    /// Writes a new change as this store's own device and applies it.
    public func write(
        _ ops: [ReportOperation], to report: ReportID, county: String, wallMillis: UInt64,
        signer: @Sendable (Change) -> Data? = { _ in nil }
    ) throws(FieldSyncError) -> Change {
        defer { db.resetBusyStatements() }
        var device = try localDevice()
        let head = try peekHead(report)
        let change = try device.makeChange(
            report: report, county: county, head: head, ops: ops, wallMillis: wallMillis, limits: options.limits)
        _ = try ingest(signed: [SignedChange(change: change, signature: signer(change))])
        return change
    }

    /// Inserts what a plan decided: changes (in apply order), notes, media, resolved conflicts,
    /// log heads. Heads and open conflicts are written at the next flush.
    private func write(_ plan: IngestPlan) throws(FieldSyncError) -> IngestResult {
        var result = plan.result
        var arrivals: [Dot: Int64] = [:]
        for row in plan.rows {
            let c = row.change
            try db.statement(
                """
                INSERT INTO changes(device, seq, report, county, hlc_ms, hlc_c, body, sig, sig_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).bind(
                .text(c.dot.device.rawValue), .int(Int64(clamping: c.dot.seq)), .text(c.report.rawValue),
                .text(c.county),
                .int(Int64(clamping: c.hlc.millis)), .int(Int64(c.hlc.counter)), .blob(row.body),
                row.signature.map(SQLiteValue.blob) ?? .null,
                row.signature != nil && row.run > 1 ? .int(Int64(row.run)) : .null
            ).run()
            arrivals[c.dot] = db.lastInsertRowID
            result.lastArrival = db.lastInsertRowID
        }
        try Self.writeEffects(db, notes: plan.notes, media: plan.media)
        for (conflict, change) in plan.resolved {
            try Self.writeConflict(
                db, conflict, arrival: arrivals[change.dot] ?? result.lastArrival, atMillis: change.hlc.millis)
        }
        for (device, count) in plan.counts {
            try db.statement(
                """
                INSERT INTO device_logs(device, highest_seq, change_count) VALUES (?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET highest_seq = max(highest_seq, excluded.highest_seq),
                    change_count = change_count + excluded.change_count
                """
            ).bind(.text(device.rawValue), .int(Int64(plan.highest[device] ?? 0)), .int(Int64(count))).run()
        }
        return result
    }

    /// Writes notes and media a batch produced (idempotent: a replay writes them again).
    static func writeEffects(
        _ db: SQLiteConnection, notes: [(ReportID, Note)], media: [(ReportID, MediaAttachment)]
    ) throws(FieldSyncError) {
        for (report, note) in notes {
            try db.statement(
                "INSERT OR IGNORE INTO notes(report, device, seq, hlc_ms, hlc_c, text) VALUES (?, ?, ?, ?, ?, ?)"
            )
            .bind(
                .text(report.rawValue), .text(note.dot.device.rawValue), .int(Int64(note.dot.seq)),
                .int(Int64(note.hlc.millis)), .int(Int64(note.hlc.counter)), .text(note.text)
            ).run()
        }
        for (report, m) in media {
            // One row per content hash; the smallest dot keeps it, whatever the arrival order.
            try db.statement(
                """
                INSERT INTO media(report, sha256, device, seq, content_type, size) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(report, sha256) DO UPDATE SET device = excluded.device, seq = excluded.seq,
                    content_type = excluded.content_type, size = excluded.size
                WHERE (excluded.device, excluded.seq) < (media.device, media.seq)
                """
            ).bind(
                .text(report.rawValue), .text(m.media.sha256), .text(m.dot.device.rawValue), .int(Int64(m.dot.seq)),
                .text(m.media.contentType), .int(Int64(m.media.size))
            ).run()
        }
    }

    /// Writes one conflict record (open or resolved), replacing any with the same id.
    static func writeConflict(
        _ db: SQLiteConnection, _ conflict: Conflict, arrival: Int64, atMillis: UInt64
    ) throws(FieldSyncError) {
        try db.statement(
            "INSERT OR REPLACE INTO conflicts(id, report, county, field, open, arrival, body, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .bind(
            .text(conflict.id), .text(conflict.report.rawValue), .text(conflict.county), .text(conflict.field.rawValue),
            .int(conflict.isOpen ? 1 : 0), .int(arrival), .blob(ConflictCodec.encode(conflict)), .int(Int64(atMillis))
        ).run()
    }

    /// A report's head without taking it out of the cache.
    func peekHead(_ id: ReportID) throws(FieldSyncError) -> ReportHead? {
        if let h = headCache[id] { return h }
        let source = SQLiteIngestSource(db: db, cache: [:])
        return try source.storedHead(id)
    }

    /// Takes a committed plan's heads into the unflushed state.
    private func commit(_ plan: IngestPlan) throws(FieldSyncError) {
        for id in plan.dirty { headCache[id] = plan.heads[id] }
        dirtyHeads.formUnion(plan.dirty)
        unflushedChanges += plan.rows.count
        if dirtyHeads.count > options.flushAfterReports || unflushedChanges > options.flushAfterChanges { try flush() }
        if headCache.count > options.headCacheSize {
            try flush()
            headCache.removeAll(keepingCapacity: true)
        }
    }

    /// Writes every report head and open-conflict row changed since the last flush, and the
    /// arrival position they now reflect, in one transaction.
    public func flush() throws(FieldSyncError) {
        guard !dirtyHeads.isEmpty || unflushedChanges > 0 else { return }
        defer { db.resetBusyStatements() }
        try db.transaction { () throws(FieldSyncError) in
            let through = try db.scalar("SELECT coalesce(max(arrival), 0) FROM changes") ?? 0
            for id in dirtyHeads {
                guard let head = headCache[id] else { continue }
                try Self.writeHead(db, id, head, arrival: through)
            }
            try Self.markFlushed(db, through: through)
            options.faults?.reach(.midFlush)
        }
        dirtyHeads.removeAll(keepingCapacity: true)
        unflushedChanges = 0
    }

    /// Rebuilds heads, conflicts, notes and media for changes that arrived after the last flush
    /// (after a crash or a kill) by replaying them, in arrival order, through `IngestPlan`.
    static func recover(_ db: SQLiteConnection) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.transaction { () throws(FieldSyncError) in try replayUnflushed(db) }
    }

    /// The replay itself, inside the caller's transaction.
    static func replayUnflushed(_ db: SQLiteConnection) throws(FieldSyncError) {
        // Migration 3 sets the marker; a store without one reflects nothing yet.
        let marker = try db.statement("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heads_through'")
        let through: Int64 = try marker.step() ? marker.int64(0) : 0
        marker.reset()
        let pending = try db.statement("SELECT arrival, body FROM changes WHERE arrival > ? ORDER BY arrival").bind(
            .int(through))
        var changes: [SignedChange] = []
        var arrivals: [Dot: Int64] = [:]
        while try pending.step() {
            let c = try StoredForm.change(pending.blob(1))
            arrivals[c.dot] = pending.int64(0)
            changes.append(SignedChange(change: c, signature: nil))
        }
        pending.reset()
        guard let last = changes.last.flatMap({ arrivals[$0.change.dot] }) else { return }
        var plan = IngestPlan(limits: .standard, mode: .replay)
        var source = SQLiteIngestSource(db: db, cache: [:])
        do { try plan.run(changes, from: &source) } catch { throw FieldSyncError.storage(error) }
        try writeEffects(db, notes: plan.notes, media: plan.media)
        for (conflict, change) in plan.resolved {
            try writeConflict(db, conflict, arrival: arrivals[change.dot] ?? last, atMillis: change.hlc.millis)
        }
        for id in plan.dirty { if let head = plan.heads[id] { try writeHead(db, id, head, arrival: last) } }
        try markFlushed(db, through: last)
    }

    /// Indexes by report the changes that arrived since the last flush, and records that heads
    /// now reflect every change up to `through`. Runs inside the flush's transaction.
    private static func markFlushed(_ db: SQLiteConnection, through: Int64) throws(FieldSyncError) {
        try db.statement(
            """
            INSERT OR IGNORE INTO report_changes(report, arrival)
            SELECT report, arrival FROM changes
            WHERE arrival > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heads_through') AND arrival <= ?
            ORDER BY report, arrival
            """
        ).bind(.int(through)).run()
        try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES ('heads_through', ?)").bind(
            .text(String(through))
        ).run()
    }

    /// Writes a report's head and replaces its open-conflict rows with those the head now has.
    static func writeHead(
        _ db: SQLiteConnection, _ id: ReportID, _ head: ReportHead, arrival: Int64
    ) throws(FieldSyncError) {
        try db.statement("DELETE FROM conflicts WHERE report = ? AND open = 1").bind(.text(id.rawValue)).run()
        for conflict in head.openConflicts {
            let at = conflict.candidates.map(\.hlc.millis).max() ?? head.updatedAt.millis
            try writeConflict(db, conflict, arrival: arrival, atMillis: at)
        }
        let values = head.values
        func text(_ name: FieldName) -> SQLiteValue { values[name]?.stringValue.map(SQLiteValue.text) ?? .null }
        func time(_ millis: UInt64?) -> SQLiteValue { millis.map { .int(Int64(clamping: $0)) } ?? .null }
        try db.statement(
            """
            INSERT OR REPLACE INTO reports(id, county, lifecycle, status, service_code, updated_ms, updated_c, head, search,
                                           created_ms, ward, ack_ms, closed_ms, reopened_ms, tags)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .text(id.rawValue), .text(head.county), .text(head.isWithdrawn ? "withdrawn" : "active"),
            text(.status), text(.serviceCode),
            .int(Int64(head.updatedAt.millis)), .int(Int64(head.updatedAt.counter)),
            .blob(ReportHeadCodec.encode(head)),
            .text(SearchText.of(head, values)),
            time(head.createdAt.millis), text(.ward), time(head.statusTimes.acknowledgedMillis),
            time(head.statusTimes.closedMillis), time(head.statusTimes.reopenedMillis), .text(SearchText.tags(head))
        ).run()
    }
}

/// What an `IngestPlan` reads of a SQLite store, on demand, inside the ingest's transaction:
/// heads (from the store's cache, else the file), log heads and held changes. Every statement
/// is reset after reading, so that none keeps a read snapshot open.
struct SQLiteIngestSource: IngestSource {
    let db: SQLiteConnection
    let cache: [ReportID: ReportHead]

    mutating func head(_ id: ReportID) throws -> ReportHead? {
        if let h = cache[id] { return h }
        return try storedHead(id)
    }

    func storedHead(_ id: ReportID) throws(FieldSyncError) -> ReportHead? {
        let s = try db.statement("SELECT head FROM reports WHERE id = ?").bind(.text(id.rawValue))
        defer { s.reset() }
        return try s.step() ? try StoredForm.head(s.blob(0)) : nil
    }

    mutating func highestSeq(_ device: DeviceID) throws -> UInt64 {
        let s = try db.statement("SELECT max(seq) FROM changes WHERE device = ?").bind(.text(device.rawValue))
        defer { s.reset() }
        return try s.step() && !s.isNull(0) ? UInt64(clamping: s.int64(0)) : 0
    }

    mutating func body(_ dot: Dot) throws -> Data? {
        guard let seq = Int64(exactly: dot.seq) else { return nil }
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq = ?").bind(
            .text(dot.device.rawValue), .int(seq))
        defer { s.reset() }
        return try s.step() ? s.blob(0) : nil
    }

    mutating func change(_ dot: Dot) throws -> Change? {
        try body(dot).map { data throws(FieldSyncError) in try StoredForm.change(data) }
    }
}

extension FieldSyncError {
    /// Any error from storage as a `FieldSyncError` (a `FieldSyncError` stays as it is).
    static func storage(_ error: any Error) -> FieldSyncError {
        (error as? FieldSyncError) ?? FieldSyncError(.storage, "storage failed: \(error)")
    }
}
