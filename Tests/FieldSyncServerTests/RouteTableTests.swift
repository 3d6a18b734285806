import FieldSyncCore
import Foundation
import Hummingbird
import Testing

@testable import FieldSyncServer
import FieldSyncTestSupport

/// The route table is written once as `HTTPAPI.routes`; these keep the router's registrations
/// and the 405 normaliser from drifting from it (the OpenAPI document is held to it by
/// `ProtocolConformanceTests`).
@Suite(.serialized) struct RouteTableTests {
    @Test func theRouterServesExactlyTheRouteTable() async throws {
        let server = try await TestServer.start()
        let registered = HTTPAPI(service: server.service).router().routes.map { "\($0.method) \($0.path)" }
        let table = HTTPAPI.routes + HTTPAPI.consoleRoutes
        #expect(Set(registered) == Set(table), "registered: \(registered.sorted())")
        #expect(registered.count == table.count, "a route registered twice")
        await server.stop()
    }

    @Test func allowedMethodsAreThoseOfTheMostSpecificRoute() {
        #expect(APIMiddleware.allowedMethods("/v1/conflicts/r1/status/resolve") == ["POST"])
        #expect(APIMiddleware.allowedMethods("/v1/conflicts/r1/status/tab-7:3") == ["GET"])
        #expect(APIMiddleware.allowedMethods("/v1/admin/operators") == ["GET", "POST"])
        #expect(APIMiddleware.allowedMethods("/v1/reports/r1") == ["GET"])
        #expect(APIMiddleware.allowedMethods("/v1/reports/r1/extra").isEmpty)
        #expect(APIMiddleware.allowedMethods("/v1/nothing").isEmpty)
    }
}
