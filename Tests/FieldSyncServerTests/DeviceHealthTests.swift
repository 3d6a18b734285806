import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

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
        _ = try await server.service.revoke("tab-a", by: .currentShell)
        await #expect(throws: FieldSyncError.self) { _ = try await sync.runWithRetries(sleep: { _ in }) }
        status = try await sync.status()
        #expect(status.revoked && status.lastError?.hasPrefix("device_revoked") == true, "\(status)")
        #expect(
            status.lastError?.contains("Lost, stolen and revoked devices") == true,
            "the message points at the procedure")
        // The desk sees the lost phone still trying.
        let desk = try await server.service.devices(county: nil, by: .currentShell).first { $0.deviceID == "tab-a" }
        #expect(desk?.status == "revoked" && desk?.lastError == "device_revoked", "\(String(describing: desk))")
        await server.stop()
    }

    @Test func unknownQueryParametersAreRefusedByName() async throws {
        let server = try await TestServer.start()
        let op = try await server.operatorToken(["kisumu"])
        for path in [
            "/v1/reports?stauts=open", "/v1/conflicts?since_arrival=5", "/v1/refusals?cuonty=kisumu",
            "/v1/audit?who=me",
        ] {
            let reply = try #require(
                await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(op)"]))
            let name = String(path.split(separator: "?")[1].split(separator: "=")[0])
            #expect(
                reply.status == 400 && String(decoding: reply.body, as: UTF8.self).contains("'\(name)'"),
                "\(path): \(reply.status)")
        }
        #expect(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/reports?status=open&limit=5", headers: ["Authorization": "Bearer \(op)"])?
                .status == 200)
        await server.stop()
    }

    @Test func theDeskSeesEachDevicesLastSyncErrorAndClient() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        _ = b
        try await a.create("r1")
        try await a.sync()
        // A sync that fails leaves its code; the next success clears it.
        let bad = await RawHTTP.send(
            port: server.port, "POST", "/v1/sync",
            headers: [
                "Authorization": "Bearer \(b.token)", "Content-Type": "application/json",
                "User-Agent": "test-phone/2",
            ], body: Data(#"{"changes":5}"#.utf8))
        #expect(bad?.status == 400)
        struct List: Decodable { var devices: [DeviceInfo] }
        func list(_ query: String = "") async throws -> [DeviceInfo] {
            let reply = try #require(
                await RawHTTP.send(
                    port: server.port, "GET", "/v1/admin/devices\(query)",
                    headers: ["Authorization": "Bearer \(server.adminToken)"]))
            #expect(reply.status == 200, "\(String(decoding: reply.body.prefix(200), as: UTF8.self))")
            return try JSONWireCodec().decode(List.self, from: reply.body).devices
        }
        let devices = try await list()
        let tabA = try #require(devices.first { $0.deviceID == "tab-a" }),
            tabB = try #require(devices.first { $0.deviceID == "tab-b" })
        #expect(tabA.lastSyncMillis != nil && tabA.lastError == nil && tabA.client == "fieldsync-client/1", "\(tabA)")
        #expect(
            tabB.lastSyncMillis == nil && tabB.lastError == "invalid_request" && tabB.lastErrorMillis != nil
                && tabB.client == "test-phone/2", "\(tabB)")
        // Silent for a day or more: b never synced; a did just now.
        #expect(try await list("?silent_days=1").map(\.deviceID) == ["tab-b"])
        try await b.sync()
        #expect(try await list().first { $0.deviceID == "tab-b" }?.lastError == nil, "a success clears the error")
        await server.stop()
    }

    /// The backlog a device says it holds, and the changes the server refused from it, reach the
    /// desk; a backlog beyond the bound is refused and records nothing.
    @Test func theDeskSeesBacklogsAndRefusals() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        func info(_ id: String) async throws -> DeviceInfo? {
            try await server.service.devices(county: nil, by: .currentShell).first { $0.deviceID == id }
        }
        var traffic = FieldSyncAPI.Traffic()
        _ = try await a.api.sync(SyncRequest(limit: 0, pending: 42), traffic: &traffic)
        #expect(try await info("tab-a")?.pending == 42)
        let tooMany = await RawHTTP.send(
            port: server.port, "POST", "/v1/sync",
            headers: [
                "Authorization": "Bearer \(b.token)",
                "Content-Type": "application/json",
            ], body: Data(#"{"pending":1000000001}"#.utf8))
        #expect(tooMany?.status == 400)
        #expect(try await info("tab-b")?.pending == nil, "a refused request records no backlog")

        // A device pushing in small batches tells the server what is left, down to zero.
        for i in 0..<25 { try await a.create("r\(i)") }
        var sync = DeviceSync(store: a.store, api: a.api)
        sync.pushBatch = 10
        _ = try await sync.run()
        #expect(try await info("tab-a")?.pending == 0)

        // B relays a forged change: refused, counted against B.
        try await b.sync()
        let change = try await b.write([.set(field: .status, value: "closed")], to: "r1")
        let forged = SignedChange(change: change, signature: DeviceKey().sign(change))
        let answer = try await b.api.sync(SyncRequest(changes: [forged], verdicts: true), traffic: &traffic)
        #expect(answer.refused?.count == 1)
        let refusedB = try await info("tab-b")?.refused, refusedA = try await info("tab-a")?.refused
        #expect(refusedB == 1 && refusedA == 0)
        await server.stop()
    }
}
