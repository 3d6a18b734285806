import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird
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
    public static let routes: [String] = [
        "GET /healthz", "GET /metrics",
        "POST /v1/devices/register", "POST /v1/sync", "GET /v1/me",
        "GET /v1/reports", "GET /v1/reports/{id}",
        "GET /v1/conflicts", "GET /v1/conflicts/{report}/{field}", "GET /v1/conflicts/{report}/{field}/{resolver}",
        "POST /v1/conflicts/{report}/{field}/resolve", "GET /v1/refusals", "GET /v1/audit",
        "POST /v1/admin/enrollments", "POST /v1/admin/operators", "GET /v1/admin/operators",
        "POST /v1/admin/operators/{id}/revoke",
        "GET /v1/admin/devices", "POST /v1/admin/devices/{id}/revoke",
    ]

    /// Builds the router.
    public func router() -> Router<FieldSyncRequestContext> {
        let router = Router(context: FieldSyncRequestContext.self)
        router.add(middleware: APIMiddleware(metrics: service.metrics))
        router.add(middleware: InFlightLimit(limit: service.configuration.maxRequestsInFlight))
        router.get("/healthz") { _, _ in
            try self.respond(["status": "ok", "protocol": "\(ProtocolVersion.current)"], to: nil)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.service.metrics.render())))
        }
        router.post("/v1/devices/register") { request, context in
            try await self.timed {
                var request = request
                // Unauthenticated: the body is read only up to what a registration needs, and
                // every refusal counts toward the sign-in limiter (in the service, for the rest).
                let body: RegisterRequest
                do {
                    body = try await self.decode(RegisterRequest.self, from: &request, maxBytes: Self.maxRegisterBytes)
                } catch let error as FieldSyncError {
                    throw self.service.failedSignIn(error, client: context.clientKey)
                }
                return try self.respond(
                    try await self.service.register(body, client: context.clientKey), to: request, status: .created)
            }
        }
        router.post("/v1/sync") { request, context in
            try await self.timed {
                var request = request
                guard case .device(let device) = try await self.principal(request, context) else {
                    throw FieldSyncError(.forbidden, "only devices sync; operators use /v1/reports and /v1/conflicts")
                }
                let client = request.headers[.userAgent].map { String($0.prefix(128)) }
                do {
                    let body = try await self.decode(SyncRequest.self, from: &request)
                    let answer = try await self.service.sync(body, device: device)
                    await self.service.health.record(
                        device.id, error: nil, client: client, pending: body.pending,
                        service: self.service)
                    return try self.respond(answer, to: request)
                } catch let error as FieldSyncError {
                    await self.service.health.record(
                        device.id, error: error.code.rawValue, client: client, service: self.service)
                    throw error
                }
            }
        }
        router.get("/v1/me") { request, context in
            try await self.timed {
                switch try await self.principal(request, context) {
                case .device(let d):
                    return try self.respond(
                        MeResponse(kind: "device", id: d.id.rawValue, county: d.county), to: request)
                case .operator(let o):
                    return try self.respond(
                        MeResponse(kind: o.role.rawValue, id: o.id, counties: o.counties), to: request)
                case .shell:
                    throw FieldSyncError(.forbidden, "the shell does not call over HTTP")
                }
            }
        }
        router.get("/v1/reports") { request, context in
            try await self.timed {
                let q = try Self.query(
                    request,
                    allowed: ["county", "lifecycle", "status", "category", "updated_since", "q", "limit", "offset"])
                let filter = ReportFilter(
                    county: try Self.county(q.get("county")), lifecycle: q.get("lifecycle"), status: q.get("status"),
                    serviceCode: q.get("category"),
                    updatedSince: try Self.millis(q.get("updated_since"), "updated_since").map {
                        HybridTimestamp(millis: $0)
                    },
                    text: q.get("q"), limit: try Self.int(q.get("limit"), "limit") ?? 50,
                    offset: try Self.int(q.get("offset"), "offset") ?? 0)
                return try self.respond(
                    try await self.service.reports(filter, by: try await self.principal(request, context)), to: request)
            }
        }
        router.get("/v1/reports/{id}") { request, context in
            try await self.timed {
                let id = try context.parameters.require("id")
                return try self.respond(
                    try await self.service.report(id, by: try await self.principal(request, context)), to: request)
            }
        }
        router.get("/v1/conflicts") { request, context in
            try await self.timed {
                let q = try Self.query(
                    request, allowed: ["state", "county", "field", "report", "since", "limit", "offset"])
                let open: Bool?
                switch q.get("state") {
                case nil, "all": open = nil
                case "open": open = true
                case "resolved": open = false
                case let other?:
                    throw FieldSyncError(
                        .invalidRequest, "state must be open, resolved or all, not '\(other.prefix(20))'")
                }
                let field = try q.get("field").map { raw throws(FieldSyncError) -> FieldName in
                    raw == FieldName.lifecycle.rawValue ? .lifecycle : try FieldName(validating: raw)
                }
                let filter = ConflictFilter(
                    open: open, county: try Self.county(q.get("county")), field: field,
                    report: try q.get("report").map { raw throws(FieldSyncError) in try ReportID(validating: raw) },
                    sinceMillis: try Self.millis(q.get("since"), "since"),
                    limit: try Self.int(q.get("limit"), "limit") ?? 50,
                    offset: try Self.int(q.get("offset"), "offset") ?? 0)
                return try self.respond(
                    try await self.service.conflicts(filter, by: try await self.principal(request, context)),
                    to: request)
            }
        }
        router.get("/v1/conflicts/{report}/{field}") { request, context in
            try await self.timed {
                let c = try await self.service.conflict(
                    report: try context.parameters.require("report"), field: try context.parameters.require("field"),
                    resolver: nil, by: try await self.principal(request, context))
                return try self.respond(c, to: request)
            }
        }
        router.get("/v1/conflicts/{report}/{field}/{resolver}") { request, context in
            try await self.timed {
                let c = try await self.service.conflict(
                    report: try context.parameters.require("report"), field: try context.parameters.require("field"),
                    resolver: try context.parameters.require("resolver"), by: try await self.principal(request, context)
                )
                return try self.respond(c, to: request)
            }
        }
        router.post("/v1/conflicts/{report}/{field}/resolve") { request, context in
            try await self.timed {
                var request = request
                let caller = try await self.principal(request, context)
                let body = try await self.decode(ResolveRequest.self, from: &request)
                let r = try await self.service.resolve(
                    report: try context.parameters.require("report"), field: try context.parameters.require("field"),
                    body,
                    by: caller, from: context.clientKey)
                return try self.respond(r, to: request, status: .created)
            }
        }
        router.get("/v1/refusals") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "device", "limit", "offset"])
                let via = try q.get("device").map { raw throws(FieldSyncError) in try DeviceID(validating: raw).rawValue
                }
                let filter = RefusalFilter(
                    counties: try Self.county(q.get("county")).map { [$0] }, via: via,
                    limit: try Self.int(q.get("limit"), "limit") ?? 50,
                    offset: try Self.int(q.get("offset"), "offset") ?? 0)
                return try self.respond(
                    try await self.service.refusals(filter, by: try await self.principal(request, context)), to: request
                )
            }
        }
        router.get("/v1/audit") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "action", "actor", "since", "limit", "offset"])
                let action = try q.get("action").map { raw throws(FieldSyncError) -> AuditAction in
                    guard let a = AuditAction(rawValue: raw) else {
                        throw FieldSyncError(
                            .invalidRequest,
                            "action must be one of \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return a
                }
                let filter = AuditFilter(
                    counties: try Self.county(q.get("county")).map { [$0] }, action: action,
                    actor: try q.get("actor").map { raw throws(FieldSyncError) in try Self.identifier(raw, "actor") },
                    sinceMillis: try Self.millis(q.get("since"), "since"),
                    limit: try Self.int(q.get("limit"), "limit") ?? 100,
                    offset: try Self.int(q.get("offset"), "offset") ?? 0)
                let entries = try await self.service.auditLog(filter, by: try await self.principal(request, context))
                return try self.respond(["entries": entries], to: request)
            }
        }
        router.post("/v1/admin/enrollments") { request, context in
            try await self.timed {
                var request = request
                let caller = try await self.principal(request, context)
                let body = try await self.decode(EnrollmentRequest.self, from: &request)
                return try self.respond(
                    try await self.service.enroll(body, by: caller, from: context.clientKey), to: request,
                    status: .created)
            }
        }
        router.post("/v1/admin/operators") { request, context in
            try await self.timed {
                var request = request
                let caller = try await self.principal(request, context)
                let body = try await self.decode(OperatorRequest.self, from: &request)
                return try self.respond(
                    try await self.service.createOperator(body, by: caller, from: context.clientKey), to: request,
                    status: .created)
            }
        }
        router.get("/v1/admin/operators") { request, context in
            try await self.timed {
                let list = try await self.service.operators(by: try await self.principal(request, context))
                return try self.respond(["operators": list], to: request)
            }
        }
        router.post("/v1/admin/operators/{id}/revoke") { request, context in
            try await self.timed {
                let caller = try await self.principal(request, context)
                return try self.respond(
                    try await self.service.revokeOperator(
                        try context.parameters.require("id"), by: caller, from: context.clientKey),
                    to: request)
            }
        }
        router.get("/v1/admin/devices") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["county", "silent_days"])
                let silent = try Self.int(q.get("silent_days"), "silent_days")
                if let silent, !(0...3_650).contains(silent) {
                    throw FieldSyncError(.invalidRequest, "silent_days must be 0-3650")
                }
                let list = try await self.service.devices(
                    county: try Self.county(q.get("county")), by: try await self.principal(request, context),
                    silentDays: silent)
                return try self.respond(["devices": list], to: request)
            }
        }
        router.post("/v1/admin/devices/{id}/revoke") { request, context in
            try await self.timed {
                let caller = try await self.principal(request, context)
                return try self.respond(
                    try await self.service.revoke(
                        try context.parameters.require("id"), by: caller, from: context.clientKey), to: request)
            }
        }
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
