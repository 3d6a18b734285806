public import FieldSyncCore
public import FieldSyncStore
public import Foundation
import NIOCore
import PostgresNIO

/// Reading the logs, reports and conflict log.
extension PostgresStore {
    /// The stored change with this dot.
    public func storedChange(_ dot: Dot) async throws(FieldSyncError) -> Change? {
        let body = try await withConnection { conn in
            try await conn.rows(
                "SELECT body FROM changes WHERE device = \(dot.device.rawValue) AND seq = \(Int64(clamping: dot.seq))",
                self.logger
            )
            .first.map { try $0.decode(Data.self) }
        }
        return try body.map { data throws(FieldSyncError) in try StoredForm.change(data) }
    }

    /// The highest sequence number held of a device's log (0 if none).
    public func highestSeq(of device: DeviceID) async throws(FieldSyncError) -> UInt64 {
        let h = try await withConnection { conn in
            try await conn.rows("SELECT highest_seq FROM device_logs WHERE device = \(device.rawValue)", self.logger)
                .first.map { try $0.decode(Int64.self) }
        }
        return UInt64(h ?? 0)
    }

    /// The highest sequence number held of each of these logs, in one query.
    public func highestSeqs(of devices: [DeviceID]) async throws(FieldSyncError) -> [DeviceID: UInt64] {
        let names = devices.map(\.rawValue)
        var result = Dictionary(uniqueKeysWithValues: devices.map { ($0, UInt64(0)) })
        let rows = try await withConnection { conn in
            try await conn.rows("SELECT device, highest_seq FROM device_logs WHERE device = ANY(\(names))", self.logger)
                .map { try $0.decode((String, Int64).self) }
        }
        for (d, h) in rows { if let id = DeviceID(rawValue: d) { result[id] = UInt64(h) } }
        return result
    }

    /// For every device, the highest sequence number held.
    public func logHeads() async throws(FieldSyncError) -> [DeviceID: UInt64] {
        try await withConnection { conn in
            var result: [DeviceID: UInt64] = [:]
            for row in try await conn.rows("SELECT device, highest_seq FROM device_logs", self.logger) {
                let (d, h) = try row.decode((String, Int64).self)
                if let id = DeviceID(rawValue: d) { result[id] = UInt64(h) }
            }
            return result
        }
    }

    /// The number of changes held.
    public func changeCount() async throws(FieldSyncError) -> Int {
        try await withConnection { conn in
            try await conn.rows("SELECT count(*) FROM changes", self.logger).first!.decode(Int.self)
        }
    }

    /// Changes after pull position `cursor`, in pull order. Only published positions are read:
    /// they are assigned one publisher at a time, after commit, so none ever appears below one
    /// a reader has seen (protocol/concurrency.md).
    public func changes(
        after cursor: Int64, county: String?, excludingDevice: DeviceID?, limit: Int
    ) async throws(FieldSyncError) -> ChangePage {
        try await publishPending()
        var sql = "SELECT arrival, body, sig, sig_run FROM changes WHERE arrival > $1"
        var binds = PostgresBindings()
        binds.append(cursor)
        if let county { binds.append(county); sql += " AND county = $\(binds.count)" }
        if let excludingDevice { binds.append(excludingDevice.rawValue); sql += " AND device <> $\(binds.count)" }
        binds.append(Int64(limit + 1))
        sql += " ORDER BY arrival LIMIT $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try await withConnection { conn in
            try await conn.rows(query, self.logger).map { try $0.decode((Int64, Data, Data?, Int32?).self) }
        }
        var entries: [ChangePage.Entry] = []
        var last = cursor
        for (arrival, body, sig, run) in rows.prefix(limit) {
            last = arrival
            entries.append(
                ChangePage.Entry(
                    arrival: arrival, change: try StoredForm.change(body), signature: sig, run: run.map(Int.init) ?? 1))
        }
        return ChangePage(changes: entries, cursor: last, hasMore: rows.count > limit)
    }

    /// One report as people see it.
    public func report(_ id: ReportID) async throws(FieldSyncError) -> Report? {
        let head = try await withConnection { conn in
            try await conn.rows("SELECT head FROM reports WHERE id = \(id.rawValue)", self.logger).first.map {
                try $0.decode(Data.self)
            }
        }
        guard let head else { return nil }
        return try await views([try StoredForm.head(head)]).first
    }

    /// Reports matching a filter, most recently updated first.
    public func reports(_ filter: ReportFilter) async throws(FieldSyncError) -> [Report] {
        var sql = "SELECT head FROM reports WHERE true"
        var binds = PostgresBindings()
        if let v = filter.county { binds.append(v); sql += " AND county = $\(binds.count)" }
        if let v = filter.lifecycle { binds.append(v); sql += " AND lifecycle = $\(binds.count)" }
        if let v = filter.status { binds.append(v); sql += " AND status = $\(binds.count)" }
        if let v = filter.serviceCode { binds.append(v); sql += " AND service_code = $\(binds.count)" }
        if let v = filter.text, !v.isEmpty {
            binds.append(v.lowercased()); sql += " AND strpos(search, $\(binds.count)) > 0"
        }
        if let v = filter.updatedSince {
            binds.append(Int64(v.millis)); binds.append(Int64(v.counter))
            sql += " AND (updated_ms, updated_c) >= ($\(binds.count - 1), $\(binds.count))"
        }
        if let v = filter.ward { binds.append(v); sql += " AND ward = $\(binds.count)" }
        if let v = filter.tag { binds.append(" \(v) "); sql += " AND strpos(tags, $\(binds.count)) > 0" }
        if let v = filter.createdFrom { binds.append(Int64(clamping: v)); sql += " AND created_ms >= $\(binds.count)" }
        if let v = filter.createdTo { binds.append(Int64(clamping: v)); sql += " AND created_ms <= $\(binds.count)" }
        if let v = filter.mediaMissing ? true : filter.hasMedia {
            sql += " AND \(v ? "" : "NOT ")EXISTS (SELECT 1 FROM media m WHERE m.report = reports.id)"
        }
        if let v = filter.hasOpenConflict {
            sql += " AND \(v ? "" : "NOT ")EXISTS (SELECT 1 FROM conflicts c WHERE c.report = reports.id AND c.open)"
        }
        binds.append(Int64(max(0, filter.limit))); binds.append(Int64(max(0, filter.offset)))
        sql += " ORDER BY \(filter.order.sql) LIMIT $\(binds.count - 1) OFFSET $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let bodies = try await withConnection { conn in
            try await conn.rows(query, self.logger).map { try $0.decode(Data.self) }
        }
        var heads: [ReportHead] = []
        for b in bodies { heads.append(try StoredForm.head(b)) }
        return try await views(heads)
    }

    /// Reports as people see them: heads with their notes and media (two queries for all).
    private func views(_ heads: [ReportHead]) async throws(FieldSyncError) -> [Report] {
        guard !heads.isEmpty else { return [] }
        let ids = heads.map(\.id.rawValue)
        let (noteRows, mediaRows) = try await withConnection { conn in
            let n = try await conn.rows(
                "SELECT report, device, seq, hlc_ms, hlc_c, text FROM notes WHERE report = ANY(\(ids))", self.logger
            )
            .map { try $0.decode((String, String, Int64, Int64, Int64, String).self) }
            let m = try await conn.rows(
                "SELECT report, device, seq, sha256, content_type, size FROM media WHERE report = ANY(\(ids)) ORDER BY report, sha256",
                self.logger
            )
            .map { try $0.decode((String, String, Int64, String, String, Int64).self) }
            return (n, m)
        }
        var notes: [String: [Note]] = [:], media: [String: [MediaAttachment]] = [:]
        for (r, d, seq, ms, c, text) in noteRows {
            guard let d = DeviceID(rawValue: d) else { continue }
            notes[r, default: []].append(
                Note(
                    dot: Dot(device: d, seq: UInt64(seq)), hlc: HybridTimestamp(millis: UInt64(ms), counter: UInt32(c)),
                    text: text))
        }
        for (r, d, seq, sha, type, size) in mediaRows {
            guard let d = DeviceID(rawValue: d) else { continue }
            media[r, default: []].append(
                MediaAttachment(
                    dot: Dot(device: d, seq: UInt64(seq)),
                    media: MediaRef(sha256: sha, contentType: type, size: UInt64(size))))
        }
        return heads.map { Report(head: $0, notes: notes[$0.id.rawValue] ?? [], media: media[$0.id.rawValue] ?? []) }
    }

    /// Every change of one report, in the order the store applied them (stage order).
    public func history(of report: ReportID) async throws(FieldSyncError) -> [Change] {
        let bodies = try await withConnection { conn in
            try await conn.rows(
                "SELECT body FROM changes WHERE report = \(report.rawValue) ORDER BY stage", self.logger
            ).map { try $0.decode(Data.self) }
        }
        var result: [Change] = []
        for b in bodies { result.append(try StoredForm.change(b)) }
        return result
    }

    /// Conflict records matching a filter, by id. `sinceArrival` compares with the position the
    /// record was written at (the resolving change's stage, or the batch's last).
    public func conflicts(_ filter: ConflictFilter) async throws(FieldSyncError) -> [Conflict] {
        var sql = "SELECT body FROM conflicts WHERE true"
        var binds = PostgresBindings()
        if let v = filter.open { binds.append(v); sql += " AND open = $\(binds.count)" }
        if let v = filter.county { binds.append(v); sql += " AND county = $\(binds.count)" }
        if let v = filter.field { binds.append(v.rawValue); sql += " AND field = $\(binds.count)" }
        if let v = filter.report { binds.append(v.rawValue); sql += " AND report = $\(binds.count)" }
        if let v = filter.sinceArrival { binds.append(v); sql += " AND arrival > $\(binds.count)" }
        if let v = filter.sinceMillis { binds.append(Int64(v)); sql += " AND at_ms >= $\(binds.count)" }
        binds.append(Int64(max(0, filter.limit))); binds.append(Int64(max(0, filter.offset)))
        sql += " ORDER BY id LIMIT $\(binds.count - 1) OFFSET $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let bodies = try await withConnection { conn in
            try await conn.rows(query, self.logger).map { try $0.decode(Data.self) }
        }
        var result: [Conflict] = []
        for b in bodies { result.append(try StoredForm.conflict(b)) }
        return result
    }

    /// The merged state of one county's reports, or of all, as canonical JSON.
    public func canonicalState(county: String?) async throws(FieldSyncError) -> Data {
        var binds = PostgresBindings()
        var sql = "SELECT head FROM reports"
        if let county { binds.append(county); sql += " WHERE county = $1" }
        sql += " ORDER BY id"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let bodies = try await withConnection { conn in
            try await conn.rows(query, self.logger).map { try $0.decode(Data.self) }
        }
        var heads: [ReportHead] = []
        for b in bodies { heads.append(try StoredForm.head(b)) }
        var reports: [Report] = []
        var i = 0
        while i < heads.count {  // notes and media in slices, not one query per report
            reports += try await views(Array(heads[i..<min(heads.count, i + 2_000)]))
            i += 2_000
        }
        let all = try await conflicts(ConflictFilter(county: county, limit: Int(Int32.max)))
        return MergedState(reports: reports, open: all.filter(\.isOpen), resolved: all.filter { !$0.isOpen })
            .canonicalJSON()
    }

    /// What the database holds, checked: unpublished or duplicated positions, logs that disagree
    /// with their changes, duplicated dots (the schema forbids them; counted to prove it).
    public func verification() async throws(FieldSyncError) -> StoreVerification {
        try await publishPending()
        return try await withConnection { conn in
            var problems: [String] = []
            let unpublished = try await conn.rows("SELECT count(*) FROM changes WHERE arrival IS NULL", self.logger)
                .first!.decode(Int.self)
            if unpublished > 0 { problems.append("\(unpublished) committed changes have no pull position") }
            let (count, maxArrival, distinctArrivals) = try await conn.rows(
                "SELECT count(*), coalesce(max(arrival), 0), count(DISTINCT arrival) FROM changes", self.logger
            )
            .first!.decode((Int, Int64, Int).self)
            let published = try await conn.rows("SELECT last_arrival FROM publish_state WHERE id = 1", self.logger)
                .first!.decode(Int64.self)
            if distinctArrivals != count || maxArrival != Int64(count) || published != maxArrival {
                problems.append(
                    "pull positions are not 1…\(count) (highest \(maxArrival), distinct \(distinctArrivals), published \(published))"
                )
            }
            var logs: [String: StoreVerification.LogSummary] = [:]
            for row in try await conn.rows(
                "SELECT device, count(*), max(seq) FROM changes GROUP BY device", self.logger)
            {
                let (d, n, h) = try row.decode((String, Int, Int64).self)
                logs[d] = .init(count: n, highest: UInt64(h))
            }
            for row in try await conn.rows("SELECT device, highest_seq, change_count FROM device_logs", self.logger) {
                let (d, h, n) = try row.decode((String, Int64, Int).self)
                if logs[d]?.highest != UInt64(h) || logs[d]?.count != n {
                    problems.append("device_logs row of \(d) disagrees with its changes")
                }
            }
            let distinct = try await conn.rows(
                "SELECT count(*) FROM (SELECT DISTINCT device, seq FROM changes) d", self.logger
            ).first!.decode(Int.self)
            let counties = try await conn.rows("SELECT DISTINCT county FROM reports ORDER BY county", self.logger).map {
                try $0.decode(String.self)
            }
            return StoreVerification(
                integrity: problems.isEmpty ? ["ok"] : problems, changes: count, duplicateDots: count - distinct,
                logs: logs, counties: counties)
        }
    }
}

extension PostgresStore {
    /// The reports that attach the blob `sha256`, with their counties and what each declared.
    public func mediaReferences(_ sha256: String) async throws(FieldSyncError) -> [MediaReference] {
        try await withConnection { conn in
            var result: [MediaReference] = []
            for row in try await conn.rows(
                """
                SELECT m.report, r.county, m.content_type, m.size FROM media m JOIN reports r ON r.id = m.report
                WHERE m.sha256 = \(sha256) ORDER BY m.report
                """, self.logger)
            {
                let (report, county, type, size) = try row.decode((String, String, String, Int64).self)
                guard let id = ReportID(rawValue: report) else { continue }
                result.append(
                    MediaReference(
                        sha256: sha256, report: id, county: county, contentType: type, size: UInt64(clamping: size)))
            }
            return result
        }
    }

    /// Every attachment of the counties given (all when nil), by hash then report, a page of them.
    public func attachments(
        counties: [String]?, offset: Int, limit: Int
    ) async throws(FieldSyncError) -> [MediaReference] {
        let all = counties == nil
        let list = counties ?? []
        return try await withConnection { conn in
            var result: [MediaReference] = []
            for row in try await conn.rows(
                """
                SELECT m.sha256, m.report, r.county, m.content_type, m.size, m.device FROM media m JOIN reports r ON r.id = m.report
                WHERE \(all) OR r.county = ANY(\(list)::text[])
                ORDER BY m.sha256, m.report LIMIT \(Int64(max(0, limit))) OFFSET \(Int64(max(0, offset)))
                """, self.logger)
            {
                let (sha, report, county, type, size, device) = try row.decode(
                    (String, String, String, String, Int64, String).self)
                guard let id = ReportID(rawValue: report) else { continue }
                result.append(
                    MediaReference(
                        sha256: sha, report: id, county: county, contentType: type, size: UInt64(clamping: size),
                        device: DeviceID(rawValue: device)))
            }
            return result
        }
    }
}
