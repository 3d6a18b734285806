public import FieldSyncCore
public import FieldSyncStore
public import Foundation
import NIOCore
import PostgresNIO

/// Ingest, the server's own writes, and publishing the pull order.
extension PostgresStore {
    /// Applies a batch change by change (or, `atomic`, whole or not at all), then publishes it to
    /// the pull order. Concurrent batches from other daemons that touch the same reports wait for
    /// each other (bucket row locks). Refused changes go to the bounded quarantine.
    public func ingest(
        signed changes: [SignedChange], preRefused: [Dot: FieldSyncError], atomic: Bool,
        via: DeviceID?
    ) async throws(FieldSyncError) -> IngestResult {
        guard !changes.isEmpty else { return IngestResult() }
        let outcome = try await transaction { conn in
            try await self.ingest(changes, preRefused: preRefused, atomic: atomic, on: conn)
        }
        await quarantine(atomic ? Array(outcome.refused.prefix(1)) : outcome.refused, via: via)
        if atomic, let (first, _) = outcome.refused.first { throw first.error }
        if outcome.result.applied > 0 {
            options.faults?.reach(.beforePublish)
            try await publish()
        }
        return outcome.result
    }

    /// Writes a new change authored by the store's identity (the server) and applies it. The
    /// author's log is locked for the transaction, so daemons sharing the identity never reuse
    /// a sequence number.
    public func write(
        _ ops: [ReportOperation], to report: ReportID, county: String, wallMillis: UInt64,
        signer: @Sendable (Change) -> Data?
    ) async throws(FieldSyncError) -> Change {
        guard let id = try await identity() else {
            throw FieldSyncError(
                .invalidIdentifier, "this database has no server identity yet; start fieldsyncd on it once")
        }
        let limits = options.limits
        let outcome = try await transaction { conn -> (Change, Outcome) in
            try await conn.run(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("author:" + id.rawValue), 0))", self.logger)
            let last = try await conn.rows(
                "SELECT seq, hlc_ms, hlc_c FROM changes WHERE device = \(id.rawValue) ORDER BY seq DESC LIMIT 1",
                self.logger)
            var device = LocalDevice(id: id)
            if let row = last.first {
                let (seq, ms, c) = try row.decode((Int64, Int64, Int64).self)
                device = LocalDevice(
                    id: id, lastSeq: UInt64(seq), clock: HybridTimestamp(millis: UInt64(ms), counter: UInt32(c)))
            }
            let heads = try await conn.rows("SELECT head FROM reports WHERE id = \(report.rawValue)", self.logger)
            var head: ReportHead?
            if let row = heads.first { head = try StoredForm.head(try row.decode(Data.self)) }
            let change = try device.makeChange(
                report: report, county: county, head: head, ops: ops, wallMillis: wallMillis, limits: limits)
            let outcome = try await self.ingest(
                [SignedChange(change: change, signature: signer(change))], preRefused: [:],
                atomic: true, on: conn)
            if let (first, _) = outcome.refused.first { throw first.error }
            return (change, outcome)
        }
        try await publish()
        return outcome.0
    }

    /// What one ingest transaction did, and the changes it refused (quarantined after it).
    struct Outcome: Sendable {
        var result = IngestResult()
        var refused: [(RefusedChange, Change)] = []
    }

    /// The batch's work inside its transaction: lock, load, merge in memory, write.
    private func ingest(
        _ changes: [SignedChange], preRefused: [Dot: FieldSyncError], atomic: Bool,
        on conn: PostgresConnection
    ) async throws -> Outcome {
        try await lockBuckets(of: changes, on: conn)
        var source = try await preload(changes, on: conn)
        let plan = try await decide(changes, preRefused: preRefused, from: &source, on: conn)
        if atomic, !plan.refused.isEmpty { return Outcome(result: plan.result, refused: plan.refused) }
        guard !plan.rows.isEmpty else { return Outcome(result: plan.result, refused: plan.refused) }
        let stages = try await insert(plan.rows, on: conn)
        let lastStage = stages.values.max() ?? 0
        var result = plan.result
        result.lastArrival = lastStage
        try await writeHeads(plan, lastStage: lastStage, stages: stages, on: conn)
        options.faults?.reach(.midBatch)
        return Outcome(result: result, refused: plan.refused)
    }

    /// 1. Locks the reports' buckets in ascending order (no deadlock between batches).
    private func lockBuckets(of changes: [SignedChange], on conn: PostgresConnection) async throws {
        let buckets = Array(Set(changes.map { Self.bucket(of: $0.change.report) })).sorted()
        try await conn.run(
            "SELECT bucket FROM report_locks WHERE bucket = ANY(\(buckets)) ORDER BY bucket FOR UPDATE", logger)
    }

    /// 2. Loads what the batch touches, now that no other batch can change it (one query): the
    ///    reports' heads, the batch's dots already held, the authors' log heads.
    private func preload(_ changes: [SignedChange], on conn: PostgresConnection) async throws -> PreloadedSource {
        var source = PreloadedSource()
        let reportIDs = Array(Set(changes.map(\.change.report.rawValue)))
        let devices = changes.map(\.change.dot.device.rawValue),
            seqs = changes.map { Int64(clamping: $0.change.dot.seq) }
        let authors = Array(Set(devices))
        for row in try await conn.rows(
            """
            SELECT 0, id, 0::int8, head FROM reports WHERE id = ANY(\(reportIDs))
            UNION ALL
            SELECT 1, c.device, c.seq, c.body FROM changes c
                JOIN unnest(\(devices)::text[], \(seqs)::int8[]) AS u(device, seq) ON c.device = u.device AND c.seq = u.seq
            UNION ALL
            SELECT 2, device, highest_seq, NULL::bytea FROM device_logs WHERE device = ANY(\(authors))
            """, logger)
        {
            let (kind, key, number, data) = try row.decode((Int32, String, Int64, Data?).self)
            switch kind {
            case 0: source.heads[ReportID(rawValue: key)!] = try StoredForm.head(data ?? Data())
            case 1: source.bodies[Dot(device: DeviceID(rawValue: key)!, seq: UInt64(number))] = data ?? Data()
            default: source.highest[DeviceID(rawValue: key)!] = UInt64(number)
            }
        }
        return source
    }

    /// 3. Decides in memory (`IngestPlan`), fetching earlier changes a merge needs to describe a
    ///    conflict and deciding again until it has them all.
    private func decide(
        _ changes: [SignedChange], preRefused: [Dot: FieldSyncError], from source: inout PreloadedSource,
        on conn: PostgresConnection
    ) async throws -> IngestPlan {
        var plan = IngestPlan(limits: options.limits, mode: .server)
        while true {
            try plan.run(changes, preRefused: preRefused, from: &source)
            if source.needed.isEmpty { break }
            let missing = Array(source.needed)
            let d = missing.map(\.device.rawValue), s = missing.map { Int64(clamping: $0.seq) }
            for row in try await conn.rows(
                """
                SELECT c.device, c.seq, c.body FROM changes c
                JOIN unnest(\(d)::text[], \(s)::int8[]) AS u(device, seq) ON c.device = u.device AND c.seq = u.seq
                """, logger)
            {
                let (device, seq, body) = try row.decode((String, Int64, Data).self)
                source.changes[Dot(device: DeviceID(rawValue: device)!, seq: UInt64(seq))] = try StoredForm.change(body)
            }
            for dot in missing where source.changes[dot] == nil { source.absent.insert(dot) }
            source.clearNeeded()
            plan.reset()
        }
        return plan
    }

    /// 4. Writes the changes (in apply order, so stages follow causality); returns each one's
    ///    stage. Throws `IngestRaceLost` when another daemon committed one of these dots meanwhile.
    private func insert(_ rows: [IngestPlan.Row], on conn: PostgresConnection) async throws -> [Dot: Int64] {
        let inserted = try await conn.rows(
            """
            INSERT INTO changes(device, seq, report, county, hlc_ms, hlc_c, body, sig, sig_run)
            SELECT u.device, u.seq, u.report, u.county, u.hlc_ms, u.hlc_c, u.body, nullif(u.sig, ''::bytea), nullif(u.sig_run, 0)
            FROM unnest(\(rows.map { $0.change.dot.device.rawValue })::text[], \(rows.map { Int64($0.change.dot.seq) })::int8[],
                        \(rows.map { $0.change.report.rawValue })::text[], \(rows.map { $0.change.county })::text[],
                        \(rows.map { Int64($0.change.hlc.millis) })::int8[], \(rows.map { Int64($0.change.hlc.counter) })::int8[],
                        \(rows.map { ByteBuffer(data: $0.body) })::bytea[], \(rows.map { ByteBuffer(data: $0.signature ?? Data()) })::bytea[],
                        \(rows.map { $0.signature != nil && $0.run > 1 ? Int32($0.run) : 0 })::int4[])
                 WITH ORDINALITY AS u(device, seq, report, county, hlc_ms, hlc_c, body, sig, sig_run, ord)
            ORDER BY u.ord
            ON CONFLICT (device, seq) DO NOTHING
            RETURNING device, seq, stage
            """, logger)
        var stages: [Dot: Int64] = [:]
        for row in inserted {
            let (device, seq, stage) = try row.decode((String, Int64, Int64).self)
            stages[Dot(device: DeviceID(rawValue: device)!, seq: UInt64(seq))] = stage
        }
        if rows.contains(where: { stages[$0.change.dot] == nil }) {
            // Another daemon committed one of these dots meanwhile (a reissued dot, sent twice at
            // once): roll back and decide again, now that it is held.
            throw IngestRaceLost()
        }
        return stages
    }

    /// Writes the batch's heads, conflict records, notes, media and log positions: one
    /// statement (data-modifying CTEs on disjoint rows), plus one per media attachment.
    private func writeHeads(
        _ plan: IngestPlan, lastStage: Int64, stages: [Dot: Int64], on conn: PostgresConnection
    ) async throws {
        let dirty = plan.dirty.sorted { $0.rawValue < $1.rawValue }
        let heads = dirty.map { plan.heads[$0]! }
        let values = heads.map(\.values)
        // Open conflicts are replaced by those the heads now have; resolutions are added.
        var records: [(Conflict, Int64, UInt64)] = []
        for head in heads {
            for conflict in head.openConflicts {
                records.append(
                    (conflict, lastStage, conflict.candidates.map(\.hlc.millis).max() ?? head.updatedAt.millis))
            }
        }
        let stillOpen = records.map(\.0.id)
        for (conflict, resolver) in plan.resolved {
            records.append((conflict, stages[resolver.dot] ?? lastStage, resolver.hlc.millis))
        }
        let n = plan.notes
        let logs = plan.counts.keys.sorted { $0.rawValue < $1.rawValue }
        try await conn.run(
            """
            WITH written_heads AS (
                INSERT INTO reports(id, county, lifecycle, status, service_code, updated_ms, updated_c, head, search,
                                    created_ms, ward, ack_ms, closed_ms, reopened_ms, tags)
                SELECT u.id, u.county, u.lifecycle, CASE WHEN u.has_status THEN u.status END, CASE WHEN u.has_service THEN u.service END,
                       u.updated_ms, u.updated_c, u.head, u.search, u.created_ms, CASE WHEN u.has_ward THEN u.ward END,
                       nullif(u.ack_ms, -1), nullif(u.closed_ms, -1), nullif(u.reopened_ms, -1), u.tags
                FROM unnest(\(dirty.map(\.rawValue))::text[], \(heads.map(\.county))::text[], \(heads.map { $0.isWithdrawn ? "withdrawn" : "active" })::text[],
                            \(values.map { $0[.status]?.stringValue != nil })::bool[], \(values.map { $0[.status]?.stringValue ?? "" })::text[],
                            \(values.map { $0[.serviceCode]?.stringValue != nil })::bool[], \(values.map { $0[.serviceCode]?.stringValue ?? "" })::text[],
                            \(heads.map { Int64($0.updatedAt.millis) })::int8[], \(heads.map { Int64($0.updatedAt.counter) })::int8[],
                            \(heads.map { ByteBuffer(data: ReportHeadCodec.encode($0)) })::bytea[],
                            \(zip(heads, values).map { SearchText.of($0.0, $0.1) })::text[],
                            \(heads.map { Int64(clamping: $0.createdAt.millis) })::int8[],
                            \(values.map { $0[.ward]?.stringValue != nil })::bool[], \(values.map { $0[.ward]?.stringValue ?? "" })::text[],
                            \(heads.map { Self.column($0.statusTimes.acknowledgedMillis) })::int8[],
                            \(heads.map { Self.column($0.statusTimes.closedMillis) })::int8[],
                            \(heads.map { Self.column($0.statusTimes.reopenedMillis) })::int8[],
                            \(heads.map { SearchText.tags($0) })::text[])
                     AS u(id, county, lifecycle, has_status, status, has_service, service, updated_ms, updated_c, head, search,
                          created_ms, has_ward, ward, ack_ms, closed_ms, reopened_ms, tags)
                ON CONFLICT (id) DO UPDATE SET county = excluded.county, lifecycle = excluded.lifecycle, status = excluded.status,
                    service_code = excluded.service_code, updated_ms = excluded.updated_ms, updated_c = excluded.updated_c,
                    head = excluded.head, search = excluded.search, created_ms = excluded.created_ms, ward = excluded.ward,
                    ack_ms = excluded.ack_ms, closed_ms = excluded.closed_ms, reopened_ms = excluded.reopened_ms,
                    tags = excluded.tags
                RETURNING 1
            ), closed AS (
                DELETE FROM conflicts WHERE report = ANY(\(dirty.map(\.rawValue))) AND open AND id <> ALL(\(stillOpen)) RETURNING 1
            ), recorded AS (
                INSERT INTO conflicts(id, report, county, field, open, arrival, body, at_ms)
                SELECT * FROM unnest(\(records.map(\.0.id))::text[], \(records.map(\.0.report.rawValue))::text[], \(records.map(\.0.county))::text[],
                                     \(records.map(\.0.field.rawValue))::text[], \(records.map(\.0.isOpen))::bool[], \(records.map(\.1))::int8[],
                                     \(records.map { ByteBuffer(data: ConflictCodec.encode($0.0)) })::bytea[], \(records.map { Int64($0.2) })::int8[])
                ON CONFLICT (id) DO UPDATE SET report = excluded.report, county = excluded.county, field = excluded.field, open = excluded.open,
                    arrival = excluded.arrival, body = excluded.body, at_ms = excluded.at_ms
                RETURNING 1
            ), noted AS (
                INSERT INTO notes(report, device, seq, hlc_ms, hlc_c, text)
                SELECT * FROM unnest(\(n.map(\.0.rawValue))::text[], \(n.map(\.1.dot.device.rawValue))::text[], \(n.map { Int64($0.1.dot.seq) })::int8[],
                                     \(n.map { Int64($0.1.hlc.millis) })::int8[], \(n.map { Int64($0.1.hlc.counter) })::int8[], \(n.map(\.1.text))::text[])
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            INSERT INTO device_logs(device, highest_seq, change_count)
            SELECT * FROM unnest(\(logs.map(\.rawValue))::text[], \(logs.map { Int64(plan.highest[$0] ?? 0) })::int8[], \(logs.map { Int64(plan.counts[$0]!) })::int8[])
            ON CONFLICT (device) DO UPDATE SET highest_seq = greatest(device_logs.highest_seq, excluded.highest_seq),
                change_count = device_logs.change_count + excluded.change_count
            """, logger)
        for (report, m) in plan.media {
            // One row per content hash; the smallest dot keeps it, whatever the arrival order.
            try await conn.run(
                """
                INSERT INTO media(report, sha256, device, seq, content_type, size)
                VALUES (\(report.rawValue), \(m.media.sha256), \(m.dot.device.rawValue), \(Int64(m.dot.seq)), \(m.media.contentType), \(Int64(m.media.size)))
                ON CONFLICT (report, sha256) DO UPDATE SET device = excluded.device, seq = excluded.seq,
                    content_type = excluded.content_type, size = excluded.size
                WHERE (excluded.device, excluded.seq) < (media.device, media.seq)
                """, logger)
        }
    }

    /// Gives every committed, unpublished change its pull position, in stage order, one
    /// publisher at a time. Runs after every ingest commits; a pull runs it too when it finds
    /// changes a crashed daemon committed but did not publish.
    ///
    /// Nobody queues for the publisher's lock: if another daemon holds it, this one leaves its
    /// rows to it — the holder looks for unpublished rows again after it commits, and this
    /// ingest's rows were committed before it tried the lock.
    func publish() async throws(FieldSyncError) {
        while true {
            let published = try await withConnection { conn in
                try await conn.rows("SELECT fieldsync_publish()", self.logger).first!.decode(Int64.self)
            }
            // Someone else holds the lock: it will see this ingest's rows when it looks again.
            guard published >= 0 else { return }
            // Rows committed while this publisher held the lock were left to it: look again.
            guard try await hasUnpublished() else { return }
        }
    }

    /// Whether any committed change has no pull position yet (one partial-index probe).
    func hasUnpublished() async throws(FieldSyncError) -> Bool {
        try await withConnection { conn in
            try await conn.rows("SELECT 1 FROM changes WHERE arrival IS NULL LIMIT 1", self.logger).count > 0
        }
    }

    /// Publishes if any committed change is still unpublished (a daemon died between its commit
    /// and its publish); cheap when there is none.
    func publishPending() async throws(FieldSyncError) {
        if try await hasUnpublished() { try await publish() }
    }

    /// The lock bucket of a report: FNV-1a of its id.
    static func bucket(of report: ReportID) -> Int32 {
        var h: UInt32 = 2_166_136_261
        for b in report.rawValue.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int32(h % UInt32(PostgresSchema.reportLockBuckets))
    }

}

/// Another daemon committed a dot of this batch while it was being decided: decide again.
struct IngestRaceLost: Error {}

extension ByteBuffer {
    init(data: Data) { self.init(bytes: data) }
}
