import FieldSyncConsole
import FieldSyncCore
import FieldSyncOpen311
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import HTTPTypes
import Hummingbird

/// The console's devices page (enroll and revoke: admins), audit log, and exports.
extension HTTPAPI {
    static let consoleDeskRoutes: [String] = [
        "GET /console/devices", "POST /console/devices/enroll", "POST /console/devices/{id}/revoke",
        "GET /console/audit", "GET /console/export.csv", "GET /console/export.geojson",
    ]

    func addConsoleDeskRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/console/devices") { request, context in
            await self.consolePage(request, context) { session, _ in
                let list = try await self.service.devices(county: nil, by: session.principal)
                let notice = request.uri.queryParameters["revoked"].map { "Revoked \($0): its token stopped working." }
                return self.page(ConsolePage.devices(list, viewer: session.viewer, notice: notice))
            }
        }
        router.post("/console/devices/enroll") { request, context in
            await self.consolePage(request, context) { session, form in
                let enrolled = try await self.service.enroll(
                    EnrollmentRequest(county: form["county"] ?? "", deviceID: form["device"]), by: session.principal,
                    from: context.clientKey)
                let list = try await self.service.devices(county: nil, by: session.principal)
                // The token is on this page only: never in an address, never stored but as a hash.
                return self.page(ConsolePage.devices(list, viewer: session.viewer, enrolled: enrolled))
            }
        }
        router.post("/console/devices/{id}/revoke") { request, context in
            await self.consolePage(request, context) { session, _ in
                let id = context.parameters.get("id") ?? ""
                _ = try await self.service.revoke(id, by: session.principal, from: context.clientKey)
                return Self.redirect("/console/devices?revoked=\(ConsoleQuery.encode(id))")
            }
        }
        router.get("/console/audit") { request, context in
            await self.consolePage(request, context) { session, _ in
                let asked = request.uri.queryParameters["action"].map(String.init)
                var filter = AuditFilter(limit: 200)
                filter.action = asked.flatMap(AuditAction.init(rawValue:))
                let entries = try await self.service.auditLog(filter, by: session.principal)
                return self.page(ConsolePage.audit(entries, action: asked, viewer: session.viewer))
            }
        }
        for format in ["csv", "geojson"] {
            router.get("/console/export.\(format)") { request, context in
                await self.consolePage(request, context) { session, _ in
                    try await self.consoleExport(format, request, context, session)
                }
            }
        }
    }

    /// The filtered list (up to 10,000 reports) as a file; personal fields only for admins who
    /// ask (`personal=1`). Audited.
    func consoleExport(
        _ format: String, _ request: Request, _ context: FieldSyncRequestContext, _ session: ConsoleRequestSession
    ) async throws -> Response {
        let personal = request.uri.queryParameters["personal"] == "1"
        if personal && !session.principal.isAdmin {
            throw FieldSyncError(.forbidden, "only admins export personal fields")
        }
        var (_, filter) = try Self.reportQuery(request, limit: 500)
        filter.offset = 0
        filter.county = filter.county ?? session.defaultCounty
        var reports: [Report] = []
        while reports.count < 10_000 {
            let page = try await service.reports(filter, by: session.principal)
            reports += page.reports
            guard let next = page.nextOffset else { break }
            filter.offset = next
        }
        try await service.recordExport(
            format: format, count: reports.count, personal: personal, by: session.principal, from: context.clientKey)
        var headers = Self.consoleSecurityHeaders
        headers[.cacheControl] = "no-store"
        headers[.contentDisposition] = "attachment; filename=\"reports.\(format)\""
        let body: Data
        if format == "csv" {
            headers[.contentType] = "text/csv; charset=utf-8"
            body = Data(ConsoleExport.csv(reports, personal: personal).utf8)
        } else {
            headers[.contentType] = "application/geo+json"
            body = ConsoleExport.geoJSON(reports, personal: personal)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The console's catalogue page: read by the county's operators, published by admins.
extension HTTPAPI {
    static let consoleCatalogueRoutes: [String] = ["GET /console/catalogue", "POST /console/catalogue"]

    func addConsoleCatalogueRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/console/catalogue") { request, context in
            await self.consolePage(request, context) { session, _ in
                let asked = request.uri.queryParameters["county"].map(String.init)
                return try await self.catalogueView(session, county: asked, notice: nil)
            }
        }
        router.post("/console/catalogue") { request, context in
            await self.consolePage(request, context, maxBody: 4 << 20) { session, form in
                let text = form["catalogue"] ?? ""
                let catalogue: ServiceCatalogue
                do {
                    catalogue = try JSONDecoder().decode(ServiceCatalogue.self, from: Data(text.utf8))
                } catch {
                    return try await self.catalogueView(
                        session, county: nil, draft: text,
                        error: "That is not a catalogue in Open311's words (JSON): \(Self.describe(error))")
                }
                var refusal: FieldSyncError?
                var published: ServiceCatalogue?
                do {
                    published = try await self.service.publishCatalogue(
                        catalogue, by: session.principal, from: context.clientKey)
                } catch {
                    refusal = (error as? FieldSyncError) ?? FieldSyncError(.internalError, "publishing failed")
                }
                guard let published else {
                    guard let refusal, refusal.code == .invalidCatalogue || refusal.code == .invalidIdentifier else {
                        throw refusal ?? FieldSyncError(.internalError, "publishing failed")
                    }
                    return try await self.catalogueView(
                        session, county: catalogue.county, draft: text, error: refusal.message)
                }
                return try await self.catalogueView(
                    session, county: published.county,
                    notice: "Published version \(published.version ?? 0): devices receive it at their next sync.")
            }
        }
    }

    /// The catalogue page of `county` (default: the viewer's first county with a catalogue).
    func catalogueView(
        _ session: ConsoleRequestSession, county asked: String?, draft: String? = nil, error: String? = nil,
        notice: String? = nil
    ) async throws -> Response {
        var counties = session.viewer.counties
        if counties.contains("*") {
            let known =
                try await service.store.catalogueCounties()
                + service.devices(county: nil, by: session.principal).map(\.county)
            counties = Set(known).sorted()
        }
        let county = asked.flatMap { $0.isEmpty ? nil : $0 } ?? counties.first
        var catalogue: ServiceCatalogue?
        var versions: CatalogueVersionList?
        if let county {
            catalogue = try? await service.catalogue(county: county, by: session.principal).catalogue
            versions = try await service.catalogueVersions(county: county, by: session.principal)
        }
        // The form starts from the current version, to edit and publish again.
        var text = draft
        if text == nil, var current = catalogue {
            current.version = nil
            current.publishedAtMillis = nil
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            text = (try? encoder.encode(current)).map { String(decoding: $0, as: UTF8.self) }
        }
        let html = ConsolePage.catalogue(
            catalogue, versions: versions, county: county, counties: counties, viewer: session.viewer, draft: text,
            error: error, notice: notice)
        return page(html, error == nil ? .ok : .badRequest)
    }

    /// A decoding error in a sentence.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "'\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
            DecodingError.dataCorrupted(let c):
            c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription
        default: "it does not parse"
        }
    }
}
