import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird
import Logging

extension HTTPAPI {
    /// Operators: reports, conflicts and their resolution, refusals, the audit log (their counties).
    func addOperatorRoutes(to router: Router<FieldSyncRequestContext>) {
        addReportRoutes(to: router)
        addConflictRoutes(to: router)
        addRefusalAndAuditRoutes(to: router)
    }

    /// Reports of the operator's counties, and one report with its history.
    func addReportRoutes(to router: Router<FieldSyncRequestContext>) {
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
    }

    /// The conflict log, one conflict, and its resolution (a signed server change).
    func addConflictRoutes(to router: Router<FieldSyncRequestContext>) {
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
    }

    /// What the server refused, and the audit log.
    func addRefusalAndAuditRoutes(to router: Router<FieldSyncRequestContext>) {
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
    }
}
