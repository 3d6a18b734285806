/// A JSON value: what a report field holds.
///
/// Numbers are kept as `Double` except integers, which stay exact. Objects are sorted by key
/// when encoded, so one value has one byte form.
public enum FieldValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([FieldValue])
    case object([String: FieldValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            guard d.isFinite else {
                throw DecodingError.refused(.invalidOperation, "numbers must be finite", at: c.codingPath)
            }
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([FieldValue].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: FieldValue].self) {
            self = .object(o)
        } else {
            throw DecodingError.refused(.invalidOperation, "not a JSON value", at: c.codingPath)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// The same value with every number that has an integral value (and fits 64 bits) held as an
    /// integer. JSON has one number type, so `34.0` and `34` are the same value on the wire; this
    /// is the one form every replica (and every signature) agrees on.
    public var normalized: FieldValue {
        switch self {
        case .double(let d) where FieldValue.isIntegral(d): return .int(Int64(d))
        case .array(let a): return .array(a.map(\.normalized))
        case .object(let o): return .object(o.mapValues(\.normalized))
        default: return self
        }
    }

    /// Whether the value is in normal form (see `normalized`).
    public var isNormalized: Bool {
        switch self {
        case .double(let d): return !FieldValue.isIntegral(d)
        case .array(let a): return a.allSatisfy(\.isNormalized)
        case .object(let o): return o.values.allSatisfy(\.isNormalized)
        default: return true
        }
    }

    static func isIntegral(_ d: Double) -> Bool {
        d.isFinite && d.rounded() == d && d >= -9.2e18 && d <= 9.2e18
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number, if this is an integer or a double.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A rough size in bytes of the encoded value, for limits.
    public var approximateSize: Int {
        switch self {
        case .null, .bool: return 5
        case .int, .double: return 24
        case .string(let s): return s.utf8.count + 2
        case .array(let a): return a.reduce(2) { $0 + $1.approximateSize + 1 }
        case .object(let o): return o.reduce(2) { $0 + $1.key.utf8.count + 3 + $1.value.approximateSize + 1 }
        }
    }

    /// The nesting depth: 0 for scalars.
    public var depth: Int {
        switch self {
        case .array(let a): return 1 + (a.map(\.depth).max() ?? 0)
        case .object(let o): return 1 + (o.values.map(\.depth).max() ?? 0)
        default: return 0
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

extension FieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
