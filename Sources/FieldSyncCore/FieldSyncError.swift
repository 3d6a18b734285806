public import Foundation

/// An error with a stable machine-readable code and a message that says what was wrong and
/// what to do about it. Every refusal in FieldSync — core, store, server — is one of these.
public struct FieldSyncError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier such as `dot_reuse`; clients switch on it, never on the message.
    public let code: Code
    /// A human-readable explanation, including how to recover.
    public let message: String

    /// Creates an error with a code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The stable error codes. Their meaning is documented in `protocol/README.md`, "Errors".
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        case invalidIdentifier = "invalid_identifier"
        case invalidSequence = "invalid_sequence"
        case invalidContext = "invalid_context"
        case invalidOperation = "invalid_operation"
        case unknownField = "unknown_field"
        case fieldTooLarge = "field_too_large"
        case emptyChange = "empty_change"
        case countyMismatch = "county_mismatch"
        case dotReuse = "dot_reuse"
        case sequenceGap = "sequence_gap"
        case missingDependency = "missing_dependency"
        case dependencyRefused = "dependency_refused"
        case logForked = "log_forked"
        case unknownReport = "unknown_report"
        case reportExists = "report_exists"
        case clockSkew = "clock_skew"
        case staleDevice = "stale_device"
        case storage = "storage_error"
        case schemaTooNew = "schema_too_new"
        case databaseInUse = "database_in_use"
        case wrongStore = "wrong_store"
        case malformed = "malformed"
        // Server and protocol codes.
        case malformedJSON = "malformed_json"
        case unsupportedProtocolVersion = "unsupported_protocol_version"
        case unsupportedEncoding = "unsupported_encoding"
        case bodyTooLarge = "body_too_large"
        case tooManyChanges = "too_many_changes"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case wrongCounty = "wrong_county"
        case deviceRevoked = "device_revoked"
        case unknownDevice = "unknown_device"
        case badSignature = "bad_signature"
        case certificateInvalid = "certificate_invalid"
        case certificateExpired = "certificate_expired"
        case invalidEnrollment = "invalid_enrollment"
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case invalidRequest = "invalid_request"
        case rateLimited = "rate_limited"
        case timeout = "timeout"
        case overloaded = "overloaded"
        // Media and uploads (tus).
        case uploadConflict = "upload_conflict"
        case uploadExpired = "upload_expired"
        case checksumMismatch = "checksum_mismatch"
        case mediaMismatch = "media_mismatch"
        case mediaNotReferenced = "media_not_referenced"
        case mediaPurged = "media_purged"
        case unsupportedTusVersion = "unsupported_tus_version"
        case unsupportedContentType = "unsupported_content_type"
        case rangeNotSatisfiable = "range_not_satisfiable"
        case invalidCatalogue = "invalid_catalogue"
        case internalError = "internal_error"
    }
}

extension FieldSyncError: LocalizedError {
    /// `code: message`, as command-line tools print it.
    public var errorDescription: String? { "\(code.rawValue): \(message)" }
}

extension DecodingError {
    /// A decoded value refused on its meaning, carrying the stable code the refusal answers
    /// (`JSONWireCodec` reports that code, with the value's path, instead of `malformed_json`).
    public static func refused(
        _ code: FieldSyncError.Code, _ message: String, at path: [any CodingKey]
    ) -> DecodingError {
        .dataCorrupted(
            .init(codingPath: path, debugDescription: message, underlyingError: FieldSyncError(code, message)))
    }
}
