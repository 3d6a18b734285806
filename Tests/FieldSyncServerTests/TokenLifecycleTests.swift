import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// Operator and admin tokens can be revoked and can expire; admin tokens have their own prefix
/// (issue 13, item 6).
@Suite(.serialized) struct TokenLifecycleTests {
    struct Expected: Decodable { var code: String }

    func get(_ server: TestServer, _ path: String, token: String) async -> (Int, String?) {
        let reply = await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(token)"])
        return (reply?.status ?? 0, reply.flatMap { try? JSONDecoder().decode(Expected.self, from: $0.body).code })
    }

    func post(_ server: TestServer, _ path: String, token: String, body: String = "{}") async -> RawHTTP.Reply? {
        await RawHTTP.send(
            port: server.port, "POST", path,
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Data(body.utf8))
    }

    @Test func anAdminRevokesAnOperatorAndTheTokenStopsAtOnce() async throws {
        let server = try await TestServer.start()
        #expect(server.adminToken.hasPrefix("fsa_"), "admin tokens have their own prefix")
        let created = try #require(
            await post(
                server, "/v1/admin/operators", token: server.adminToken,
                body: #"{"name":"desk","role":"operator","counties":["kisumu"]}"#))
        #expect(created.status == 201)
        let op = try JSONWireCodec().decode(OperatorResponse.self, from: created.body)
        #expect(op.token.hasPrefix("fso_") && op.expiresAtMillis == nil)
        #expect(await get(server, "/v1/reports", token: op.token).0 == 200)
        // An operator cannot revoke; an admin can; the list never shows tokens.
        #expect(await post(server, "/v1/admin/operators/\(op.operatorID)/revoke", token: op.token)?.status == 403)
        let revoked = try #require(
            await post(server, "/v1/admin/operators/\(op.operatorID)/revoke", token: server.adminToken))
        #expect(try revoked.status == 200 && JSONWireCodec().decode(OperatorInfo.self, from: revoked.body).revoked)
        #expect(await get(server, "/v1/reports", token: op.token) == (401, "unauthorized"))
        let list = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/admin/operators",
                headers: ["Authorization": "Bearer \(server.adminToken)"]))
        let text = String(decoding: list.body, as: UTF8.self)
        #expect(list.status == 200 && text.contains(op.operatorID) && !text.contains("fso_") && !text.contains("fsa_"))
        #expect(await post(server, "/v1/admin/operators/op-ghost/revoke", token: server.adminToken)?.status == 404)
        await server.stop()
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let clock = Clock()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("s.sqlite").path, options: .server)
        let service = try await SyncService(store: store, now: { clock.now })
        let op = try await service.createOperator(
            OperatorRequest(name: "temp", role: "operator", counties: ["kisumu"], expiresInDays: 1), by: .currentShell)
        #expect(op.expiresAtMillis == clock.now + 86_400_000)
        _ = try await service.authenticate("Bearer \(op.token)")
        clock.now += 86_400_000
        await #expect(throws: FieldSyncError.self) { _ = try await service.authenticate("Bearer \(op.token)") }
        await #expect(throws: FieldSyncError.self) {
            _ = try await service.createOperator(
                OperatorRequest(name: "x", role: "operator", counties: ["kisumu"], expiresInDays: 0), by: .currentShell)
        }
        await store.close()
    }

    @Test func theLastAdminIsNotRevoked() async throws {
        let server = try await TestServer.start()
        let me = try await server.service.operators(by: .currentShell).first { $0.role == "admin" }!
        let refused = try #require(
            await post(server, "/v1/admin/operators/\(me.operatorID)/revoke", token: server.adminToken))
        #expect(refused.status == 403)
        #expect(await get(server, "/v1/admin/operators", token: server.adminToken).0 == 200)
        // With a second admin, the first can go.
        let second = try await server.service.createOperator(
            OperatorRequest(name: "second", role: "admin", counties: ["*"]), by: .currentShell)
        #expect(await post(server, "/v1/admin/operators/\(me.operatorID)/revoke", token: second.token)?.status == 200)
        #expect(await get(server, "/v1/admin/operators", token: server.adminToken).0 == 401)
        await server.stop()
    }

    final class Clock: @unchecked Sendable {
        var now: UInt64 = 1_795_000_000_000
    }
}
