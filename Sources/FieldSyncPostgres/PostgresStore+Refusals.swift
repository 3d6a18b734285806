public import FieldSyncCore
public import FieldSyncStore
import Foundation
import NIOCore
import PostgresNIO

/// The refusals quarantine on PostgreSQL (`RefusalQuarantine` decides what is kept).
extension PostgresStore {
    /// Records refused changes within the quarantine's bounds; a refusal of a dot and code seen
    /// before bumps its count. Best effort: a failure here never fails the ingest it follows.
    func quarantine(_ refused: [(RefusedChange, Change)], via: DeviceID?) async {
        let rule = options.quarantine
        let kept = refused.filter { rule.records($0.0) }
        guard !kept.isEmpty else { return }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try? await transaction { conn in
            var usage: [String: RefusalQuarantine.Usage] = [:]
            for (verdict, change) in kept {
                let sender = via?.rawValue ?? change.dot.device.rawValue
                let device = change.dot.device.rawValue, seq = Int64(clamping: change.dot.seq),
                    code = verdict.code.rawValue
                let bumped = try await conn.rows(
                    """
                    UPDATE refusals SET times = times + 1, at_ms = \(now) WHERE device = \(device) AND seq = \(seq) AND code = \(code)
                    RETURNING 1
                    """, self.logger)
                if !bumped.isEmpty { continue }
                var u: RefusalQuarantine.Usage
                if let known = usage[sender] {
                    u = known
                } else {
                    u = try await self.quarantineUsage(of: sender, on: conn)
                }
                let full = ChangeCodec.encodeData(change)
                let body = rule.keepsBody(verdict, size: full.count) ? full : Data()
                let admitted = rule.admit(size: body.count, into: &u)
                usage[sender] = u
                guard admitted else {
                    try await conn.run(
                        """
                        INSERT INTO refusal_overflow(via, dropped) VALUES (\(sender), 1)
                        ON CONFLICT (via) DO UPDATE SET dropped = refusal_overflow.dropped + 1
                        """, self.logger)
                    continue
                }
                try await conn.run(
                    """
                    INSERT INTO refusals(at_ms, device, seq, code, message, body, via, county, depends_on)
                    VALUES (\(now), \(device), \(seq), \(code), \(verdict.message), \(ByteBuffer(data: body)), \(via?.rawValue),
                            \(change.county), \(verdict.dependsOn?.description))
                    ON CONFLICT (device, seq, code) DO UPDATE SET times = refusals.times + 1
                    """, self.logger)
            }
            return true
        }
    }

    /// Records one refusal that no change carries, within the quarantine's bounds.
    public func recordRefusal(_ verdict: RefusedChange, county: String, via: DeviceID?) async {
        let sender = via?.rawValue ?? verdict.dot.device.rawValue
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let rule = options.quarantine
        _ = try? await transaction { conn in
            var usage = try await self.quarantineUsage(of: sender, on: conn)
            guard rule.admit(size: 0, into: &usage) else { return false }
            try await conn.run(
                """
                INSERT INTO refusals(at_ms, device, seq, code, message, body, via, county, depends_on)
                VALUES (\(now), \(verdict.dot.device.rawValue), \(Int64(clamping: verdict.dot.seq)), \(verdict.code.rawValue),
                        \(verdict.message), ''::bytea, \(via?.rawValue), \(county), NULL)
                ON CONFLICT (device, seq, code) DO UPDATE SET times = refusals.times + 1, at_ms = excluded.at_ms, message = excluded.message
                """, self.logger)
            return true
        }
    }

    private func quarantineUsage(of sender: String, on conn: PostgresConnection) async throws -> RefusalQuarantine.Usage
    {
        let row = try await conn.rows(
            """
            SELECT (SELECT count(*) FROM refusals WHERE coalesce(via, device) = \(sender)),
                   (SELECT coalesce(sum(length(body)), 0)::int8 FROM refusals WHERE coalesce(via, device) = \(sender)),
                   (SELECT count(*) FROM refusals), (SELECT coalesce(sum(length(body)), 0)::int8 FROM refusals)
            """, logger
        ).first
        guard let row else { return .init() }
        let (a, b, c, d) = try row.decode((Int64, Int64, Int64, Int64).self)
        return .init(deviceRows: Int(a), deviceBytes: Int(b), rows: Int(c), bytes: Int(d))
    }

    /// Quarantined refusals, newest first.
    public func refusals(_ filter: RefusalFilter) async throws(FieldSyncError) -> [Refusal] {
        let counties = filter.counties, via = filter.via
        let limit = Int64(max(0, filter.limit)), offset = Int64(max(0, filter.offset))
        return try await withConnection { conn in
            try await conn.rows(
                """
                SELECT device, seq, code, message, depends_on, via, times, at_ms FROM refusals
                WHERE (\(counties == nil) OR county = ANY(\(counties ?? []))) AND (\(via == nil) OR via = \(via ?? ""))
                ORDER BY at_ms DESC, id DESC LIMIT \(limit) OFFSET \(offset)
                """, self.logger
            ).compactMap { row in
                let (d, seq, code, message, dep, sender, times, at) = try row.decode(
                    (String, Int64, String, String, String?, String?, Int32, Int64).self)
                return DeviceID(rawValue: d).map {
                    Refusal(
                        dot: Dot(device: $0, seq: UInt64(clamping: seq)), code: code, message: message,
                        dependsOn: dep.flatMap(Dot.init(parsing:)), via: sender, times: Int(times),
                        atMillis: UInt64(clamping: at))
                }
            }
        }
    }

    /// How many refusals are kept, and how many were counted without being stored.
    public func refusalSummary() async throws(FieldSyncError) -> RefusalSummary {
        try await withConnection { conn in
            let row = try await conn.rows(
                """
                SELECT (SELECT count(*) FROM refusals), (SELECT coalesce(sum(dropped), 0)::int8 FROM refusal_overflow)
                """, self.logger
            ).first!
            let (stored, dropped) = try row.decode((Int64, Int64).self)
            return RefusalSummary(stored: Int(stored), dropped: Int(dropped))
        }
    }
}
