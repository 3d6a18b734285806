import FieldSyncConsole
import FieldSyncCore
import FieldSyncOpen311
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import HTTPTypes
import Hummingbird

/// The operators' console under `/console`: server-rendered pages (`FieldSyncConsole`), a session
/// cookie (HttpOnly, SameSite=Strict, Secure behind TLS) for an operator's token, a CSRF token in
/// every form that changes something, and headers that forbid inline script, framing and
/// sniffing. Errors are pages, not JSON.
extension HTTPAPI {
    /// The console's routes (HTML, not part of the JSON API's OpenAPI document).
    static let consoleRoutes: [String] =
        [
            "GET /console", "GET /console/sign-in", "POST /console/sign-in", "POST /console/sign-out",
            "GET /console/reports", "GET /console/reports/{id}", "POST /console/reports/{id}/edit",
            "POST /console/reports/bulk", "GET /console/conflicts",
            "GET /console/conflicts/{report}/{field}", "POST /console/conflicts/{report}/{field}/resolve",
            "GET /console/scorecard", "GET /console/media/{sha256}", "GET /console/static/{file}",
        ] + consoleDeskRoutes + consoleCatalogueRoutes

    static let sessionCookie = "fs_session"

    /// What every console response carries.
    static let consoleSecurityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: contentSecurityPolicy(images: nil),
        HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    /// The console's policy: only its own script and style, images from itself (and the map's
    /// tile server, if one is configured), no framing.
    static func contentSecurityPolicy(images: String?) -> String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'\(images.map { " " + $0 } ?? ""); "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    func addConsoleRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/console") { _, _ in Self.redirect("/console/reports") }
        router.get("/console/static/{file}") { request, context in
            let file = context.parameters.get("file") ?? ""
            switch file {
            case "console.css": return self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8", request)
            case "console.js":
                return self.asset(ConsoleAssets.javascript, type: "text/javascript; charset=utf-8", request)
            default:
                return self.page(ConsolePage.failure(status: 404, message: "No such file.", viewer: nil), .notFound)
            }
        }
        addConsoleSessionRoutes(to: router)
        addConsoleReadingRoutes(to: router)
        addConsoleDeskRoutes(to: router)
        addConsoleCatalogueRoutes(to: router)
        router.post("/console/conflicts/{report}/{field}/resolve") { request, context in
            await self.consolePage(request, context) { session, body in
                try await self.consoleResolve(context, session, body)
            }
        }
        router.get("/console/scorecard") { request, context in
            let session = try? await self.consoleSession(request)
            do {
                return try await self.consoleScorecard(request, session)
            } catch {
                return self.failure(error, viewer: session?.viewer)
            }
        }
    }

    func addConsoleSessionRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/console/sign-in") { request, _ in
            if (try? await self.consoleSession(request)) != nil { return Self.redirect("/console/reports") }
            return self.page(ConsolePage.signIn(error: nil))
        }
        router.post("/console/sign-in") { request, context in
            do {
                let form = try await Self.form(request)
                let signIn = try await self.service.consoleSignIn(token: form["token"] ?? "", client: context.clientKey)
                var response = Self.redirect("/console/reports")
                response.headers[.setCookie] = Self.cookie(
                    signIn.id, request, maxAge: SyncService.consoleSessionMillis / 1000)
                return response
            } catch let error as FieldSyncError {
                let status = APIError.status(for: error.code)
                return self.page(
                    ConsolePage.signIn(error: error.message), status == .tooManyRequests ? status : .unauthorized)
            } catch {
                return self.page(ConsolePage.signIn(error: "Signing in failed; try again."), .badRequest)
            }
        }
        router.post("/console/sign-out") { request, context in
            await self.consolePage(request, context) { session, _ in
                try await self.service.consoleSignOut(session.id, by: session.principal, from: context.clientKey)
                var response = Self.redirect("/console/sign-in")
                response.headers[.setCookie] = Self.cookie("", request, maxAge: 0)
                return response
            }
        }
    }

    func addConsoleReadingRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/console/reports") { request, context in
            await self.consolePage(request, context) { session, _ in try await self.consoleReports(request, session) }
        }
        router.get("/console/reports/{id}") { request, context in
            await self.consolePage(request, context) { session, _ in
                let detail = try await self.service.report(context.parameters.get("id") ?? "", by: session.principal)
                let notice =
                    request.uri.queryParameters["saved"] != nil ? "Saved: devices receive it at their next sync." : nil
                return self.page(ConsolePage.report(detail, viewer: session.viewer, notice: notice))
            }
        }
        router.post("/console/reports/{id}/edit") { request, context in
            await self.consolePage(request, context) { session, form in
                try await self.consoleEdit(context, session, form)
            }
        }
        router.post("/console/reports/bulk") { request, context in
            await self.consolePage(request, context) { session, form in
                try await self.consoleBulk(request, context, session, form)
            }
        }
        router.get("/console/conflicts") { request, context in
            await self.consolePage(request, context) { session, _ in
                let q = request.uri.queryParameters
                let open = q["state"].map(String.init) != "resolved"
                let county = q["county"].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? session.defaultCounty
                let field = q["field"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
                var filter = ConflictFilter(open: open, county: county, limit: 200)
                if let field {
                    guard let name = FieldName(rawValue: field) else {
                        throw FieldSyncError(.invalidRequest, "no field is named '\(field.prefix(64))'")
                    }
                    filter.field = name
                }
                let list = try await self.service.conflicts(filter, by: session.principal)
                return self.page(
                    ConsolePage.conflicts(list, open: open, county: county, field: field, viewer: session.viewer))
            }
        }
        router.get("/console/conflicts/{report}/{field}") { request, context in
            await self.consolePage(request, context) { session, _ in
                let c = try await self.consoleConflict(
                    report: context.parameters.get("report") ?? "", field: context.parameters.get("field") ?? "",
                    session)
                let notice = request.uri.queryParameters["resolved"] != nil ? "Resolved." : nil
                // What each candidate had seen: its change's context, from the report's history.
                let history = try await self.service.report(c.report.rawValue, by: session.principal).history
                let dots = Set(c.candidates.map(\.dot))
                let seen = Dictionary(
                    history.filter { dots.contains($0.dot) }.map { ($0.dot, $0.context) },
                    uniquingKeysWith: { a, _ in a })
                return self.page(ConsolePage.conflict(c, viewer: session.viewer, seen: seen, notice: notice))
            }
        }
        router.get("/console/media/{sha256}") { request, context in
            await self.consolePage(request, context) { session, _ in
                let info = try await self.service.media(context.parameters.get("sha256") ?? "", by: session.principal)
                var response = try self.download(info, request)
                let type = try await self.service.store.mediaReferences(info.sha256).first?.contentType
                if let type, ["image/jpeg", "image/png", "image/webp"].contains(type) {
                    response.headers[.contentType] = type
                } else {
                    response.headers[.contentDisposition] = "attachment"
                }
                return response
            }
        }
    }

    /// A report's conflict on a field: the open one, else the one resolved last.
    func consoleConflict(
        report: String, field: String, _ session: ConsoleRequestSession
    ) async throws -> Conflict {
        if let open = try? await service.conflict(report: report, field: field, resolver: nil, by: session.principal) {
            return open
        }
        guard let rid = ReportID(rawValue: report), let name = FieldName(rawValue: field) else {
            throw FieldSyncError(.notFound, "no such conflict")
        }
        let filter = ConflictFilter(open: false, field: name, report: rid, limit: 200)
        let resolved = try await service.conflicts(filter, by: session.principal).conflicts
        guard let last = resolved.max(by: { ($0.resolution?.hlc ?? .zero) < ($1.resolution?.hlc ?? .zero) }) else {
            throw FieldSyncError(
                .notFound, "no conflict on \(field.prefix(64)) of report \(report.prefix(64)) in your counties")
        }
        return last
    }
}
