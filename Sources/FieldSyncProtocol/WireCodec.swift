import FieldSyncCore
import Foundation

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
            throw FieldSyncError(.malformedJSON, "the body is not a valid \(T.self): \(Self.describe(error))")
        } catch {
            throw FieldSyncError(.malformedJSON, "the body is not valid JSON: \(error)")
        }
    }

    /// A short, human explanation of a decoding error, with the path of the offending field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.isEmpty ? "the top level" : p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
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
