/// One value written to a field, with who wrote it and when.
public struct Candidate: Hashable, Sendable, Codable {
    /// The change that wrote the value.
    public var dot: Dot
    /// The change's timestamp.
    public var hlc: HybridTimestamp
    /// The value written.
    public var value: FieldValue

    /// Creates a candidate.
    public init(dot: Dot, hlc: HybridTimestamp, value: FieldValue) {
        self.dot = dot
        self.hlc = hlc
        self.value = value
    }

    /// The author device.
    public var device: DeviceID { dot.device }

    /// The deterministic display order: highest timestamp wins, then the higher dot.
    public static func displayOrder(_ a: Candidate, _ b: Candidate) -> Bool {
        a.hlc == b.hlc ? a.dot < b.dot : a.hlc < b.hlc
    }
}
