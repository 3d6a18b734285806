/// A change a replica would not take, with its own reason: the per-change verdict of a push.
///
/// A refused change is refused alone: the rest of its batch is applied, except the changes that
/// depend on it, which are refused with `dependency_refused` and name it in `dependsOn`.
public struct RefusedChange: Hashable, Sendable, Codable {
    /// The refused change's dot.
    public var dot: Dot
    /// Why, as a stable code.
    public var code: FieldSyncError.Code
    /// Why, for people, with what to do about it.
    public var message: String
    /// The refused change this one depends on (`dependency_refused` only).
    public var dependsOn: Dot?

    /// A verdict for `dot`.
    public init(dot: Dot, error: FieldSyncError, dependsOn: Dot? = nil) {
        self.dot = dot
        code = error.code
        message = error.message
        self.dependsOn = dependsOn
    }

    /// The verdict as an error.
    public var error: FieldSyncError { FieldSyncError(code, message) }

    /// Whether the refusal is final: the change can never be taken as it is, so the device sets
    /// it aside. Gaps and missing dependencies are not: the server lacks history it once had,
    /// and the device pushes it again.
    public var isFinal: Bool { code != .sequenceGap && code != .missingDependency }

    private enum CodingKeys: String, CodingKey {
        case device, seq, code, message, dependsOn = "depends_on"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dot = Dot(device: try c.decode(DeviceID.self, forKey: .device), seq: try c.decode(UInt64.self, forKey: .seq))
        let raw = try c.decode(String.self, forKey: .code)
        code = FieldSyncError.Code(rawValue: raw) ?? .invalidRequest
        message = String(try c.decode(String.self, forKey: .message).prefix(2_000))
        dependsOn = try c.decodeIfPresent(String.self, forKey: .dependsOn).flatMap(Dot.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dot.device, forKey: .device)
        try c.encode(dot.seq, forKey: .seq)
        try c.encode(code.rawValue, forKey: .code)
        try c.encode(message, forKey: .message)
        try c.encodeIfPresent(dependsOn?.description, forKey: .dependsOn)
    }
}

extension Dot {
    /// Parses `device:seq` (the form `description` prints); `nil` if it is not one.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let device = DeviceID(rawValue: String(text[..<colon])),
            let seq = UInt64(text[text.index(after: colon)...]), seq > 0
        else { return nil }
        self.init(device: device, seq: seq)
    }
}
