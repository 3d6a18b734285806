/// One entry of a device's append-only change log: the unit of replication.
///
/// A change names its author and position (`dot`), the report it touches, the report's county,
/// its causal context (what its author had applied of that report), a hybrid logical clock
/// timestamp and its operations. When its author saw a conflict on a field it writes, `resolves`
/// lists the candidates it saw: the change settles that conflict.
public struct Change: Hashable, Sendable, Codable {
    /// Author device and sequence number.
    public var dot: Dot
    /// The report this change touches.
    public var report: ReportID
    /// The report's county (fixed at creation); used to scope replication.
    public var county: String
    /// The author's version vector *of this report* when the change was written.
    public var context: VersionVector
    /// The author's hybrid logical clock when the change was written.
    public var hlc: HybridTimestamp
    /// The operations, applied together.
    public var ops: [ReportOperation]
    /// For each field whose conflict this change settles, the candidates its author saw.
    public var resolves: [FieldName: [Dot]]

    /// Creates a change.
    public init(
        dot: Dot, report: ReportID, county: String, context: VersionVector, hlc: HybridTimestamp,
        ops: [ReportOperation], resolves: [FieldName: [Dot]] = [:]
    ) {
        self.dot = dot
        self.report = report
        self.county = county
        self.context = context
        self.hlc = hlc
        self.ops = ops
        self.resolves = resolves
    }

    /// Whether this change creates its report.
    public var isCreate: Bool {
        if case .create = ops.first { return true }
        return false
    }

    /// The lifecycle value this change writes, if it writes one.
    public var lifecycleValue: FieldValue? {
        for op in ops {
            switch op {
            case .create, .restore: return Lifecycle.active
            case .withdraw: return Lifecycle.withdrawn
            default: continue
            }
        }
        return nil
    }

    /// The value this change sets on `field`, if it sets it (the lifecycle value for `lifecycle`).
    public func value(of field: FieldName) -> FieldValue? {
        if field == .lifecycle { return lifecycleValue }
        for case .set(let f, let v) in ops where f == field { return v }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case device, seq, report, county, context = "ctx", hlc, ops, resolves
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dot = Dot(device: try c.decode(DeviceID.self, forKey: .device), seq: try c.decode(UInt64.self, forKey: .seq))
        report = try c.decode(ReportID.self, forKey: .report)
        county = try c.decode(String.self, forKey: .county)
        context = try c.decodeIfPresent(VersionVector.self, forKey: .context) ?? VersionVector()
        hlc = try c.decode(HybridTimestamp.self, forKey: .hlc)
        ops = try c.decode([ReportOperation].self, forKey: .ops)
        let raw = try c.decodeIfPresent([String: [Dot]].self, forKey: .resolves) ?? [:]
        var resolves: [FieldName: [Dot]] = [:]
        for (k, v) in raw {
            guard let f = FieldName(rawValue: k) ?? (k == FieldName.lifecycle.rawValue ? .lifecycle : nil) else {
                throw DecodingError.refused(
                    .unknownField, "unknown field '\(k.prefix(80))' in resolves",
                    at: c.codingPath + [CodingKeys.resolves])
            }
            // The canonical form lists the candidates sorted: a receiver re-encodes what it
            // decoded, so a sender's order does not matter (duplicates are refused by the limits).
            resolves[f] = v.sorted()
        }
        self.resolves = resolves
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dot.device, forKey: .device)
        try c.encode(dot.seq, forKey: .seq)
        try c.encode(report, forKey: .report)
        try c.encode(county, forKey: .county)
        if !context.isEmpty { try c.encode(context, forKey: .context) }
        try c.encode(hlc, forKey: .hlc)
        try c.encode(ops, forKey: .ops)
        if !resolves.isEmpty {
            try c.encode(
                Dictionary(uniqueKeysWithValues: resolves.map { ($0.key.rawValue, $0.value) }), forKey: .resolves)
        }
    }
}

/// The values of the `lifecycle` pseudo-field.
public enum Lifecycle {
    /// The report is live.
    public static let active: FieldValue = "active"
    /// The report has been withdrawn (tombstoned).
    public static let withdrawn: FieldValue = "withdrawn"
}
