/// The stable identity of one device (or of a server acting as an author).
///
/// 1–64 characters from `A–Z a–z 0–9 - _ .`; compared and ordered as plain strings, so that
/// every replica breaks ties between devices the same way.
public struct DeviceID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Creates an identifier, or returns `nil` if `rawValue` is not a valid identifier.
    public init?(rawValue: String) {
        guard Identifier.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Creates an identifier, throwing `invalid_identifier` if it is not valid.
    public init(validating rawValue: String) throws(FieldSyncError) {
        guard let id = DeviceID(rawValue: rawValue) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "device id '\(rawValue.prefix(80))' is not valid: use 1–64 characters from A–Z, a–z, 0–9, '-', '_' and '.'"
            )
        }
        self = id
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard Identifier.isValid(raw) else {
            throw DecodingError.refused(
                .invalidIdentifier, "invalid device id (1–64 of A–Z a–z 0–9 - _ .)", at: decoder.codingPath)
        }
        self.rawValue = raw
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (lhs: DeviceID, rhs: DeviceID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// The identity of one citizen report, chosen by the device that creates it (a UUID in practice).
public struct ReportID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Creates an identifier, or returns `nil` if `rawValue` is not a valid identifier.
    public init?(rawValue: String) {
        guard Identifier.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Creates an identifier, throwing `invalid_identifier` if it is not valid.
    public init(validating rawValue: String) throws(FieldSyncError) {
        guard let id = ReportID(rawValue: rawValue) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "report id '\(rawValue.prefix(80))' is not valid: use 1–64 characters from A–Z, a–z, 0–9, '-', '_' and '.'"
            )
        }
        self = id
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard Identifier.isValid(raw) else {
            throw DecodingError.refused(
                .invalidIdentifier, "invalid report id (1–64 of A–Z a–z 0–9 - _ .)", at: decoder.codingPath)
        }
        self.rawValue = raw
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (lhs: ReportID, rhs: ReportID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// Validation shared by the identifier types (1–64 of A–Z a–z 0–9 - _ .).
public enum Identifier {
    /// Whether `s` is a valid identifier.
    public static func isValid(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard !utf8.isEmpty, utf8.count <= 64 else { return false }
        for b in utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                continue
            default:
                return false
            }
        }
        return true
    }
}
