import FieldSyncCore
import Foundation

/// A FieldSync store in one SQLite file: used by a device (its own log, changes received from
/// others, merged reports, the conflict log, sync cursors) and by the server (every device's
/// log, the arrival order that pull cursors follow, merged reports, the conflict log).
///
/// WAL mode; versioned migrations; prepared statements; each batch in one transaction, so it
/// lands whole or not at all. Ingest runs the same merge as the in-memory `Replica`.
public actor SQLiteStore: ChangeStore {
    /// How a store behaves.
    public struct Options: Sendable, Hashable {
        /// Refuse a change that would leave a gap in its device's log (the server's rule: every
        /// device's log is held as a dense prefix `1...n`).
        public var requireContiguousLogs = false
        /// `true`: fsync at every commit (survives power loss). `false`: survives a killed
        /// process but may lose the last commits on power loss.
        public var fullSync = true
        /// How many report heads to keep decoded in memory (a device keeps few: its memory is
        /// bounded whatever it pulls).
        public var headCacheSize = 5_000
        /// Write report heads once this many reports changed since the last flush…
        public var flushAfterReports = 5_000
        /// …or this many changes arrived (this bounds the replay after a crash).
        public var flushAfterChanges = 50_000
        /// The limits every change must respect.
        public var limits = ChangeLimits.standard
        /// Crashes injected on purpose (fault-injection runs only).
        public var faults: FaultInjector?

        /// The defaults: a device store.
        public init() {}

        /// The server's options: dense device logs, fsync at every commit.
        public static var server: Options {
            var o = Options()
            o.requireContiguousLogs = true
            o.headCacheSize = 50_000
            o.flushAfterReports = 10_000
            return o
        }
    }

    /// The file path.
    public nonisolated let path: String
    /// The options.
    public nonisolated let options: Options
    let db: SQLiteConnection
    private var headCache: [ReportID: ReportHead] = [:]
    // Report heads and open-conflict rows are derived from the change log, so they are written
    // lazily: committed batches leave them here, and `flush()` writes them in one transaction
    // with the arrival position they reflect. After a crash, `recover()` replays the changes
    // that arrived after that position. Reads flush first.
    private var dirtyHeads: Set<ReportID> = []
    private var unflushedChanges = 0

    /// Opens (creating and migrating if needed) the store at `path`.
    public init(path: String, options: Options = Options()) throws(FieldSyncError) {
        self.path = path
        self.options = options
        db = try SQLiteConnection(path: path)
        let mode = try db.statement("PRAGMA journal_mode = WAL")
        _ = try mode.step()
        try db.execute("PRAGMA synchronous = \(options.fullSync ? "FULL" : "NORMAL")")
        try Schema.migrate(db)
        try Self.recover(db)
    }

    /// Closes the database file. The store must not be used afterwards.
    public func close() {
        try? flush()
        db.close()
    }

    // MARK: Ingest

    /// Applies a batch atomically: all of it lands, or none of it and the error says why.
    /// Re-sending a batch is always safe: changes already held are counted as duplicates.
    public func ingest(_ changes: [Change]) throws(FieldSyncError) -> IngestResult {
        try ingest(signed: changes.map { SignedChange(change: $0, signature: nil) })
    }

    /// Applies a batch of signed changes atomically, keeping each signature with its change so
    /// that it can be relayed. Signatures are checked by the caller (the server), not here.
    public func ingest(signed changes: [SignedChange]) throws(FieldSyncError) -> IngestResult {
        for c in changes { try options.limits.validate(c.change) }
        var batch = Batch()
        do {
            let result = try db.transaction { () throws(FieldSyncError) -> IngestResult in
                try ingestLocked(changes, &batch)
            }
            try commit(batch, applied: result.applied)
            return result
        } catch {
            if error.code == .dotReuse, let offending = batch.offending { logRefusal(offending, error) }
            throw error
        }
    }

    /// Writes a new change as this store's own device and applies it.
    public func write(_ ops: [ReportOperation], to report: ReportID, county: String, wallMillis: UInt64,
                      signer: @Sendable (Change) -> Data? = { _ in nil }) throws(FieldSyncError) -> Change {
        defer { db.resetBusyStatements() }
        var device = try localDevice()
        let head = try peekHead(report)
        let change = try device.makeChange(report: report, county: county, head: head, ops: ops, wallMillis: wallMillis, limits: options.limits)
        _ = try ingest(signed: [SignedChange(change: change, signature: signer(change))])
        return change
    }

    /// State of one batch being ingested; discarded if the batch is rolled back.
    private struct Batch {
        var heads: [ReportID: ReportHead] = [:]
        var dirty: Set<ReportID> = []
        var highest: [DeviceID: UInt64] = [:]
        var counts: [DeviceID: Int] = [:]
        var offending: Change?
    }

    private func ingestLocked(_ changes: [SignedChange], _ batch: inout Batch) throws(FieldSyncError) -> IngestResult {
        var result = IngestResult()
        var remaining = changes
        while !remaining.isEmpty {
            var waiting: [SignedChange] = []
            for signed in remaining {
                let c = signed.change
                // The head stays in the batch's dictionary and is read and written in place.
                let headIndex = try loadHead(c.report, &batch)
                let readiness = headIndex.map { batch.heads.values[$0].readiness(of: c) } ?? (c.isCreate ? .ready : .waiting)
                switch readiness {
                case .ready:
                    if options.requireContiguousLogs {
                        let highest = try highestSeq(c.dot.device, &batch)
                        if c.dot.seq > highest + 1 { waiting.append(signed); continue }
                    }
                    try apply(signed, at: headIndex, &batch, &result)
                case .duplicate:
                    try checkDuplicate(c, &batch)
                    result.duplicates += 1
                case .waiting:
                    waiting.append(signed)
                case .invalid(let error):
                    batch.offending = c
                    throw error
                }
            }
            if waiting.count == remaining.count {
                try refuseStuck(waiting.map(\.change), &batch)
            }
            remaining = waiting
        }
        options.faults?.reach(.midBatch)
        for (device, count) in batch.counts {
            try db.statement("""
                INSERT INTO device_logs(device, highest_seq, change_count) VALUES (?, ?, ?)
                ON CONFLICT(device) DO UPDATE SET highest_seq = max(highest_seq, excluded.highest_seq),
                    change_count = change_count + excluded.change_count
                """).bind(.text(device.rawValue), .int(Int64(batch.highest[device] ?? 0)), .int(Int64(count))).run()
        }
        return result
    }

    private func apply(_ signed: SignedChange, at headIndex: Dictionary<ReportID, ReportHead>.Index?,
                       _ batch: inout Batch, _ result: inout IngestResult) throws(FieldSyncError) {
        let c = signed.change
        let body = ChangeCodec.encodeData(c)
        try db.statement("""
            INSERT OR IGNORE INTO changes(device, seq, report, county, hlc_ms, hlc_c, body, sig, sig_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(.text(c.dot.device.rawValue), .int(Int64(c.dot.seq)), .text(c.report.rawValue), .text(c.county),
                      .int(Int64(c.hlc.millis)), .int(Int64(c.hlc.counter)), .blob(body),
                      signed.signature.map(SQLiteValue.blob) ?? .null,
                      signed.signature != nil && signed.run > 1 ? .int(Int64(signed.run)) : .null).run()
        guard db.changes == 1 else {
            // The dot is held already, for another report: a device reissued a sequence number.
            batch.offending = c
            throw FieldSyncError.dotReuse(c.dot)
        }
        let arrival = db.lastInsertRowID
        var lookupError: FieldSyncError?
        let effects: ApplyEffects
        if let headIndex {
            effects = batch.heads.values[headIndex].apply(c) { dot in
                do throws(FieldSyncError) { return try self.storedChange(dot) } catch { lookupError = error; return nil }
            }
        } else {
            var head = ReportHead(creating: c)
            effects = head.apply(c) { _ in nil }   // a creating change refers to no earlier change
            batch.heads[c.report] = head
        }
        if let lookupError { throw lookupError }
        batch.dirty.insert(c.report)
        batch.highest[c.dot.device] = max(batch.highest[c.dot.device] ?? 0, c.dot.seq)
        batch.counts[c.dot.device, default: 0] += 1
        result.applied += 1
        result.lastArrival = arrival
        result.conflictsOpened += effects.openedCount
        result.conflictsResolved += effects.resolved.count

        for note in effects.notes {
            try db.statement("INSERT OR IGNORE INTO notes(report, device, seq, hlc_ms, hlc_c, text) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(.text(c.report.rawValue), .text(note.dot.device.rawValue), .int(Int64(note.dot.seq)),
                      .int(Int64(note.hlc.millis)), .int(Int64(note.hlc.counter)), .text(note.text)).run()
        }
        for m in effects.media {
            // One row per content hash; the smallest dot keeps it, whatever the arrival order.
            try db.statement("""
                INSERT INTO media(report, sha256, device, seq, content_type, size) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(report, sha256) DO UPDATE SET device = excluded.device, seq = excluded.seq,
                    content_type = excluded.content_type, size = excluded.size
                WHERE (excluded.device, excluded.seq) < (media.device, media.seq)
                """).bind(.text(c.report.rawValue), .text(m.media.sha256), .text(m.dot.device.rawValue), .int(Int64(m.dot.seq)),
                          .text(m.media.contentType), .int(Int64(m.media.size))).run()
        }
        // Open conflicts are derived from the head at flush time; resolutions are written now.
        for conflict in effects.resolved { try writeConflict(conflict, arrival: arrival, atMillis: c.hlc.millis) }
    }

    private func writeConflict(_ conflict: Conflict, arrival: Int64, atMillis: UInt64) throws(FieldSyncError) {
        try Self.writeConflict(db, conflict, arrival: arrival, atMillis: atMillis)
    }

    /// Writes one conflict record (open or resolved), replacing any with the same id.
    private static func writeConflict(_ db: SQLiteConnection, _ conflict: Conflict, arrival: Int64, atMillis: UInt64) throws(FieldSyncError) {
        try db.statement("INSERT OR REPLACE INTO conflicts(id, report, county, field, open, arrival, body, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(.text(conflict.id), .text(conflict.report.rawValue), .text(conflict.county), .text(conflict.field.rawValue),
                  .int(conflict.isOpen ? 1 : 0), .int(arrival), .blob(ConflictCodec.encode(conflict)), .int(Int64(atMillis))).run()
    }

    private func checkDuplicate(_ c: Change, _ batch: inout Batch) throws(FieldSyncError) {
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq = ?")
            .bind(.text(c.dot.device.rawValue), .int(Int64(c.dot.seq)))
        guard try s.step() else {
            batch.offending = c
            throw FieldSyncError(.invalidContext, "change \(c.dot) is older than a change of the same device already applied to report \(c.report), which did not include it; the device's log is inconsistent")
        }
        guard s.blobEquals(0, ChangeCodec.encodeData(c)) else {
            batch.offending = c
            throw FieldSyncError.dotReuse(c.dot)
        }
    }

    /// None of `stuck` can be applied: say precisely why, for the first one.
    private func refuseStuck(_ stuck: [Change], _ batch: inout Batch) throws(FieldSyncError) -> Never {
        for c in stuck {
            if try storedChange(c.dot) != nil {
                batch.offending = c
                throw FieldSyncError.dotReuse(c.dot)
            }
        }
        let c = stuck[0]
        if options.requireContiguousLogs {
            let highest = try highestSeq(c.dot.device, &batch)
            if let gap = stuck.first(where: { $0.dot.seq > (batch.highest[$0.dot.device] ?? highest) + 1 }) {
                let held = try highestSeq(gap.dot.device, &batch)
                throw FieldSyncError(.sequenceGap, "change \(gap.dot) leaves a gap: the log of \(gap.dot.device) is held up to seq \(held); send the changes from seq \(held + 1) first")
            }
        }
        let head = try loadHead(c.report, &batch).map { batch.heads.values[$0] }
        if head == nil {
            throw FieldSyncError(.missingDependency, "change \(c.dot) is for report \(c.report), which this store does not hold; send the change that creates it (and every change it depends on) in the same or an earlier batch")
        }
        let missing = c.context.entries.filter { head!.version[$0.device] < $0.seq }.map { "\($0.device):\($0.seq)" }
        throw FieldSyncError(.missingDependency, "change \(c.dot) depends on changes to report \(c.report) this store does not hold (\(missing.prefix(5).joined(separator: ", "))); send them in the same or an earlier batch")
    }

    private func highestSeq(_ device: DeviceID, _ batch: inout Batch) throws(FieldSyncError) -> UInt64 {
        if let h = batch.highest[device] { return h }
        let stored = try highestSeq(of: device)
        batch.highest[device] = stored
        return stored
    }

    /// Where the report's head sits in the batch, loading it from the cache or the database
    /// first; `nil` if the store does not hold the report.
    private func loadHead(_ id: ReportID, _ batch: inout Batch) throws(FieldSyncError) -> Dictionary<ReportID, ReportHead>.Index? {
        if let i = batch.heads.index(forKey: id) { return i }
        if let h = headCache[id] {
            // Shared with the cache until the batch mutates it (copy on write): a batch that
            // rolls back leaves the cached head as it was.
            batch.heads[id] = h
            return batch.heads.index(forKey: id)
        }
        let s = try db.statement("SELECT head FROM reports WHERE id = ?").bind(.text(id.rawValue))
        guard try s.step() else { return nil }
        batch.heads[id] = try decodeHead(s.blob(0))
        return batch.heads.index(forKey: id)
    }

    /// A report's head without taking it out of the cache.
    private func peekHead(_ id: ReportID) throws(FieldSyncError) -> ReportHead? {
        if let h = headCache[id] { return h }
        let s = try db.statement("SELECT head FROM reports WHERE id = ?").bind(.text(id.rawValue))
        guard try s.step() else { return nil }
        return try decodeHead(s.blob(0))
    }

    /// Takes a committed batch's heads and open-conflict changes into the unflushed state.
    private func commit(_ batch: Batch, applied: Int) throws(FieldSyncError) {
        for id in batch.dirty { headCache[id] = batch.heads[id] }
        dirtyHeads.formUnion(batch.dirty)
        unflushedChanges += applied
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

    /// Rebuilds heads and open conflicts for changes that arrived after the last flush (after a
    /// crash or a kill), by applying them again in arrival order, and writes them.
    private static func recover(_ db: SQLiteConnection) throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        let marker = try db.statement("SELECT value FROM meta WHERE key = 'heads_through'")
        // Migration 3 sets the marker; a store without one reflects nothing yet.
        let through: Int64 = try marker.step() ? Int64(marker.text(0)) ?? 0 : 0
        marker.reset()
        let pending = try db.statement("SELECT arrival, body FROM changes WHERE arrival > ? ORDER BY arrival").bind(.int(through))
        var rows: [(Int64, Change)] = []
        while try pending.step() { rows.append((pending.int64(0), try decode(pending.blob(1)))) }
        pending.reset()
        guard !rows.isEmpty else { return }
        var heads: [ReportID: ReportHead] = [:]
        for (arrival, c) in rows {
            if heads[c.report] == nil {
                let s = try db.statement("SELECT head FROM reports WHERE id = ?").bind(.text(c.report.rawValue))
                if try s.step() {
                    do throws(FieldSyncError) { heads[c.report] = try ReportHeadCodec.decode(s.blob(0)) } catch {
                        throw FieldSyncError(.storage, "a stored report head cannot be decoded (\(error.message)); run integrity_check")
                    }
                }
                s.reset()
            }
            guard case .ready = heads[c.report]?.readiness(of: c) ?? (c.isCreate ? .ready : .waiting) else {
                throw FieldSyncError(.storage, "change \(c.dot) at arrival \(arrival) cannot be replayed onto its report; the database may be corrupt: run integrity_check")
            }
            var head = heads.removeValue(forKey: c.report) ?? ReportHead(creating: c)
            var lookupError: FieldSyncError?
            let effects = head.apply(c) { dot in
                do throws(FieldSyncError) {
                    let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq = ?").bind(.text(dot.device.rawValue), .int(Int64(dot.seq)))
                    defer { s.reset() }
                    return try s.step() ? try decode(s.blob(0)) : nil
                } catch { lookupError = error; return nil }
            }
            if let lookupError { throw lookupError }
            heads[c.report] = head
            for conflict in effects.resolved { try writeConflict(db, conflict, arrival: arrival, atMillis: c.hlc.millis) }
        }
        try db.transaction { () throws(FieldSyncError) in
            for (id, head) in heads { try writeHead(db, id, head, arrival: rows.last!.0) }
            try markFlushed(db, through: rows.last!.0)
        }
    }

    /// Indexes by report the changes that arrived since the last flush, and records that heads
    /// now reflect every change up to `through`. Runs inside the flush's transaction.
    private static func markFlushed(_ db: SQLiteConnection, through: Int64) throws(FieldSyncError) {
        try db.statement("""
            INSERT OR IGNORE INTO report_changes(report, arrival)
            SELECT report, arrival FROM changes
            WHERE arrival > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heads_through') AND arrival <= ?
            ORDER BY report, arrival
            """).bind(.int(through)).run()
        try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES ('heads_through', ?)").bind(.text(String(through))).run()
    }

    private static func decode(_ data: Data) throws(FieldSyncError) -> Change { try StoredForm.change(data) }

    /// Writes a report's head and replaces its open-conflict rows with those the head now has.
    private static func writeHead(_ db: SQLiteConnection, _ id: ReportID, _ head: ReportHead, arrival: Int64) throws(FieldSyncError) {
        try db.statement("DELETE FROM conflicts WHERE report = ? AND open = 1").bind(.text(id.rawValue)).run()
        for conflict in head.openConflicts {
            let at = conflict.candidates.map(\.hlc.millis).max() ?? head.updatedAt.millis
            try writeConflict(db, conflict, arrival: arrival, atMillis: at)
        }
        let values = head.values
        try db.statement("""
            INSERT OR REPLACE INTO reports(id, county, lifecycle, status, service_code, updated_ms, updated_c, head, search)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(.text(id.rawValue), .text(head.county), .text(head.isWithdrawn ? "withdrawn" : "active"),
                      values[.status]?.stringValue.map(SQLiteValue.text) ?? .null,
                      values[.serviceCode]?.stringValue.map(SQLiteValue.text) ?? .null,
                      .int(Int64(head.updatedAt.millis)), .int(Int64(head.updatedAt.counter)), .blob(ReportHeadCodec.encode(head)),
                      .text(SearchText.of(head, values))).run()
    }

    private func logRefusal(_ c: Change, _ error: FieldSyncError) {
        let body = ChangeCodec.encodeData(c)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try? db.statement("INSERT INTO refusals(at_ms, device, seq, code, message, body) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(.int(now), .text(c.dot.device.rawValue), .int(Int64(c.dot.seq)), .text(error.code.rawValue), .text(error.message), .blob(body)).run()
    }

    // MARK: Reading

    /// The stored change with this dot.
    public func storedChange(_ dot: Dot) throws(FieldSyncError) -> Change? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq = ?")
            .bind(.text(dot.device.rawValue), .int(Int64(dot.seq)))
        guard try s.step() else { return nil }
        return try decodeChange(s.blob(0))
    }

    /// Changes that arrived after `cursor`, optionally only one county's, in arrival order.
    public func changes(after cursor: Int64, county: String?, limit: Int) throws(FieldSyncError) -> ChangePage {
        try changes(after: cursor, county: county, excludingDevice: nil, limit: limit)
    }

    /// Changes that arrived after `cursor`, leaving out one device's own (it has them). The
    /// cursor still moves past the changes left out.
    public func changes(after cursor: Int64, county: String?, excludingDevice: DeviceID?, limit: Int) throws(FieldSyncError) -> ChangePage {
        defer { db.resetBusyStatements() }
        // Filters are in SQL so that LIMIT counts exactly the rows returned.
        var sql = "SELECT arrival, body, sig, sig_run FROM changes WHERE arrival > ?"
        var args: [SQLiteValue] = [.int(cursor)]
        if let county { sql += " AND county = ?"; args.append(.text(county)) }
        if let excludingDevice { sql += " AND device <> ?"; args.append(.text(excludingDevice.rawValue)) }
        sql += " ORDER BY arrival LIMIT ?"
        args.append(.int(Int64(limit + 1)))
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var rows: [ChangePage.Entry] = []
        var more = false
        var last = cursor
        while try s.step() {
            if rows.count == limit { more = true; break }
            last = s.int64(0)
            rows.append(ChangePage.Entry(arrival: last, change: try decodeChange(s.blob(1)), signature: s.isNull(2) ? nil : s.blob(2),
                                         run: s.isNull(3) ? 1 : Int(s.int64(3))))
        }
        return ChangePage(changes: rows, cursor: last, hasMore: more)
    }

    /// One device's changes after `seq`, in sequence order.
    public func log(of device: DeviceID, after seq: UInt64 = 0, limit: Int = 1_000) throws(FieldSyncError) -> [Change] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(.text(device.rawValue), .int(Int64(seq)), .int(Int64(limit)))
        var result: [Change] = []
        while try s.step() { result.append(try decodeChange(s.blob(0))) }
        return result
    }

    /// The highest sequence number held of a device's log (0 if none).
    public func highestSeq(of device: DeviceID) throws(FieldSyncError) -> UInt64 {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT max(seq) FROM changes WHERE device = ?").bind(.text(device.rawValue))
        guard try s.step(), !s.isNull(0) else { return 0 }
        return UInt64(s.int64(0))
    }

    /// For every device, the highest sequence number held.
    public func logHeads() throws(FieldSyncError) -> [DeviceID: UInt64] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT device, max(seq) FROM changes GROUP BY device")
        var result: [DeviceID: UInt64] = [:]
        while try s.step() {
            if let d = DeviceID(rawValue: s.text(0)) { result[d] = UInt64(s.int64(1)) }
        }
        return result
    }

    /// The number of changes held.
    public func changeCount() throws(FieldSyncError) -> Int {
        Int(try db.scalar("SELECT count(*) FROM changes") ?? 0)
    }

    /// One report as people see it.
    public func report(_ id: ReportID) throws(FieldSyncError) -> Report? {
        defer { db.resetBusyStatements() }
        guard let head = try peekHead(id) else { return nil }
        return try view(head)
    }

    private func view(_ head: ReportHead) throws(FieldSyncError) -> Report {
        var notes: [Note] = []
        let n = try db.statement("SELECT device, seq, hlc_ms, hlc_c, text FROM notes WHERE report = ?").bind(.text(head.id.rawValue))
        while try n.step() {
            guard let d = DeviceID(rawValue: n.text(0)) else { continue }
            notes.append(Note(dot: Dot(device: d, seq: UInt64(n.int64(1))),
                              hlc: HybridTimestamp(millis: UInt64(n.int64(2)), counter: UInt32(n.int64(3))), text: n.text(4)))
        }
        var media: [MediaAttachment] = []
        let m = try db.statement("SELECT device, seq, sha256, content_type, size FROM media WHERE report = ?").bind(.text(head.id.rawValue))
        while try m.step() {
            guard let d = DeviceID(rawValue: m.text(0)) else { continue }
            media.append(MediaAttachment(dot: Dot(device: d, seq: UInt64(m.int64(1))),
                                         media: MediaRef(sha256: m.text(2), contentType: m.text(3), size: UInt64(m.int64(4)))))
        }
        return Report(head: head, notes: notes, media: media)
    }

    /// Reports matching a filter, most recently updated first.
    public func reports(_ filter: ReportFilter) throws(FieldSyncError) -> [Report] {
        try flush()
        defer { db.resetBusyStatements() }
        var sql = "SELECT head FROM reports WHERE 1"
        var args: [SQLiteValue] = []
        if let v = filter.county { sql += " AND county = ?"; args.append(.text(v)) }
        if let v = filter.lifecycle { sql += " AND lifecycle = ?"; args.append(.text(v)) }
        if let v = filter.status { sql += " AND status = ?"; args.append(.text(v)) }
        if let v = filter.serviceCode { sql += " AND service_code = ?"; args.append(.text(v)) }
        if let v = filter.text, !v.isEmpty { sql += " AND instr(search, ?) > 0"; args.append(.text(v.lowercased())) }
        if let v = filter.updatedSince {
            sql += " AND (updated_ms, updated_c) >= (?, ?)"
            args += [.int(Int64(v.millis)), .int(Int64(v.counter))]
        }
        sql += " ORDER BY updated_ms DESC, updated_c DESC, id LIMIT ? OFFSET ?"
        args += [.int(Int64(max(0, filter.limit))), .int(Int64(max(0, filter.offset)))]
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var heads: [ReportHead] = []
        while try s.step() { heads.append(try decodeHead(s.blob(0))) }
        var result: [Report] = []
        for h in heads { result.append(try view(h)) }
        return result
    }

    /// Every change of one report, in arrival order.
    public func history(of report: ReportID) throws(FieldSyncError) -> [Change] {
        try flush()
        defer { db.resetBusyStatements() }
        let s = try db.statement("""
            SELECT c.body FROM report_changes r JOIN changes c ON c.arrival = r.arrival
            WHERE r.report = ? ORDER BY r.arrival
            """).bind(.text(report.rawValue))
        var result: [Change] = []
        while try s.step() { result.append(try decodeChange(s.blob(0))) }
        return result
    }

    /// Conflict records matching a filter, by id.
    public func conflicts(_ filter: ConflictFilter) throws(FieldSyncError) -> [Conflict] {
        try flush()
        defer { db.resetBusyStatements() }
        var sql = "SELECT body FROM conflicts WHERE 1"
        var args: [SQLiteValue] = []
        if let v = filter.open { sql += " AND open = ?"; args.append(.int(v ? 1 : 0)) }
        if let v = filter.county { sql += " AND county = ?"; args.append(.text(v)) }
        if let v = filter.field { sql += " AND field = ?"; args.append(.text(v.rawValue)) }
        if let v = filter.report { sql += " AND report = ?"; args.append(.text(v.rawValue)) }
        if let v = filter.sinceArrival { sql += " AND arrival > ?"; args.append(.int(v)) }
        if let v = filter.sinceMillis { sql += " AND at_ms >= ?"; args.append(.int(Int64(v))) }
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        args += [.int(Int64(max(0, filter.limit))), .int(Int64(max(0, filter.offset)))]
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var result: [Conflict] = []
        while try s.step() { result.append(try decodeConflict(s.blob(0))) }
        return result
    }

    /// The full merged state as canonical JSON (the same bytes as `Replica.canonicalState()`).
    public func canonicalState() throws(FieldSyncError) -> Data {
        try canonicalState(county: nil)
    }

    /// The merged state of one county's reports (what a device of that county holds), or of all.
    public func canonicalState(county: String?) throws(FieldSyncError) -> Data {
        try flush()
        defer { db.resetBusyStatements() }
        let s = county == nil ? try db.statement("SELECT head FROM reports ORDER BY id")
            : try db.statement("SELECT head FROM reports WHERE county = ? ORDER BY id").bind(.text(county!))
        var heads: [ReportHead] = []
        while try s.step() { heads.append(try decodeHead(s.blob(0))) }
        var reports: [Report] = []
        for h in heads { reports.append(try view(h)) }
        let all = try conflicts(ConflictFilter(county: county, limit: Int(Int32.max)))
        return MergedState(reports: reports, open: all.filter(\.isOpen), resolved: all.filter { !$0.isOpen }).canonicalJSON()
    }

    // MARK: Device identity and cursors

    /// Makes this store the store of device `id` (once; a store belongs to one device).
    public func setIdentity(_ id: DeviceID) throws(FieldSyncError) {
        if let existing = try identity(), existing != id {
            throw FieldSyncError(.invalidIdentifier, "this store belongs to device \(existing); use a new store file for device \(id)")
        }
        try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES ('device_id', ?)").bind(.text(id.rawValue)).run()
    }

    /// The device this store belongs to, if it is a device store.
    public func identity() throws(FieldSyncError) -> DeviceID? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT value FROM meta WHERE key = 'device_id'")
        return try s.step() ? DeviceID(rawValue: s.text(0)) : nil
    }

    /// This store's device as an author: its last sequence number and clock, from its own log.
    public func localDevice() throws(FieldSyncError) -> LocalDevice {
        defer { db.resetBusyStatements() }
        guard let id = try identity() else {
            throw FieldSyncError(.invalidIdentifier, "this store has no device identity; enroll the device first")
        }
        let s = try db.statement("SELECT seq, hlc_ms, hlc_c FROM changes WHERE device = ? ORDER BY seq DESC LIMIT 1").bind(.text(id.rawValue))
        guard try s.step() else { return LocalDevice(id: id) }
        return LocalDevice(id: id, lastSeq: UInt64(s.int64(0)), clock: HybridTimestamp(millis: UInt64(s.int64(1)), counter: UInt32(s.int64(2))))
    }

    /// How far this store has synced with `peer` (0 if never).
    public func cursor(for peer: String) throws(FieldSyncError) -> Int64 {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT position FROM cursors WHERE peer = ?").bind(.text(peer))
        return try s.step() ? s.int64(0) : 0
    }

    /// Records how far this store has synced with `peer`.
    public func setCursor(_ position: Int64, for peer: String) throws(FieldSyncError) {
        try db.statement("INSERT OR REPLACE INTO cursors(peer, position) VALUES (?, ?)").bind(.text(peer), .int(position)).run()
    }

    /// Refused changes that contradicted stored ones, newest first.
    public func refusals(limit: Int = 100) throws(FieldSyncError) -> [Refusal] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT device, seq, code, message FROM refusals ORDER BY id DESC LIMIT ?").bind(.int(Int64(limit)))
        var result: [Refusal] = []
        while try s.step() {
            guard let d = DeviceID(rawValue: s.text(0)) else { continue }
            result.append(Refusal(dot: Dot(device: d, seq: UInt64(s.int64(1))), code: s.text(2), message: s.text(3)))
        }
        return result
    }

    /// What the store holds, checked from the database (integrity, logs, duplicates, counties).
    public func verification() throws(FieldSyncError) -> StoreVerification {
        try flush()
        defer { db.resetBusyStatements() }
        let integrity = try integrityCheck()
        var logs: [String: StoreVerification.LogSummary] = [:]
        let s = try db.statement("SELECT device, count(*), max(seq) FROM changes GROUP BY device")
        while try s.step() { logs[s.text(0)] = .init(count: Int(s.int64(1)), highest: UInt64(s.int64(2))) }
        let changes = Int(try db.scalar("SELECT count(*) FROM changes") ?? 0)
        let distinct = Int(try db.scalar("SELECT count(*) FROM (SELECT DISTINCT device, seq FROM changes)") ?? 0)
        var counties: [String] = []
        let c = try db.statement("SELECT DISTINCT county FROM reports ORDER BY county")
        while try c.step() { counties.append(c.text(0)) }
        return StoreVerification(integrity: integrity, changes: changes, duplicateDots: changes - distinct, logs: logs, counties: counties)
    }

    /// SQLite's `PRAGMA integrity_check` rows (`["ok"]` when the file is sound).
    public func integrityCheck() throws(FieldSyncError) -> [String] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("PRAGMA integrity_check")
        var rows: [String] = []
        while try s.step() { rows.append(s.text(0)) }
        return rows
    }

    // MARK: Coding

    private func decodeHead(_ data: Data) throws(FieldSyncError) -> ReportHead { try StoredForm.head(data) }
    private func decodeConflict(_ data: Data) throws(FieldSyncError) -> Conflict { try StoredForm.conflict(data) }
    private func decodeChange(_ data: Data) throws(FieldSyncError) -> Change { try StoredForm.change(data) }
}
