import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import Foundation
import Testing

/// A device keeps why its last sync failed, and that it was revoked, for `fieldsync status`
/// (issue 14, item 8); unknown query parameters are refused, not ignored (item 6).
@Suite(.serialized) struct DeviceHealthTests {
    @Test func statusShowsTheLastErrorAndARevocation() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        let sync = DeviceSync(store: a.store, api: a.api)
        _ = try await sync.runWithRetries(sleep: { _ in })
        var status = try await sync.status()
        #expect(status.lastError == nil && !status.revoked)
        _ = try await server.service.revoke("tab-a", by: nil)
        await #expect(throws: FieldSyncError.self) { _ = try await sync.runWithRetries(sleep: { _ in }) }
        status = try await sync.status()
        #expect(status.revoked && status.lastError?.hasPrefix("device_revoked") == true, "\(status)")
        #expect(status.lastError?.contains("Lost, stolen and revoked devices") == true, "the message points at the procedure")
        await server.stop()
    }

    @Test func unknownQueryParametersAreRefusedByName() async throws {
        let server = try await TestServer.start()
        let op = try await server.operatorToken(["kisumu"])
        for path in ["/v1/reports?stauts=open", "/v1/conflicts?since_arrival=5", "/v1/refusals?cuonty=kisumu", "/v1/audit?who=me"] {
            let reply = try #require(await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(op)"]))
            let name = String(path.split(separator: "?")[1].split(separator: "=")[0])
            #expect(reply.status == 400 && String(decoding: reply.body, as: UTF8.self).contains("'\(name)'"), "\(path): \(reply.status)")
        }
        #expect(await RawHTTP.send(port: server.port, "GET", "/v1/reports?status=open&limit=5", headers: ["Authorization": "Bearer \(op)"])?.status == 200)
        await server.stop()
    }
}
