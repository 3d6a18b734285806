public import FieldSyncCore
public import Foundation

/// The seam through which every message body is encoded: JSON now; a compact binary encoding
/// can be negotiated later behind the same interface (by `Content-Type`).
public protocol WireCodec: Sendable {
    /// The `Content-Type` this codec produces and accepts.
    var contentType: String { get }
    /// Encodes a message.
    func encode<T: Encodable>(_ value: T) throws(FieldSyncError) -> Data
    /// Decodes a message from untrusted bytes.
    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(FieldSyncError) -> T
}

/// JSON bodies (`application/json`), keys sorted so that equal messages are equal bytes.
public struct JSONWireCodec: WireCodec {
    public var contentType: String { "application/json" }

    /// Creates the codec.
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws(FieldSyncError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(value) } catch {
            throw FieldSyncError(.internalError, "cannot encode \(T.self): \(error)")
        }
    }

    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(FieldSyncError) -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch let error as DecodingError {
            throw Self.refusal(error, decoding: T.self, from: data)
        } catch {
            throw FieldSyncError(.malformedJSON, "the body is not valid JSON: \(error)")
        }
    }

    /// The refusal a decoding error answers: a value refused on its meaning keeps its own code
    /// (`invalid_identifier`, `unknown_field`, `invalid_context`, …); JSON that does not parse is
    /// `malformed_json`; JSON of the wrong shape (a wrong type, a missing key, a number out of
    /// its type's range) is `invalid_request`.
    static func refusal<T>(_ error: DecodingError, decoding _: T.Type, from data: Data) -> FieldSyncError {
        let explanation = describe(error)
        switch error {
        case .dataCorrupted(let c) where c.underlyingError is FieldSyncError:
            let code = (c.underlyingError as! FieldSyncError).code
            return FieldSyncError(code, "the body is not a valid \(T.self): \(explanation)")
        case .dataCorrupted(let c) where c.codingPath.isEmpty:
            // Foundation reports a number out of its type's range (a negative or too large
            // integer) as invalid JSON at the top level: tell the two apart.
            guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
                return FieldSyncError(.malformedJSON, "the body is not valid JSON: \(explanation)")
            }
            return FieldSyncError(
                .invalidRequest,
                "the body is not a valid \(T.self): a number is out of range for its field (integers are whole, 0 or more, and at most 9223372036854775807 unless the schema says less)"
            )
        default:
            return FieldSyncError(.invalidRequest, "the body is not a valid \(T.self): \(explanation)")
        }
    }

    /// A short, human explanation of a decoding error, with the path of the offending field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.isEmpty
                ? "the top level"
                : p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(
                    in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)) should be \(type)"
        case .valueNotFound(let type, let c): return "\(path(c.codingPath)) is missing (\(type))"
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])) is required"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
