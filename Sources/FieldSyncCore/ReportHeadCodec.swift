public import Foundation

/// The binary form of a `ReportHead`, for stores that keep heads on disk. Internal to a store
/// (never sent over the wire); versioned by its first byte so that a store can migrate.
public enum ReportHeadCodec {
    /// The format version (2 added the status times; a head of format 1 decodes without them,
    /// and its store restores them from the report's history).
    public static let version: UInt8 = 2

    /// Encodes a head.
    public static func encode(_ h: ReportHead) -> Data {
        var w = BinaryWriter(capacity: 256)
        w.byte(version)
        w.string(h.id.rawValue)
        w.string(h.county)
        dot(h.created, &w)
        hlc(h.createdAt, &w)
        hlc(h.updatedAt, &w)
        w.varint(UInt64(h.version.entries.count))
        for e in h.version.entries { w.string(e.device.rawValue); w.varint(e.seq) }
        w.varint(UInt64(h.changeCount))
        let fields = h.fields.sorted { $0.key < $1.key }
        w.varint(UInt64(fields.count))
        for (name, register) in fields {
            w.string(name.rawValue)
            candidates(register.candidates, &w)
        }
        candidates(h.lifecycle.candidates, &w)
        w.varint(UInt64(h.withdrawals.count))
        for watch in h.withdrawals {
            dot(watch.withdraw, &w)
            candidates(watch.concurrent, &w)
        }
        let tags = h.tags.sorted { $0.key < $1.key }
        w.varint(UInt64(tags.count))
        for (tag, dots) in tags {
            w.string(tag)
            w.varint(UInt64(dots.count))
            for d in dots { dot(d, &w) }
        }
        for t in [h.statusTimes.acknowledgedMillis, h.statusTimes.closedMillis, h.statusTimes.reopenedMillis] {
            w.varint(t.map { $0 &+ 1 } ?? 0)
        }
        return Data(w.bytes)
    }

    /// Decodes a head.
    public static func decode(_ data: Data) throws(FieldSyncError) -> ReportHead {
        let result: Result<ReportHead, FieldSyncError> = data.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(FieldSyncError) { return .success(try decode(&r)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func decode(_ r: inout BinaryReader) throws(FieldSyncError) -> ReportHead {
        let v = try r.byte()
        guard v == 1 || v == version else {
            throw FieldSyncError(.malformed, "report head format \(v) is not supported")
        }
        let id = try ReportID(validating: try r.string())
        let county = try r.string()
        let created = try dot(&r)
        let createdAt = try hlc(&r)
        let updatedAt = try hlc(&r)
        var version: [DeviceID: UInt64] = [:]
        for _ in 0..<(try r.count(max: 1 << 20, of: "version entry")) {
            version[try DeviceID(validating: try r.string())] = try r.varint()
        }
        guard let changeCount = Int(exactly: try r.varint()) else {
            throw FieldSyncError(.malformed, "report head change count out of range")
        }
        var fields: [FieldName: Register] = [:]
        for _ in 0..<(try r.count(max: 1 << 16, of: "field")) {
            let name = try FieldName(validating: try r.string())
            fields[name] = Register(sortedCandidates: try candidates(&r))
        }
        let lifecycle = Register(sortedCandidates: try candidates(&r))
        var withdrawals: [ReportHead.WithdrawalWatch] = []
        for _ in 0..<(try r.count(max: 1 << 16, of: "withdrawal")) {
            withdrawals.append(ReportHead.WithdrawalWatch(withdraw: try dot(&r), concurrent: try candidates(&r)))
        }
        var tags: [String: [Dot]] = [:]
        for _ in 0..<(try r.count(max: 1 << 16, of: "tag")) {
            let tag = try r.string()
            var dots: [Dot] = []
            for _ in 0..<(try r.count(max: 1 << 20, of: "tag add")) { dots.append(try dot(&r)) }
            tags[tag] = dots
        }
        var times = ReportStatusTimes()
        if v >= 2 {
            func time() throws(FieldSyncError) -> UInt64? {
                let t = try r.varint()
                return t == 0 ? nil : t - 1
            }
            times = ReportStatusTimes(
                acknowledgedMillis: try time(), closedMillis: try time(), reopenedMillis: try time())
        }
        return ReportHead(
            id: id, county: county, created: created, createdAt: createdAt, updatedAt: updatedAt,
            version: VersionVector(version), changeCount: changeCount, fields: fields,
            lifecycle: lifecycle, withdrawals: withdrawals, tags: tags, statusTimes: times)
    }

    static func dot(_ d: Dot, _ w: inout BinaryWriter) { w.string(d.device.rawValue); w.varint(d.seq) }
    static func dot(_ r: inout BinaryReader) throws(FieldSyncError) -> Dot {
        Dot(device: try DeviceID(validating: try r.string()), seq: try r.varint())
    }
    static func hlc(_ t: HybridTimestamp, _ w: inout BinaryWriter) { w.varint(t.millis); w.varint(UInt64(t.counter)) }
    static func hlc(_ r: inout BinaryReader) throws(FieldSyncError) -> HybridTimestamp {
        HybridTimestamp(millis: try r.varint(), counter: UInt32(truncatingIfNeeded: try r.varint()))
    }
    static func candidates(_ cs: [Candidate], _ w: inout BinaryWriter) {
        w.varint(UInt64(cs.count))
        for c in cs { dot(c.dot, &w); hlc(c.hlc, &w); ChangeCodec.encode(c.value, into: &w) }
    }
    static func candidates(_ r: inout BinaryReader) throws(FieldSyncError) -> [Candidate] {
        var result: [Candidate] = []
        for _ in 0..<(try r.count(max: 1 << 20, of: "candidate")) {
            result.append(Candidate(dot: try dot(&r), hlc: try hlc(&r), value: try ChangeCodec.value(&r, depth: 0)))
        }
        return result
    }
}

/// The binary form of a conflict record, for stores. Internal to a store; versioned.
public enum ConflictCodec {
    /// The format version.
    public static let version: UInt8 = 1

    /// Encodes a record.
    public static func encode(_ c: Conflict) -> Data {
        var w = BinaryWriter(capacity: 128)
        w.byte(version)
        w.string(c.report.rawValue)
        w.string(c.county)
        w.string(c.field.rawValue)
        ReportHeadCodec.candidates(c.candidates, &w)
        if let r = c.resolution {
            w.byte(1)
            ReportHeadCodec.dot(r.dot, &w)
            ReportHeadCodec.hlc(r.hlc, &w)
            ChangeCodec.encode(r.value, into: &w)
            if let chosen = r.chosen { w.byte(1); ReportHeadCodec.dot(chosen, &w) } else { w.byte(0) }
        } else {
            w.byte(0)
        }
        return Data(w.bytes)
    }

    /// Decodes a record.
    public static func decode(_ data: Data) throws(FieldSyncError) -> Conflict {
        let result: Result<Conflict, FieldSyncError> = data.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(FieldSyncError) {
                guard try r.byte() == version else {
                    throw FieldSyncError(.malformed, "conflict format is not supported")
                }
                let report = try ReportID(validating: try r.string())
                let county = try r.string()
                let raw = try r.string()
                guard let field = FieldName(rawValue: raw) ?? (raw == FieldName.lifecycle.rawValue ? .lifecycle : nil)
                else {
                    throw FieldSyncError(.unknownField, "unknown field \(raw)")
                }
                let candidates = try ReportHeadCodec.candidates(&r)
                var resolution: Resolution?
                if try r.byte() == 1 {
                    let dot = try ReportHeadCodec.dot(&r)
                    let hlc = try ReportHeadCodec.hlc(&r)
                    let value = try ChangeCodec.value(&r, depth: 0)
                    let chosen = try r.byte() == 1 ? try ReportHeadCodec.dot(&r) : nil
                    resolution = Resolution(dot: dot, hlc: hlc, value: value, chosen: chosen)
                }
                return .success(
                    Conflict(
                        report: report, county: county, field: field, candidates: candidates, resolution: resolution))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
