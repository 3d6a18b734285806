public import Foundation

/// The canonical binary form of a change (`protocol/binary.md`): what an author signs, what
/// stores keep, and the compact wire encoding. One change has exactly one binary form, so equal
/// bytes mean equal changes and a signature covers the content, whatever JSON carried it.
public enum ChangeCodec {
    /// The first byte of every encoded change: the format version.
    public static let version: UInt8 = 1

    /// Encodes a change.
    public static func encode(_ c: Change) -> [UInt8] {
        var w = BinaryWriter(capacity: 128)
        encode(c, into: &w)
        return w.bytes
    }

    /// Encodes a change as `Data`.
    public static func encodeData(_ c: Change) -> Data { Data(encode(c)) }

    /// Appends a change to a writer.
    public static func encode(_ c: Change, into w: inout BinaryWriter) {
        w.byte(version)
        w.string(c.dot.device.rawValue)
        w.varint(c.dot.seq)
        w.string(c.report.rawValue)
        w.string(c.county)
        w.varint(UInt64(c.context.entries.count))
        for e in c.context.entries {
            w.string(e.device.rawValue)
            w.varint(e.seq)
        }
        w.varint(c.hlc.millis)
        w.varint(UInt64(c.hlc.counter))
        w.varint(UInt64(c.ops.count))
        for op in c.ops { encode(op, into: &w) }
        let resolves = c.resolves.sorted { $0.key < $1.key }
        w.varint(UInt64(resolves.count))
        for (field, dots) in resolves {
            w.string(field.rawValue)
            w.varint(UInt64(dots.count))
            for d in dots {
                w.string(d.device.rawValue)
                w.varint(d.seq)
            }
        }
    }

    static func encode(_ op: ReportOperation, into w: inout BinaryWriter) {
        switch op {
        case .create(let county): w.byte(1); w.string(county)
        case .set(let field, let value): w.byte(2); w.string(field.rawValue); encode(value, into: &w)
        case .addTag(let t): w.byte(3); w.string(t)
        case .removeTag(let t): w.byte(4); w.string(t)
        case .appendNote(let text): w.byte(5); w.string(text)
        case .attachMedia(let m): w.byte(6); w.string(m.sha256); w.string(m.contentType); w.varint(m.size)
        case .withdraw(let reason): w.byte(7); w.string(reason)
        case .restore: w.byte(8)
        }
    }

    /// Appends a field value.
    public static func encode(_ v: FieldValue, into w: inout BinaryWriter) {
        switch v {
        case .null: w.byte(0)
        case .bool(let b): w.byte(b ? 2 : 1)
        case .int(let i): w.byte(3); w.signed(i)
        case .double(let d): w.byte(4); w.double(d)
        case .string(let s): w.byte(5); w.string(s)
        case .array(let a):
            w.byte(6)
            w.varint(UInt64(a.count))
            for e in a { encode(e, into: &w) }
        case .object(let o):
            w.byte(7)
            w.varint(UInt64(o.count))
            for (k, e) in o.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.string(k)
                encode(e, into: &w)
            }
        }
    }

    /// Decodes one change from untrusted bytes; the bytes must hold exactly one change.
    public static func decode(_ bytes: some ContiguousBytes) throws(FieldSyncError) -> Change {
        let result: Result<Change, FieldSyncError> = bytes.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(FieldSyncError) {
                let c = try decode(from: &r)
                guard r.isAtEnd else {
                    throw FieldSyncError(.malformed, "\(r.remaining) bytes follow the change; send one change per body")
                }
                return .success(c)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads one change from a reader.
    public static func decode(from r: inout BinaryReader) throws(FieldSyncError) -> Change {
        let v = try r.byte()
        guard v == version else {
            throw FieldSyncError(
                .malformed, "change format version \(v) is not supported (this build reads version \(version))")
        }
        let device = try deviceID(&r)
        let seq = try r.varint()
        let report = try ReportID(validating: try r.string(maxBytes: 64))
        let county = try r.string(maxBytes: 256)
        let n = try r.count(max: ChangeLimits.standard.maxContextEntries, of: "context entry")
        var entries: [DeviceID: UInt64] = [:]
        var previous: DeviceID?
        for _ in 0..<n {
            let d = try deviceID(&r)
            let s = try r.varint()
            guard s > 0, previous.map({ $0 < d }) ?? true else {
                throw FieldSyncError(.malformed, "context entries must be sorted by device, unique, with sequence ≥ 1")
            }
            previous = d
            entries[d] = s
        }
        let millis = try r.varint()
        let counter = try r.varint()
        guard millis < 1 << 53, counter <= UInt64(UInt32.max) else {
            throw FieldSyncError(.malformed, "hlc out of range")
        }
        let opCount = try r.count(max: ChangeLimits.standard.maxOperations, of: "operation")
        var ops: [ReportOperation] = []
        ops.reserveCapacity(opCount)
        for _ in 0..<opCount { ops.append(try operation(&r)) }
        let resolveCount = try r.count(max: 64, of: "resolved field")
        var resolves: [FieldName: [Dot]] = [:]
        var previousField: FieldName?
        for _ in 0..<resolveCount {
            let raw = try r.string(maxBytes: 128)
            guard let field = FieldName(rawValue: raw) ?? (raw == FieldName.lifecycle.rawValue ? .lifecycle : nil)
            else {
                throw FieldSyncError(.unknownField, "resolves names unknown field '\(raw.prefix(80))'")
            }
            guard previousField.map({ $0 < field }) ?? true else {
                throw FieldSyncError(.malformed, "resolved fields must be sorted and unique")
            }
            previousField = field
            let k = try r.count(max: ChangeLimits.standard.maxContextEntries, of: "resolved candidate")
            var dots: [Dot] = []
            for _ in 0..<k { dots.append(Dot(device: try deviceID(&r), seq: try r.varint())) }
            resolves[field] = dots
        }
        return Change(
            dot: Dot(device: device, seq: seq), report: report, county: county,
            context: VersionVector(entries), hlc: HybridTimestamp(millis: millis, counter: UInt32(counter)),
            ops: ops, resolves: resolves)
    }

    static func deviceID(_ r: inout BinaryReader) throws(FieldSyncError) -> DeviceID {
        try DeviceID(validating: try r.string(maxBytes: 64))
    }

    static func operation(_ r: inout BinaryReader) throws(FieldSyncError) -> ReportOperation {
        let tag = try r.byte()
        switch tag {
        case 1: return .create(county: try r.string(maxBytes: 256))
        case 2:
            let field = try FieldName(validating: try r.string(maxBytes: 128))
            return .set(field: field, value: try value(&r, depth: 0))
        case 3: return .addTag(try r.string(maxBytes: 256))
        case 4: return .removeTag(try r.string(maxBytes: 256))
        case 5: return .appendNote(text: try r.string(maxBytes: 64 * 1024))
        case 6:
            return .attachMedia(
                MediaRef(
                    sha256: try r.string(maxBytes: 64), contentType: try r.string(maxBytes: 256), size: try r.varint()))
        case 7: return .withdraw(reason: try r.string(maxBytes: 256))
        case 8: return .restore
        default: throw FieldSyncError(.malformed, "unknown operation tag \(tag)")
        }
    }

    /// Reads a field value, refusing nesting deeper than 16 levels.
    public static func value(_ r: inout BinaryReader, depth: Int) throws(FieldSyncError) -> FieldValue {
        guard depth <= 16 else { throw FieldSyncError(.fieldTooLarge, "value nested deeper than 16 levels") }
        let tag = try r.byte()
        switch tag {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(try r.signed())
        case 4:
            let d = try r.double()
            guard d.isFinite else { throw FieldSyncError(.malformed, "numbers must be finite") }
            guard !FieldValue.isIntegral(d) else {
                throw FieldSyncError(
                    .malformed, "an integral number must be encoded as an integer (tag 3), not a double")
            }
            return .double(d)
        case 5: return .string(try r.string(maxBytes: 64 * 1024))
        case 6:
            let n = try r.count(max: min(r.remaining, 64 * 1024), of: "array element")
            var a: [FieldValue] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try value(&r, depth: depth + 1)) }
            return .array(a)
        case 7:
            let n = try r.count(max: min(r.remaining, 64 * 1024), of: "object member")
            var o: [String: FieldValue] = [:]
            var previous: String?
            for _ in 0..<n {
                let k = try r.string(maxBytes: 1024)
                // Keys bytewise ascending and unique, as the encoder writes them (and no two that
                // Swift holds equal, canonically equivalent spellings): one object, one form.
                guard previous.map({ $0.utf8.lexicographicallyPrecedes(k.utf8) }) ?? true, o[k] == nil else {
                    throw FieldSyncError(.malformed, "object keys must be sorted bytewise and unique")
                }
                previous = k
                o[k] = try value(&r, depth: depth + 1)
            }
            return .object(o)
        default: throw FieldSyncError(.malformed, "unknown value tag \(tag)")
        }
    }
}
