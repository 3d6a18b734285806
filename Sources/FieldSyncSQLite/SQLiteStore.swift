public import FieldSyncCore
public import FieldSyncStore
public import Foundation

/// A FieldSync store in one SQLite file: used by a device (its own log, changes received from
/// others, merged reports, the conflict log, sync cursors) and by the server (every device's
/// log, the arrival order that pull cursors follow, merged reports, the conflict log).
///
/// WAL mode; versioned migrations; prepared statements; each batch in one transaction, so it
/// lands whole or not at all. Ingest runs the same merge as the in-memory `Replica`.
public actor SQLiteStore: DeviceStore {
    /// Whose file this is: a device's (device tables only) or the server's (with the directory).
    public enum Role: String, Sendable, Hashable {
        /// A device's store: its log, what it received, merged reports, cursors, settings.
        case device
        /// The server's database: every log, and the directory of devices and operators.
        case server
    }

    /// How a store behaves.
    public struct Options: Sendable, Hashable {
        /// Whose file this is (the tables it holds).
        public var role = Role.device
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
        /// The bounds of the refusals quarantine.
        public var quarantine = RefusalQuarantine()

        /// The defaults: a device store.
        public init() {}

        /// The server's options: dense device logs, fsync at every commit.
        public static var server: Options {
            var o = Options()
            o.role = .server
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
    var headCache: [ReportID: ReportHead] = [:]
    // Report heads and open-conflict rows are derived from the change log, so they are written
    // lazily: committed batches leave them here, and `flush()` writes them in one transaction
    // with the arrival position they reflect. After a crash, `recover()` replays the changes
    // that arrived after that position. Reads flush first.
    var dirtyHeads: Set<ReportID> = []
    var unflushedChanges = 0

    /// Opens (creating and migrating if needed) the store at `path`.
    public init(path: String, options: Options = Options()) throws(FieldSyncError) {
        self.path = path
        self.options = options
        db = try SQLiteConnection(path: path)
        let mode = try db.statement("PRAGMA journal_mode = WAL")
        _ = try mode.step()
        try db.execute("PRAGMA synchronous = \(options.fullSync ? "FULL" : "NORMAL")")
        try Schema.migrate(db, role: options.role)
        try Self.recover(db)
    }

    /// Closes the database file. The store must not be used afterwards.
    public func close() {
        try? flush()
        db.close()
    }

    // MARK: Reading

    /// The stored change with this dot.
    public func storedChange(_ dot: Dot) throws(FieldSyncError) -> Change? {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq = ?")
            .bind(.text(dot.device.rawValue), .int(Int64(clamping: dot.seq)))
        guard try s.step() else { return nil }
        return try decodeChange(s.blob(0))
    }

    /// Changes that arrived after `cursor`, optionally only one county's, in arrival order.
    public func changes(after cursor: Int64, county: String?, limit: Int) throws(FieldSyncError) -> ChangePage {
        try changes(after: cursor, county: county, excludingDevice: nil, limit: limit)
    }

    /// Changes that arrived after `cursor`, leaving out one device's own (it has them). The
    /// cursor still moves past the changes left out.
    public func changes(
        after cursor: Int64, county: String?, excludingDevice: DeviceID?, limit: Int
    ) throws(FieldSyncError) -> ChangePage {
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
            rows.append(
                ChangePage.Entry(
                    arrival: last, change: try decodeChange(s.blob(1)), signature: s.isNull(2) ? nil : s.blob(2),
                    run: s.isNull(3) ? 1 : Int(s.int64(3))))
        }
        return ChangePage(changes: rows, cursor: last, hasMore: more)
    }

    /// One device's changes after `seq`, in sequence order.
    public func log(of device: DeviceID, after seq: UInt64 = 0, limit: Int = 1_000) throws(FieldSyncError) -> [Change] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT body FROM changes WHERE device = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(.text(device.rawValue), .int(Int64(clamping: seq)), .int(Int64(clamping: limit)))
        var result: [Change] = []
        while try s.step() { result.append(try decodeChange(s.blob(0))) }
        return result
    }

    /// One device's changes after `seq`, in sequence order, with their signatures as stored.
    public func signedLog(of device: DeviceID, after seq: UInt64, limit: Int) throws(FieldSyncError) -> [SignedChange] {
        defer { db.resetBusyStatements() }
        let s = try db.statement(
            "SELECT body, sig, sig_run FROM changes WHERE device = ? AND seq > ? ORDER BY seq LIMIT ?"
        )
        .bind(.text(device.rawValue), .int(Int64(clamping: seq)), .int(Int64(clamping: limit)))
        var result: [SignedChange] = []
        while try s.step() {
            result.append(
                SignedChange(
                    change: try decodeChange(s.blob(0)), signature: s.isNull(1) ? nil : s.blob(1),
                    run: s.isNull(2) ? 1 : Int(clamping: s.int64(2))))
        }
        return result
    }

    /// For every log held, its highest sequence number and how many of its changes are held.
    public func logExtents() throws(FieldSyncError) -> [DeviceID: LogExtent] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT device, max(seq), count(*) FROM changes GROUP BY device")
        var result: [DeviceID: LogExtent] = [:]
        while try s.step() {
            guard let d = DeviceID(rawValue: s.text(0)) else { continue }
            result[d] = LogExtent(head: UInt64(clamping: s.int64(1)), count: UInt64(clamping: s.int64(2)))
        }
        return result
    }

    /// The sequence numbers up to `through` of `device`'s log that are not held, ascending.
    public func missingSeqs(of device: DeviceID, through: UInt64, limit: Int) throws(FieldSyncError) -> [UInt64] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT seq FROM changes WHERE device = ? AND seq <= ? ORDER BY seq")
            .bind(.text(device.rawValue), .int(Int64(clamping: through)))
        var missing: [UInt64] = []
        var next: UInt64 = 1
        while missing.count < limit, try s.step() {
            let seq = UInt64(clamping: s.int64(0))
            while next < seq, missing.count < limit { missing.append(next); next += 1 }
            next = seq + 1
        }
        while next <= through, missing.count < limit { missing.append(next); next += 1 }
        return missing
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
        let n = try db.statement("SELECT device, seq, hlc_ms, hlc_c, text FROM notes WHERE report = ?").bind(
            .text(head.id.rawValue))
        while try n.step() {
            guard let d = DeviceID(rawValue: n.text(0)) else { continue }
            notes.append(
                Note(
                    dot: Dot(device: d, seq: UInt64(n.int64(1))),
                    hlc: HybridTimestamp(millis: UInt64(n.int64(2)), counter: UInt32(n.int64(3))), text: n.text(4)))
        }
        var media: [MediaAttachment] = []
        let m = try db.statement("SELECT device, seq, sha256, content_type, size FROM media WHERE report = ?").bind(
            .text(head.id.rawValue))
        while try m.step() {
            guard let d = DeviceID(rawValue: m.text(0)) else { continue }
            media.append(
                MediaAttachment(
                    dot: Dot(device: d, seq: UInt64(m.int64(1))),
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
        if let v = filter.ward { sql += " AND ward = ?"; args.append(.text(v)) }
        if let v = filter.tag { sql += " AND instr(tags, ?) > 0"; args.append(.text(" \(v) ")) }
        if let v = filter.createdFrom { sql += " AND created_ms >= ?"; args.append(.int(Int64(clamping: v))) }
        if let v = filter.createdTo { sql += " AND created_ms <= ?"; args.append(.int(Int64(clamping: v))) }
        if let v = filter.mediaMissing ? true : filter.hasMedia {
            sql += " AND \(v ? "" : "NOT ")EXISTS (SELECT 1 FROM media m WHERE m.report = reports.id)"
        }
        if let v = filter.hasOpenConflict {
            sql +=
                " AND \(v ? "" : "NOT ")EXISTS (SELECT 1 FROM conflicts c WHERE c.report = reports.id AND c.open = 1)"
        }
        sql += " ORDER BY \(filter.order.sql) LIMIT ? OFFSET ?"
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
        let s = try db.statement(
            """
            SELECT c.body FROM report_changes r JOIN changes c ON c.arrival = r.arrival
            WHERE r.report = ? ORDER BY r.arrival
            """
        ).bind(.text(report.rawValue))
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
        let s =
            county == nil
            ? try db.statement("SELECT head FROM reports ORDER BY id")
            : try db.statement("SELECT head FROM reports WHERE county = ? ORDER BY id").bind(.text(county!))
        var heads: [ReportHead] = []
        while try s.step() { heads.append(try decodeHead(s.blob(0))) }
        var reports: [Report] = []
        for h in heads { reports.append(try view(h)) }
        let all = try conflicts(ConflictFilter(county: county, limit: Int(Int32.max)))
        return MergedState(reports: reports, open: all.filter(\.isOpen), resolved: all.filter { !$0.isOpen })
            .canonicalJSON()
    }

    // MARK: Device identity and cursors

    /// Makes this store the store of device `id` (once; a store belongs to one device).
    public func setIdentity(_ id: DeviceID) throws(FieldSyncError) {
        if let existing = try identity(), existing != id {
            throw FieldSyncError(
                .invalidIdentifier, "this store belongs to device \(existing); use a new store file for device \(id)")
        }
        try db.statement("INSERT OR REPLACE INTO meta(key, value) VALUES ('device_id', ?)").bind(.text(id.rawValue))
            .run()
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
        let s = try db.statement("SELECT seq, hlc_ms, hlc_c FROM changes WHERE device = ? ORDER BY seq DESC LIMIT 1")
            .bind(.text(id.rawValue))
        guard try s.step() else { return LocalDevice(id: id) }
        return LocalDevice(
            id: id, lastSeq: UInt64(s.int64(0)),
            clock: HybridTimestamp(millis: UInt64(s.int64(1)), counter: UInt32(s.int64(2))))
    }

    /// How far this store has synced with `peer` (0 if never).
    public func cursor(for peer: String) throws(FieldSyncError) -> Int64 {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT position FROM cursors WHERE peer = ?").bind(.text(peer))
        return try s.step() ? s.int64(0) : 0
    }

    /// Records how far this store has synced with `peer`.
    public func setCursor(_ position: Int64, for peer: String) throws(FieldSyncError) {
        try db.statement("INSERT OR REPLACE INTO cursors(peer, position) VALUES (?, ?)").bind(
            .text(peer), .int(position)
        ).run()
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
        return StoreVerification(
            integrity: integrity, changes: changes, duplicateDots: changes - distinct, logs: logs, counties: counties)
    }

    /// Every table's rows in a canonical byte form (tables by name, rows sorted), after writing
    /// what is held in memory: equal snapshots mean byte-identical stored data. Tables named in
    /// `excluding` are left out (the hostile-input suite leaves out the refusals quarantine).
    public func tableSnapshot(excluding: Set<String> = []) throws(FieldSyncError) -> Data {
        try flush()
        defer { db.resetBusyStatements() }
        var names: [String] = []
        let t = try db.statement("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        while try t.step() { names.append(t.text(0)) }
        var out = Data()
        for name in names where !excluding.contains(name) {
            let s = try db.statement("SELECT * FROM \"\(name)\"")
            var rows: [Data] = []
            while try s.step() {
                var row = Data()
                for c in 0..<s.columnCount { row += s.canonicalBytes(c) }
                rows.append(row)
            }
            out += Data("table \(name) \(rows.count)\n".utf8)
            for row in rows.sorted(by: { $0.lexicographicallyPrecedes($1) }) { out += row + Data("\n".utf8) }
        }
        return out
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
