import FieldSyncConsole
import FieldSyncCore
import FieldSyncOpen311
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation
import HTTPTypes
import Hummingbird
import Prometheus

/// The console's plumbing: the session behind a request, pages and their headers, forms, CSRF.
extension HTTPAPI {
    /// A signed-in request's session.
    struct ConsoleRequestSession: Sendable {
        var id: String
        var principal: Principal
        var session: ConsoleSession
        var viewer: ConsolePage.Viewer

        /// The county a list shows when none is chosen and the operator covers several (the
        /// service asks for one): the first of theirs. Nil for one county, or all (`*`).
        var defaultCounty: String? {
            viewer.counties.count > 1 && !viewer.counties.contains("*") ? viewer.counties.first : nil
        }
    }

    /// The session the request's cookie names, or nil.
    func consoleSession(_ request: Request) async throws(FieldSyncError) -> ConsoleRequestSession? {
        guard let id = Self.cookieValue(request.headers[.cookie], Self.sessionCookie),
            let (principal, session) = try await service.consoleSession(id),
            case .operator(let op) = principal
        else { return nil }
        let viewer = ConsolePage.Viewer(
            name: op.name, role: op.role.rawValue, counties: op.counties, csrf: session.csrf)
        return ConsoleRequestSession(id: id, principal: principal, session: session, viewer: viewer)
    }

    /// Runs a page handler for a signed-in operator: no session → the sign-in page; a POST must
    /// carry the session's CSRF token (its form is handed to the handler); errors become pages.
    func consolePage(
        _ request: Request, _ context: FieldSyncRequestContext, maxBody: Int = 65_536,
        _ handler: (ConsoleRequestSession, Open311Form) async throws -> Response
    ) async -> Response {
        await ConsoleEncoding.$accepted.withValue(request.headers[.acceptEncoding]) {
            await consolePageBody(request, context, maxBody: maxBody, handler)
        }
    }

    private func consolePageBody(
        _ request: Request, _ context: FieldSyncRequestContext, maxBody: Int,
        _ handler: (ConsoleRequestSession, Open311Form) async throws -> Response
    ) async -> Response {
        var viewer: ConsolePage.Viewer?
        do {
            guard let session = try await consoleSession(request) else { return Self.redirect("/console/sign-in") }
            viewer = session.viewer
            var form = try Open311Form([UInt8]())
            if request.method == .post {
                form = try await Self.form(request, maxBody: maxBody)
                guard let sent = form["csrf"], Self.same(sent, session.session.csrf) else {
                    throw FieldSyncError(
                        .forbidden, "the form is stale or came from elsewhere: reload the page and try again")
                }
            }
            return try await handler(session, form)
        } catch {
            return failure(error, viewer: viewer)
        }
    }

    /// An error as a page with the status its code has.
    func failure(_ error: any Error, viewer: ConsolePage.Viewer?) -> Response {
        let e = (error as? FieldSyncError) ?? FieldSyncError(.internalError, "the page failed; try again")
        let status = APIError.status(for: e.code)
        return page(ConsolePage.failure(status: status.code, message: e.message, viewer: viewer), status)
    }

    /// A page, compressed when the browser accepts it, with the console's headers.
    func page(_ html: String, _ status: HTTPResponse.Status = .ok, request: Request? = nil) -> Response {
        var headers = Self.consoleSecurityHeaders
        if let tiles = service.configuration.mapTiles {
            headers[HTTPField.Name("Content-Security-Policy")!] = Self.contentSecurityPolicy(images: tiles.origin)
        }
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        var data = Data(html.utf8)
        let accepted = request?.headers[.acceptEncoding] ?? ConsoleEncoding.accepted
        if data.count > 1_024, let encoding = BodyCompression.preferred(acceptEncoding: accepted) {
            data = encoding.compress(data)
            headers[.contentEncoding] = encoding.rawValue
            headers[.vary] = "Accept-Encoding"
        }
        service.metrics.bytesOut.increment(by: Int64(data.count))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A static file, cacheable for an hour.
    func asset(_ text: String, type: String, _ request: Request) -> Response {
        var headers = Self.consoleSecurityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=3600"
        var data = Data(text.utf8)
        if let encoding = BodyCompression.preferred(acceptEncoding: request.headers[.acceptEncoding]) {
            data = encoding.compress(data)
            headers[.contentEncoding] = encoding.rawValue
            headers[.vary] = "Accept-Encoding"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A `303 See Other` to a console path.
    static func redirect(_ path: String) -> Response {
        var headers = consoleSecurityHeaders
        headers[.location] = path
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    /// The session cookie: HttpOnly, SameSite=Strict, scoped to `/console`, Secure when the
    /// request came over TLS (directly or through a proxy that says so).
    static func cookie(_ value: String, _ request: Request, maxAge: UInt64) -> String {
        let secure = request.uri.scheme == .https || request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https"
        return "\(sessionCookie)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (secure ? "; Secure" : "")
    }

    /// A cookie's value in a `Cookie` header.
    static func cookieValue(_ header: String?, _ name: String) -> String? {
        guard let header, header.utf8.count <= 8_192 else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return String(pair[1]) }
        }
        return nil
    }

    /// A form body (at most `maxBody` bytes, 64 KiB unless a page says otherwise), decoded
    /// within Open311Form's bounds.
    static func form(_ request: Request, maxBody: Int = 65_536) async throws -> Open311Form {
        let body = try await request.body.collect(upTo: maxBody)
        return try Open311Form(body.readableBytesView, maxValue: max(16_384, maxBody))
    }

    /// Compares two tokens in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool { Tokens.hash(a) == Tokens.hash(b) }
}

/// What the browser accepts as content encodings, for the pages a console request renders.
enum ConsoleEncoding {
    @TaskLocal static var accepted: String?
}
