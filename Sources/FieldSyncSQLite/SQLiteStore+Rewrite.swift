public import FieldSyncCore
public import FieldSyncStore
import Foundation

/// Rewriting a device's log: the one operation that removes changes from a store. A device uses
/// it to recover from a forked log (restored from a backup, or its store copied to another
/// phone), to drop a relayed copy the server refused as a reused dot, and to correct the
/// timestamps of changes written under a wrong clock before they leave it. Never on a server.
extension SQLiteStore {
    /// Removes `removing` (and every change that depends on one of them, unless `adding` puts a
    /// change back under the same dot), inserts `adding` in order, and rebuilds the merged state
    /// from the log — in one transaction: if the result
    /// cannot be replayed, nothing changes and the error says why.
    @discardableResult
    public func rewrite(removing: Set<Dot>, adding: [SignedChange]) throws(FieldSyncError) -> LogRewrite {
        guard !options.requireContiguousLogs else {
            throw FieldSyncError(.invalidRequest, "a server's log is never rewritten")
        }
        try flush()
        defer { db.resetBusyStatements() }
        let rewrite = try db.transaction { () throws(FieldSyncError) -> LogRewrite in
            // A dot re-added (a change re-timed in place) is replaced, not removed: what depends on
            // it stays.
            let replaced = Set(adding.map(\.change.dot))
            let removed = try closure(of: removing.subtracting(replaced)).union(removing)
            for dot in removed {
                try db.statement("DELETE FROM changes WHERE device = ? AND seq = ?")
                    .bind(.text(dot.device.rawValue), .int(Int64(clamping: dot.seq))).run()
            }
            for signed in adding { try insertRaw(signed) }
            try db.execute(
                """
                DELETE FROM reports; DELETE FROM conflicts; DELETE FROM notes; DELETE FROM media; DELETE FROM report_changes;
                DELETE FROM device_logs;
                INSERT OR REPLACE INTO meta(key, value) VALUES ('heads_through', '0');
                INSERT INTO device_logs(device, highest_seq, change_count) SELECT device, max(seq), count(*) FROM changes GROUP BY device;
                """)
            try Self.replayUnflushed(db)
            return LogRewrite(
                removed: removed.subtracting(replaced).sorted(), dependents: removed.subtracting(removing).sorted())
        }
        headCache.removeAll()
        dirtyHeads.removeAll()
        unflushedChanges = 0
        return rewrite
    }

    /// `dots` and every held change that depends on one of them (its report's context names a
    /// removed change of the same report, or it resolves one), to a fixed point.
    private func closure(of dots: Set<Dot>) throws(FieldSyncError) -> Set<Dot> {
        Set(try dependencies(of: dots).keys).union(dots)
    }

    /// Every held change that depends on one of `dots` (directly or through another), with the
    /// one of `dots` it depends on.
    public func dependents(of dots: Set<Dot>) throws(FieldSyncError) -> [(Change, Dot)] {
        defer { db.resetBusyStatements() }
        let roots = try dependencies(of: dots)
        var result: [(Change, Dot)] = []
        for (dot, root) in roots.sorted(by: { $0.key < $1.key }) {
            if let c = try storedChange(dot) { result.append((c, root)) }
        }
        return result
    }

    /// Changes depending on `dots` (not themselves in `dots`), each with its root in `dots`.
    private func dependencies(of dots: Set<Dot>) throws(FieldSyncError) -> [Dot: Dot] {
        var root: [Dot: Dot] = [:]
        for d in dots { root[d] = d }
        var firstRemoved: [ReportID: [DeviceID: (seq: UInt64, root: Dot)]] = [:]
        let s = try db.statement("SELECT body FROM changes ORDER BY arrival")
        defer { s.reset() }
        while try s.step() {
            let c = try StoredForm.change(s.blob(0))
            var via = dots.contains(c.dot) ? c.dot : nil
            if via == nil, let seen = firstRemoved[c.report] {
                via =
                    c.context.entries.lazy.compactMap { e in seen[e.device].flatMap { $0.seq <= e.seq ? $0.root : nil }
                    }.first
            }
            if via == nil { via = c.resolves.values.lazy.flatMap { $0 }.compactMap { root[$0] }.first }
            guard let r = via else { continue }
            root[c.dot] = root[r] ?? r
            let known = firstRemoved[c.report]?[c.dot.device]
            if known == nil || c.dot.seq < known!.seq {
                firstRemoved[c.report, default: [:]][c.dot.device] = (c.dot.seq, root[c.dot]!)
            }
        }
        for d in dots { root[d] = nil }
        return root
    }

    private func insertRaw(_ signed: SignedChange) throws(FieldSyncError) {
        let c = signed.change
        try options.limits.validate(c)
        try db.statement(
            """
            INSERT INTO changes(device, seq, report, county, hlc_ms, hlc_c, body, sig, sig_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .text(c.dot.device.rawValue), .int(Int64(clamping: c.dot.seq)), .text(c.report.rawValue), .text(c.county),
            .int(Int64(clamping: c.hlc.millis)), .int(Int64(c.hlc.counter)), .blob(ChangeCodec.encodeData(c)),
            signed.signature.map(SQLiteValue.blob) ?? .null,
            signed.signature != nil && signed.run > 1 ? .int(Int64(signed.run)) : .null
        ).run()
    }

    /// Writes a consistent copy of the store to `path` (what a phone's backup holds).
    public func backup(to path: String) throws(FieldSyncError) {
        try flush()
        defer { db.resetBusyStatements() }
        try db.statement("VACUUM INTO ?").bind(.text(path)).run()
        chmod(path, 0o600)
    }

    /// This device's own changes from `seq` on, in sequence order, with their signatures.
    public func ownLog(from seq: UInt64) throws(FieldSyncError) -> [SignedChange] {
        guard let me = try identity() else { return [] }
        defer { db.resetBusyStatements() }
        let s = try db.statement("SELECT body, sig, sig_run FROM changes WHERE device = ? AND seq >= ? ORDER BY seq")
            .bind(.text(me.rawValue), .int(Int64(clamping: seq)))
        var result: [SignedChange] = []
        while try s.step() {
            result.append(
                SignedChange(
                    change: try StoredForm.change(s.blob(0)), signature: s.isNull(1) ? nil : s.blob(1),
                    run: s.isNull(2) ? 1 : Int(s.int64(2))))
        }
        return result
    }
}
