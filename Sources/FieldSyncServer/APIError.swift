public import FieldSyncCore
import FieldSyncProtocol
import Foundation
public import Hummingbird

/// A refusal sent to a client: the HTTP status that fits the code, and `{code, message}`.
public struct APIError: HTTPResponseError, Sendable {
    /// The error.
    public let error: FieldSyncError

    /// Wraps an error.
    public init(_ error: FieldSyncError) { self.error = error }

    /// Creates an error.
    public init(_ code: FieldSyncError.Code, _ message: String) { error = FieldSyncError(code, message) }

    /// The HTTP status for each code.
    public var status: HTTPResponse.Status { Self.status(for: error.code) }

    /// The HTTP status for a code.
    public static func status(for code: FieldSyncError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedJSON, .malformed, .invalidRequest, .unsupportedProtocolVersion, .invalidCatalogue:
            return .badRequest
        case .unauthorized, .deviceRevoked: return .unauthorized
        case .forbidden, .wrongCounty, .unknownDevice: return .forbidden
        case .notFound, .unknownReport: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .dotReuse, .sequenceGap, .missingDependency, .reportExists, .staleDevice, .dependencyRefused, .logForked:
            return .conflict
        case .bodyTooLarge: return .contentTooLarge
        case .unsupportedEncoding: return .unsupportedMediaType
        case .rateLimited: return .tooManyRequests
        case .uploadConflict: return .conflict
        case .uploadExpired, .mediaPurged: return .gone
        case .checksumMismatch, .mediaMismatch: return HTTPResponse.Status(code: 460, reasonPhrase: "Checksum Mismatch")
        case .mediaNotReferenced: return .forbidden
        case .unsupportedTusVersion: return .preconditionFailed
        case .unsupportedContentType: return .unsupportedMediaType
        case .rangeNotSatisfiable: return .rangeNotSatisfiable
        case .timeout, .overloaded: return .serviceUnavailable
        case .storage, .internalError, .schemaTooNew, .databaseInUse, .wrongStore: return .internalServerError
        case .invalidIdentifier, .invalidSequence, .invalidContext, .invalidOperation, .unknownField, .fieldTooLarge,
            .emptyChange, .countyMismatch, .clockSkew, .badSignature, .tooManyChanges, .invalidEnrollment,
            .certificateInvalid, .certificateExpired:
            return .unprocessableContent
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = (try? JSONWireCodec().encode(ErrorBody(error))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .tooManyRequests { headers[.retryAfter] = "60" }
        if error.code == .overloaded { headers[.retryAfter] = "5" }
        if status == .methodNotAllowed, let path = request.uri.path.removingPercentEncoding {
            headers[.allow] = APIMiddleware.allowedMethods(path).joined(separator: ", ")
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
