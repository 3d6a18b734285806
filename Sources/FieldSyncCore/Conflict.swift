/// A record in the conflict log: concurrent writes to one field of one report that left
/// different values.
///
/// An *open* conflict is the field's current state: its candidates are the values no write has
/// superseded yet. A *resolved* conflict is kept for good: the candidates its resolver saw and
/// the change that settled them. Both are a function of the set of changes a replica holds, so
/// every replica with the same changes holds the same conflict log.
public struct Conflict: Hashable, Sendable, Codable {
    /// The report.
    public var report: ReportID
    /// The report's county.
    public var county: String
    /// The field (`lifecycle` for a withdrawal concurrent with edits).
    public var field: FieldName
    /// The concurrent writes, sorted by dot.
    public var candidates: [Candidate]
    /// How the conflict was settled; `nil` while open.
    public var resolution: Resolution?

    /// Creates a record.
    public init(
        report: ReportID, county: String, field: FieldName, candidates: [Candidate], resolution: Resolution? = nil
    ) {
        self.report = report
        self.county = county
        self.field = field
        self.candidates = candidates
        self.resolution = resolution
    }

    /// Whether the conflict is still open.
    public var isOpen: Bool { resolution == nil }

    /// A stable identifier: `report/field` while open, `report/field/device:seq` once resolved.
    public var id: String {
        if let r = resolution { return "\(report.rawValue)/\(field.rawValue)/\(r.dot)" }
        return "\(report.rawValue)/\(field.rawValue)"
    }

    /// The value shown while the conflict is open.
    public var winner: Candidate? { candidates.max(by: Candidate.displayOrder) }

    enum CodingKeys: String, CodingKey { case id, report, county, field, candidates, resolution }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        report = try c.decode(ReportID.self, forKey: .report)
        county = try c.decode(String.self, forKey: .county)
        let raw = try c.decode(String.self, forKey: .field)
        guard let f = FieldName(rawValue: raw) ?? (raw == FieldName.lifecycle.rawValue ? .lifecycle : nil) else {
            throw DecodingError.refused(.unknownField, "unknown field", at: c.codingPath + [CodingKeys.field])
        }
        field = f
        candidates = try c.decode([Candidate].self, forKey: .candidates)
        resolution = try c.decodeIfPresent(Resolution.self, forKey: .resolution)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(report, forKey: .report)
        try c.encode(county, forKey: .county)
        try c.encode(field.rawValue, forKey: .field)
        try c.encode(candidates, forKey: .candidates)
        try c.encodeIfPresent(resolution, forKey: .resolution)
    }
}

/// How a conflict was settled: by which change, and to which value.
public struct Resolution: Hashable, Sendable, Codable {
    /// The change that settled the conflict.
    public var dot: Dot
    /// Its timestamp.
    public var hlc: HybridTimestamp
    /// The value it wrote.
    public var value: FieldValue
    /// The candidate whose value it kept, or `nil` if it wrote a new value.
    public var chosen: Dot?

    /// Creates a resolution.
    public init(dot: Dot, hlc: HybridTimestamp, value: FieldValue, chosen: Dot?) {
        self.dot = dot
        self.hlc = hlc
        self.value = value
        self.chosen = chosen
    }

    /// The device that settled it.
    public var device: DeviceID { dot.device }
}
