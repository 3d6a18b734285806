import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Prometheus
public import Hummingbird
import Logging

/// The HTTP face of `SyncService`: routes, body limits, compression, JSON errors, metrics and
/// request logs. `protocol/openapi.json` documents every route registered here.
public struct HTTPAPI: Sendable {
    /// The service behind the routes.
    public let service: SyncService
    let codec = JSONWireCodec()

    /// Creates the API.
    public init(service: SyncService) { self.service = service }

    /// The route table, as `METHOD path` with `{param}` placeholders: the one list the OpenAPI
    /// document (`ProtocolConformanceTests`), the router's registrations and the 405 `Allow`
    /// header (`RouteTableTests`) are held to.
    public static let routes: [String] =
        [
            "GET /healthz", "GET /metrics",
            "POST /v1/devices/register", "POST /v1/sync", "GET /v1/me",
            "GET /v1/reports", "GET /v1/reports/{id}",
            "GET /v1/conflicts", "GET /v1/conflicts/{report}/{field}", "GET /v1/conflicts/{report}/{field}/{resolver}",
            "POST /v1/conflicts/{report}/{field}/resolve", "GET /v1/refusals", "GET /v1/audit",
            "POST /v1/admin/enrollments", "POST /v1/admin/operators", "GET /v1/admin/operators",
            "POST /v1/admin/operators/{id}/revoke",
            "GET /v1/admin/devices", "POST /v1/admin/devices/{id}/revoke",
            "OPTIONS /v1/uploads", "POST /v1/uploads", "HEAD /v1/uploads/{id}", "PATCH /v1/uploads/{id}",
            "DELETE /v1/uploads/{id}", "GET /v1/media", "GET /v1/media/{sha256}", "POST /v1/admin/media/{sha256}/purge",
            "GET /v1/catalogue", "GET /v1/catalogue/versions", "POST /v1/admin/catalogue",
            "GET /v1/scorecard", "GET /v1/public/scorecard",
        ] + open311Routes

    /// Builds the router.
    public func router() -> Router<FieldSyncRequestContext> {
        let router = Router(context: FieldSyncRequestContext.self)
        router.add(middleware: APIMiddleware(metrics: service.metrics))
        router.add(middleware: InFlightLimit(limit: service.configuration.maxRequestsInFlight))
        addServiceRoutes(to: router)
        addDeviceRoutes(to: router)
        addOperatorRoutes(to: router)
        addAdminRoutes(to: router)
        addMediaRoutes(to: router)
        addCatalogueRoutes(to: router)
        addOpen311Routes(to: router)
        addScorecardRoutes(to: router)
        addConsoleRoutes(to: router)
        return router
    }

    // MARK: Helpers

    func principal(_ request: Request, _ context: FieldSyncRequestContext) async throws(FieldSyncError) -> Principal {
        try await service.authenticate(request.headers[.authorization], client: context.clientKey)
    }

    /// Reads, decompresses and decodes a request body within the limits.
    /// The largest registration body, compressed or not: a token and a key fit in far less.
    static let maxRegisterBytes = 8 * 1024

    func decode<T: Decodable>(_ type: T.Type, from request: inout Request, maxBytes: Int? = nil) async throws -> T {
        let limit = min(maxBytes ?? .max, service.configuration.maxBodyBytes)
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            throw FieldSyncError(
                .bodyTooLarge, "the request body is larger than \(limit) bytes; send fewer changes per request")
        }
        service.metrics.bytesIn.increment(by: Int64(buffer.readableBytes))
        var data = Data(buffer.readableBytesView)
        if let encoding = try BodyCompression.from(contentEncoding: request.headers[.contentEncoding]) {
            data = try encoding.decompress(
                data, maxBytes: min(maxBytes ?? .max, service.configuration.maxDecompressedBytes))
        }
        return try codec.decode(type, from: data)
    }

    /// Encodes a response, compressing it when the client accepts gzip or deflate.
    func respond<T: Encodable>(_ value: T, to request: Request?, status: HTTPResponse.Status = .ok) throws -> Response {
        var data = try codec.encode(value)
        var headers: HTTPFields = [.contentType: codec.contentType]
        if data.count > service.configuration.compressAboveBytes,
            let encoding = BodyCompression.preferred(acceptEncoding: request?.headers[.acceptEncoding])
        {
            data = encoding.compress(data)
            headers[.contentEncoding] = encoding.rawValue
            headers[.vary] = "Accept-Encoding"
        }
        service.metrics.bytesOut.increment(by: Int64(data.count))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs a handler with the configured time limit.
    func timed(_ body: @escaping @Sendable () async throws -> Response) async throws -> Response {
        let seconds = service.configuration.requestTimeoutSeconds
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw FieldSyncError(
                    .timeout,
                    "the request took longer than \(Int(seconds)) s; retry it (every request is safe to repeat)")
            }
            return response
        }
    }

    static func int(_ raw: String?, _ name: String) throws(FieldSyncError) -> Int? {
        guard let raw else { return nil }
        guard let v = Int(raw) else {
            throw FieldSyncError(.invalidRequest, "\(name) must be an integer, not '\(raw.prefix(20))'")
        }
        return v
    }

    /// The query parameters of a request, refused (`400 invalid_request`, naming them) if any is
    /// not one the endpoint knows: a misspelt filter must not silently return everything.
    static func query(_ request: Request, allowed: Set<String>) throws(FieldSyncError) -> Parameters {
        let q = request.uri.queryParameters
        let unknown = Set(q.map { String($0.key) }).subtracting(allowed).sorted()
        guard unknown.isEmpty else {
            throw FieldSyncError(
                .invalidRequest,
                "unknown query parameter\(unknown.count == 1 ? "" : "s") \(unknown.prefix(5).map { "'\($0.prefix(40))'" }.joined(separator: ", ")); this endpoint takes \(allowed.sorted().joined(separator: ", "))"
            )
        }
        return q
    }

    /// An identifier from a query string (an operator, device or `shell:` actor).
    static func identifier(_ raw: String, _ name: String) throws(FieldSyncError) -> String {
        let body = raw.hasPrefix("shell:") ? String(raw.dropFirst(6)) : raw
        guard Identifier.isValid(body) else {
            throw FieldSyncError(
                .invalidIdentifier, "\(name) '\(raw.prefix(64))' is not a valid id (1–64 of A–Z a–z 0–9 - _ .)")
        }
        return raw
    }

    /// A county id from a query string: an identifier, or absent.
    static func county(_ raw: String?) throws(FieldSyncError) -> String? {
        guard let raw else { return nil }
        guard Identifier.isValid(raw) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "county '\(raw.prefix(64))' is not a valid county id (1–64 of A–Z a–z 0–9 - _ .); omit it for all your counties"
            )
        }
        return raw
    }

    static func millis(_ raw: String?, _ name: String) throws(FieldSyncError) -> UInt64? {
        guard let raw else { return nil }
        // Bounded where decoded: the stores hold times as signed 64-bit integers.
        guard let v = UInt64(raw), v <= ChangeLimits.maxStoredInteger else {
            throw FieldSyncError(
                .invalidRequest,
                "\(name) must be milliseconds since the Unix epoch (0 to 9223372036854775807), not '\(raw.prefix(24))'")
        }
        return v
    }
}
