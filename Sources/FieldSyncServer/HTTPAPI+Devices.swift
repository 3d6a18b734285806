import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird
import Logging

extension HTTPAPI {
    /// Devices: registration with an enrollment token, sync, and who a token is (`/v1/me`, any caller).
    func addDeviceRoutes(to router: Router<FieldSyncRequestContext>) {
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
    }
}
