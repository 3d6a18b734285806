import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Hummingbird
import Logging

extension HTTPAPI {
    /// Health and metrics: no authentication.
    func addServiceRoutes(to router: Router<FieldSyncRequestContext>) {
        router.get("/healthz") { _, _ in
            try self.respond(["status": "ok", "protocol": "\(ProtocolVersion.current)"], to: nil)
        }
        router.get("/metrics") { _, _ in
            await self.service.refreshScorecardGauges()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.service.metrics.render())))
        }
    }
}
