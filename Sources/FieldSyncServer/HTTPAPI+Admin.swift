import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird
import Logging

extension HTTPAPI {
    /// Admins: enrollment, operators, devices and their revocation.
    func addAdminRoutes(to router: Router<FieldSyncRequestContext>) {
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
    }
}
