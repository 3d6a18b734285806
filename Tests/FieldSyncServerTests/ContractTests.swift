import FieldSyncSQLite
import FieldSyncSigning
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// What an outside client, written from `protocol/` alone, meets at the edges of the contract
/// (issue 13, item 10): documented codes, canonical orders, explicit nulls, stable types.
@Suite(.serialized) struct ContractTests {
    struct Expected: Decodable { var code: String }

    /// Two devices write the same field concurrently: the server holds an open conflict on r1's status.
    func conflicted(_ server: TestServer) async throws -> (TestDevice, TestDevice) {
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        try await a.write([.set(field: .status, value: "in_progress")], to: "r1")
        try await b.write([.set(field: .status, value: "closed")], to: "r1")
        try await a.sync()
        try await b.sync()
        try await a.sync()
        return (a, b)
    }

    @Test func resolvesDotsInAnyOrderVerifyAgainstTheCanonicalForm() async throws {
        let server = try await TestServer.start()
        let (a, _) = try await conflicted(server)
        let resolution = try await a.write([.set(field: .status, value: "open")], to: "r1")
        let dots = try #require(resolution.resolves[.status])
        #expect(dots.count == 2, "the write settles the conflict it saw")
        let signed = a.key.signed(resolution)
        // The same signed change with its candidates listed in reverse on the wire.
        var json = String(decoding: try JSONWireCodec().encode(signed.change), as: UTF8.self)
        let sorted = try JSONWireCodec().encode(dots), reversed = try JSONWireCodec().encode(Array(dots.reversed()))
        json = json.replacingOccurrences(
            of: String(decoding: sorted, as: UTF8.self), with: String(decoding: reversed, as: UTF8.self))
        #expect(json.contains(String(decoding: reversed, as: UTF8.self)))
        let body =
            #"{"verdicts":true,"changes":[{"change":\#(json),"sig":"\#(signed.signature!.base64EncodedString())"}]}"#
        let reply = try #require(
            await RawHTTP.send(
                port: server.port, "POST", "/v1/sync",
                headers: ["Authorization": "Bearer \(a.token)", "Content-Type": "application/json"],
                body: Data(body.utf8)))
        let answer = try JSONWireCodec().decode(SyncResponse.self, from: reply.body)
        #expect(
            reply.status == 200 && answer.accepted?.applied == 1 && (answer.refused ?? []).isEmpty,
            "\(reply.status) \(String(decoding: reply.body.prefix(400), as: UTF8.self))")
        await server.stop()
    }

    @Test func resolvingWithAnExplicitNullClearsTheField() async throws {
        let server = try await TestServer.start()
        _ = try await conflicted(server)
        let op = try await server.operatorToken(["kisumu"])
        let headers = ["Authorization": "Bearer \(op)", "Content-Type": "application/json"]
        let reply = try #require(
            await RawHTTP.send(
                port: server.port, "POST", "/v1/conflicts/r1/status/resolve",
                headers: headers, body: Data(#"{"value":null}"#.utf8)))
        #expect(reply.status == 201, "\(reply.status) \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
        let neither = try #require(
            await RawHTTP.send(
                port: server.port, "POST", "/v1/conflicts/r1/status/resolve",
                headers: headers, body: Data("{}".utf8)))
        let message = String(decoding: neither.body, as: UTF8.self)
        #expect(neither.status != 201 && !message.contains("not both"), "\(message)")
        await server.stop()
    }

    @Test func meAnswersCountiesAsAList() async throws {
        let server = try await TestServer.start()
        let op = try await server.operatorToken(["kisumu", "nairobi"])
        let reply = try #require(
            await RawHTTP.send(port: server.port, "GET", "/v1/me", headers: ["Authorization": "Bearer \(op)"]))
        let me = try JSONWireCodec().decode(MeResponse.self, from: reply.body)
        #expect(me.kind == "operator" && me.counties == ["kisumu", "nairobi"])
        await server.stop()
    }

    @Test func aReportOfAnotherCountyAnswersAsAnUnknownReport() async throws {
        let server = try await TestServer.start()
        let k = try await server.device("tab-k", county: "kisumu"),
            n = try await server.device("tab-n", county: "nairobi")
        try await n.create("shared-id")
        try await n.sync()
        try await k.create("shared-id")
        var traffic = FieldSyncAPI.Traffic()
        let create = try #require(try await k.store.storedChange(Dot(device: k.id, seq: 1)))
        let answer = try await k.api.sync(
            SyncRequest(changes: [k.key.signed(create)], limit: 0, verdicts: true), traffic: &traffic)
        let refusal = try #require(answer.refused?.first)
        #expect(
            refusal.code == .reportExists && !refusal.message.contains("nairobi") && !refusal.message.contains("tab-n"),
            "\(refusal.code): \(refusal.message)")
        await server.stop()
    }
}
