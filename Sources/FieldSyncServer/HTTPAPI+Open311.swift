import FieldSyncCore
import FieldSyncOpen311
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// Open311 GeoReport v2 under `/open311/v2`: public reads (no key), requests filed with a
/// client's `api_key`, XML or JSON by the path's extension, errors as GeoReport's list of
/// `{code, description}`. `jurisdiction_id` selects the county when several publish services.
extension HTTPAPI {
    /// The Open311 routes, each `.json` and `.xml` where the format is in a fixed path.
    static let open311Routes: [String] =
        Open311Format.allCases.flatMap { f in
            [
                "GET /open311/v2/discovery.\(f)", "GET /open311/v2/services.\(f)", "GET /open311/v2/requests.\(f)",
                "POST /open311/v2/requests.\(f)", "GET /open311/v2/servicerequestupdates.\(f)",
            ]
        } + ["GET /open311/v2/services/{file}", "GET /open311/v2/requests/{file}", "GET /open311/v2/tokens/{file}"]

    func addOpen311Routes(to router: Router<FieldSyncRequestContext>) {
        for format in Open311Format.allCases {
            let base = "/open311/v2"
            router.get("\(base)/discovery.\(format)") { request, _ in
                await self.open311(format, root: "discovery") { _ in
                    Open311Documents.discovery(
                        url: Self.open311BaseURL(request), changeset: "2026-11-29T00:00:00Z",
                        contact: "The county's operators: see the county's FieldSync desk")
                } query: {
                    try Self.open311Query(request)
                }
            }
            router.get("\(base)/services.\(format)") { request, _ in
                await self.open311(format, root: "services") { q in
                    try await self.service.open311Services(jurisdiction: q["jurisdiction_id"])
                } query: {
                    try Self.open311Query(request)
                }
            }
            router.get("\(base)/requests.\(format)") { request, _ in
                await self.open311(format, root: "service_requests") { q in
                    try await self.service.open311Requests(jurisdiction: q["jurisdiction_id"], query: q)
                } query: {
                    try Self.open311Query(request)
                }
            }
            router.get("\(base)/servicerequestupdates.\(format)") { request, _ in
                await self.open311(format, root: "service_request_updates") { q in
                    try await self.service.open311Updates(jurisdiction: q["jurisdiction_id"], query: q)
                } query: {
                    try Self.open311Query(request)
                }
            }
            router.post("\(base)/requests.\(format)") { request, _ in
                var request = request
                let body = try? await request.collectBody(upTo: 65_536)
                let bytes = body.map { Array($0.readableBytesView) }
                return await self.open311(format, root: "service_requests", status: .created) { q in
                    try await self.service.open311File(q, jurisdiction: q["jurisdiction_id"])
                } query: {
                    guard let bytes else {
                        throw FieldSyncError(.bodyTooLarge, "a request form is at most 64 KiB")
                    }
                    var form = try Open311Form(bytes)
                    for (k, v) in try Self.open311Query(request).values where form.values[k] == nil { form.set(k, v) }
                    return form
                }
            }
        }
        addOpen311FileRoutes(to: router)
    }

    private func addOpen311FileRoutes(to router: Router<FieldSyncRequestContext>) {
        for kind in ["services", "requests", "tokens"] {
            router.get("/open311/v2/\(kind)/{file}") { request, context in
                let file = context.parameters.get("file") ?? ""
                guard let (name, format) = Open311Format.split(file) else {
                    return self.open311Error(
                        .json, FieldSyncError(.notFound, "name a document ending in .xml or .json"))
                }
                let root = kind == "services" ? "service_definition" : "service_requests"
                return await self.open311(format, root: root) { q in
                    let j = q["jurisdiction_id"]
                    switch kind {
                    case "services": return try await self.service.open311Definition(jurisdiction: j, code: name)
                    case "requests": return try await self.service.open311Request(jurisdiction: j, id: name)
                    default: return try await self.service.open311Token(jurisdiction: j, token: name)
                    }
                } query: {
                    try Self.open311Query(request)
                }
            }
        }
    }

    /// Runs an Open311 handler and writes its document, or its refusal as GeoReport errors.
    func open311(
        _ format: Open311Format, root: String, status: HTTPResponse.Status = .ok,
        _ body: (Open311Form) async throws -> Open311Node,
        query: () throws -> Open311Form
    ) async -> Response {
        do {
            let form = try query()
            if let j = form["jurisdiction_id"], !Identifier.isValid(j) {
                throw FieldSyncError(.notFound, "jurisdiction_id '\(j.prefix(64))' is not served here")
            }
            return open311Response(format, status: status, try await body(form), root: root)
        } catch let error as FieldSyncError {
            return open311Error(format, error)
        } catch {
            return open311Error(format, FieldSyncError(.internalError, "the request failed; retry it"))
        }
    }

    func open311Response(
        _ format: Open311Format, status: HTTPResponse.Status, _ node: Open311Node, root: String
    )
        -> Response
    {
        let text = format == .json ? node.json() : node.xml(root: root)
        var headers: HTTPFields = [.contentType: format.contentType]
        headers[.accessControlAllowOrigin] = "*"
        service.metrics.bytesOut.increment(by: Int64(text.utf8.count))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func open311Error(_ format: Open311Format, _ error: FieldSyncError) -> Response {
        var status = APIError.status(for: error.code)
        if status == .unauthorized { status = .forbidden }
        if error.code == .wrongCounty { status = .forbidden }
        return open311Response(
            format, status: status, Open311Documents.errors(status.code, error.message), root: "errors")
    }

    static func open311Query(_ request: Request) throws(FieldSyncError) -> Open311Form {
        try Open311Form(Array((request.uri.query ?? "").utf8))
    }

    /// The endpoint's address as a client reached it (the `Host` it named, when it is a plain host).
    static func open311BaseURL(_ request: Request) -> String {
        let host = request.head.authority ?? ""
        let plain =
            !host.isEmpty && host.utf8.count <= 255
            && host.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || ".-:[]".unicodeScalars.contains($0)
            }
        return "http://\(plain ? host : "localhost")/open311/v2"
    }
}
