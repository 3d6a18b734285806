public import FieldSyncCore
public import FieldSyncStore
public import Foundation

/// The refusals quarantine on SQLite (`RefusalQuarantine` decides what is kept). On a device,
/// the same records are the changes set aside: refused by the server or at the door.
extension SQLiteStore {
    /// Records refused changes, within the quarantine's bounds; a refusal of a dot and code seen
    /// before bumps its count. Best effort: a failure here never fails the ingest it follows.
    func quarantine(_ refused: [(RefusedChange, Change)], via: DeviceID?, nowMillis: UInt64 = SQLiteStore.nowMillis()) {
        let kept = refused.filter { options.quarantine.records($0.0) }
        guard !kept.isEmpty else { return }
        defer { db.resetBusyStatements() }
        try? db.transaction { () throws(FieldSyncError) in
            var usage: [String: RefusalQuarantine.Usage] = [:]
            for (verdict, change) in kept {
                let sender = via?.rawValue ?? change.dot.device.rawValue
                try db.statement(
                    "UPDATE refusals SET times = times + 1, at_ms = ? WHERE device = ? AND seq = ? AND code = ?"
                )
                .bind(
                    .int(Int64(clamping: nowMillis)), .text(change.dot.device.rawValue),
                    .int(Int64(clamping: change.dot.seq)),
                    .text(verdict.code.rawValue)
                ).run()
                if db.changes > 0 { continue }
                var u: RefusalQuarantine.Usage
                if let known = usage[sender] { u = known } else { u = try quarantineUsage(of: sender) }
                let full = ChangeCodec.encodeData(change)
                let body = options.quarantine.keepsBody(verdict, size: full.count) ? full : Data()
                guard options.quarantine.admit(size: body.count, into: &u) else {
                    try db.statement(
                        """
                        INSERT INTO refusal_overflow(via, dropped) VALUES (?, 1)
                        ON CONFLICT(via) DO UPDATE SET dropped = dropped + 1
                        """
                    ).bind(.text(sender)).run()
                    usage[sender] = u
                    continue
                }
                usage[sender] = u
                try db.statement(
                    """
                    INSERT INTO refusals(at_ms, device, seq, code, message, body, via, county, depends_on)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
                ).bind(
                    .int(Int64(clamping: nowMillis)), .text(change.dot.device.rawValue),
                    .int(Int64(clamping: change.dot.seq)),
                    .text(verdict.code.rawValue), .text(verdict.message), .blob(body),
                    via.map { .text($0.rawValue) } ?? .null, .text(change.county),
                    verdict.dependsOn.map { .text($0.description) } ?? .null
                ).run()
            }
        }
    }

    /// Records one refusal that no change carries, within the quarantine's bounds.
    public func recordRefusal(_ verdict: RefusedChange, county: String, via: DeviceID?) {
        defer { db.resetBusyStatements() }
        let sender = via?.rawValue ?? verdict.dot.device.rawValue
        guard var usage = try? quarantineUsage(of: sender), options.quarantine.admit(size: 0, into: &usage) else {
            return
        }
        try? db.statement(
            """
            INSERT INTO refusals(at_ms, device, seq, code, message, body, via, county, depends_on) VALUES (?, ?, ?, ?, ?, x'', ?, ?, NULL)
            ON CONFLICT(device, seq, code) DO UPDATE SET times = times + 1, at_ms = excluded.at_ms, message = excluded.message
            """
        ).bind(
            .int(Int64(clamping: Self.nowMillis())), .text(verdict.dot.device.rawValue),
            .int(Int64(clamping: verdict.dot.seq)),
            .text(verdict.code.rawValue), .text(verdict.message), via.map { .text($0.rawValue) } ?? .null, .text(county)
        ).run()
    }

    private func quarantineUsage(of sender: String) throws(FieldSyncError) -> RefusalQuarantine.Usage {
        let s = try db.statement(
            """
            SELECT (SELECT count(*) FROM refusals WHERE coalesce(via, device) = ?),
                   (SELECT coalesce(sum(length(body)), 0) FROM refusals WHERE coalesce(via, device) = ?),
                   (SELECT count(*) FROM refusals), (SELECT coalesce(sum(length(body)), 0) FROM refusals)
            """
        ).bind(.text(sender), .text(sender))
        defer { s.reset() }
        guard try s.step() else { return .init() }
        return .init(
            deviceRows: Int(s.int64(0)), deviceBytes: Int(s.int64(1)), rows: Int(s.int64(2)), bytes: Int(s.int64(3)))
    }

    /// Quarantined refusals (on a device: changes set aside), newest first.
    public func refusals(_ filter: RefusalFilter) throws(FieldSyncError) -> [Refusal] {
        defer { db.resetBusyStatements() }
        var sql = "SELECT device, seq, code, message, depends_on, via, times, at_ms FROM refusals WHERE 1"
        var args: [SQLiteValue] = []
        if let counties = filter.counties {
            sql += " AND county IN (\(counties.map { _ in "?" }.joined(separator: ", ")))"
            args += counties.map(SQLiteValue.text)
        }
        if let via = filter.via { sql += " AND via = ?"; args.append(.text(via)) }
        sql += " ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?"
        args += [.int(Int64(max(0, filter.limit))), .int(Int64(max(0, filter.offset)))]
        let s = try db.statement(sql)
        for (i, a) in args.enumerated() { s.bind(a, at: Int32(i + 1)) }
        var result: [Refusal] = []
        while try s.step() {
            guard let d = DeviceID(rawValue: s.text(0)) else { continue }
            result.append(
                Refusal(
                    dot: Dot(device: d, seq: UInt64(clamping: s.int64(1))), code: s.text(2), message: s.text(3),
                    dependsOn: s.isNull(4) ? nil : Dot(parsing: s.text(4)), via: s.isNull(5) ? nil : s.text(5),
                    times: Int(s.int64(6)), atMillis: UInt64(clamping: s.int64(7))))
        }
        return result
    }

    /// How many refusals are kept, and how many were counted without being stored.
    public func refusalSummary() throws(FieldSyncError) -> RefusalSummary {
        RefusalSummary(
            stored: Int(try db.scalar("SELECT count(*) FROM refusals") ?? 0),
            dropped: Int(try db.scalar("SELECT coalesce(sum(dropped), 0) FROM refusal_overflow") ?? 0))
    }

    /// Sets changes aside on a device, with the verdicts the server (or a check at the door)
    /// gave: each keeps its body here (the change itself may later leave the log, when the
    /// device moves its later work down to keep its log dense), is never pushed again, and
    /// `refusals` lists it.
    public func setAside(_ verdicts: [RefusedChange], by sender: String = "server") throws(FieldSyncError) {
        defer { db.resetBusyStatements() }
        try db.transaction { () throws(FieldSyncError) in
            for v in verdicts where v.isFinal {
                try db.statement(
                    """
                    INSERT INTO refusals(at_ms, device, seq, code, message, body, via, county, depends_on)
                    VALUES (?, ?, ?, ?, ?, coalesce((SELECT body FROM changes WHERE device = ? AND seq = ?), x''), ?, NULL, ?)
                    ON CONFLICT(device, seq, code) DO UPDATE SET times = times + 1, at_ms = excluded.at_ms
                    """
                ).bind(
                    .int(Int64(clamping: Self.nowMillis())), .text(v.dot.device.rawValue),
                    .int(Int64(clamping: v.dot.seq)),
                    .text(v.code.rawValue), .text(v.message), .text(v.dot.device.rawValue),
                    .int(Int64(clamping: v.dot.seq)),
                    .text(sender), v.dependsOn.map { .text($0.description) } ?? .null
                ).run()
            }
        }
    }

    /// The changes set aside, by dot, with the body each was set aside with (empty when unknown):
    /// a held change with the same dot and that body (or any, when empty) is never pushed again.
    public func setAsideBodies() throws(FieldSyncError) -> [Dot: Data] {
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT device, seq, body FROM refusals")
        var result: [Dot: Data] = [:]
        while try s.step() {
            guard let d = DeviceID(rawValue: s.text(0)) else { continue }
            let dot = Dot(device: d, seq: UInt64(clamping: s.int64(1)))
            let body = s.blob(2)
            if result[dot].map({ !$0.isEmpty }) ?? true { result[dot] = body.isEmpty ? Data() : body }
        }
        return result
    }

    /// The number of changes set aside.
    public func setAsideCount() throws(FieldSyncError) -> Int {
        Int(try db.scalar("SELECT count(DISTINCT device || ':' || seq) FROM refusals") ?? 0)
    }

    /// Milliseconds since the epoch, now.
    static func nowMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
}
