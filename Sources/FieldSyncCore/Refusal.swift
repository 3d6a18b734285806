/// A change a store refused, kept in its bounded quarantine for operators (on a device: a
/// change set aside, with the reason the server or the device gave).
public struct Refusal: Sendable, Hashable, Codable {
    /// The refused change's dot.
    public var dot: Dot
    /// The error code.
    public var code: String
    /// The error message.
    public var message: String
    /// The refused change it depends on (`dependency_refused`).
    public var dependsOn: Dot?
    /// The device that sent it (`nil` when the store's own device or the shell did).
    public var via: String?
    /// How many times it was refused.
    public var times: Int
    /// When it was last refused (milliseconds since the epoch).
    public var atMillis: UInt64

    /// A refusal record.
    public init(
        dot: Dot, code: String, message: String, dependsOn: Dot? = nil, via: String? = nil, times: Int = 1,
        atMillis: UInt64 = 0
    ) {
        self.dot = dot
        self.code = code
        self.message = message
        self.dependsOn = dependsOn
        self.via = via
        self.times = times
        self.atMillis = atMillis
    }

    private enum CodingKeys: String, CodingKey {
        case device, seq, code, message, via, times
        case dependsOn = "depends_on"
        case atMillis = "at_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dot = Dot(device: try c.decode(DeviceID.self, forKey: .device), seq: try c.decode(UInt64.self, forKey: .seq))
        code = try c.decode(String.self, forKey: .code)
        message = try c.decode(String.self, forKey: .message)
        dependsOn = try c.decodeIfPresent(String.self, forKey: .dependsOn).flatMap(Dot.init(parsing:))
        via = try c.decodeIfPresent(String.self, forKey: .via)
        times = try c.decode(Int.self, forKey: .times)
        atMillis = try c.decode(UInt64.self, forKey: .atMillis)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dot.device, forKey: .device)
        try c.encode(dot.seq, forKey: .seq)
        try c.encode(code, forKey: .code)
        try c.encode(message, forKey: .message)
        try c.encodeIfPresent(dependsOn?.description, forKey: .dependsOn)
        try c.encodeIfPresent(via, forKey: .via)
        try c.encode(times, forKey: .times)
        try c.encode(atMillis, forKey: .atMillis)
    }
}
