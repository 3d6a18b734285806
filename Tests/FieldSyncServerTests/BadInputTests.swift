import FieldSyncSQLite
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// A table of bad requests: each gets a 4xx with its stable code and a message, and the stored
/// data is byte-identical before and after.
@Suite(.serialized) struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var method = "POST"
        var path = "/v1/sync"
        var headers: [String: String] = [:]
        var body: Data
        var status: Int
        var code: String
        var token: Token = .device
        var description: String { name }

        enum Token: Sendable { case device, `operator`, none }
    }

    static func json(_ s: String) -> Data { Data(s.utf8) }

    static func syncBody(_ changes: [SignedChange], cursor: String? = nil) -> Data {
        try! JSONWireCodec().encode(SyncRequest(cursor: cursor, changes: changes))
    }

    @Test func everyBadInputIsRefusedWithItsCodeAndChangesNothing() async throws {
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 256 * 1024
        configuration.maxDecompressedBytes = 1024 * 1024
        configuration.maxPushChanges = 50
        let server = try await TestServer.start(configuration: configuration)
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        let opToken = try await server.operatorToken(["kisumu"])
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let base = try await b.store.report(ReportID(rawValue: "r1")!)!.version

        /// A change by B on r1 with valid signature and the given edits.
        func signed(_ edit: (inout Change) -> Void) -> SignedChange {
            var c = Change(
                dot: Dot(device: b.id, seq: 1), report: ReportID(rawValue: "r1")!, county: "kisumu",
                context: base, hlc: HybridTimestamp(millis: now), ops: [.set(field: .status, value: "closed")])
            edit(&c)
            return b.key.signed(c)
        }
        let good = signed { _ in }
        let goodJSON = String(decoding: try JSONWireCodec().encode(good.change), as: UTF8.self)
        let sig = good.signature!.base64EncodedString()
        func raw(_ changeJSON: String, sig: String? = sig) -> Data {
            Self.json("{\"changes\":[{\"change\":\(changeJSON)\(sig.map { ",\"sig\":\"\($0)\"" } ?? "")}]}")
        }
        let bomb = BodyCompression.gzip.compress(Data(repeating: UInt8(ascii: " "), count: 2 * 1024 * 1024))
        let gz = BodyCompression.gzip.compress(Self.syncBody([good]))
        var deep = "\"x\""
        for _ in 0..<40 { deep = "[\(deep)]" }

        // Push a real change of A's at seq 2 first so that reuse and gaps have something to contradict.
        try await a.write([.set(field: .priority, value: 1)], to: "r1")
        try await a.sync()
        let a2 = try await a.store.storedChange(Dot(device: a.id, seq: 2))!

        let cases: [Case] = [
            Case(name: "malformed JSON", body: Self.json("{\"changes\": ["), status: 400, code: "malformed_json"),
            Case(name: "not an object", body: Self.json("[1,2,3]"), status: 400, code: "invalid_request"),
            Case(
                name: "wrong type for cursor", body: Self.json("{\"cursor\": 5}"), status: 400, code: "invalid_request"),
            Case(
                name: "changes is not an array", body: Self.json("{\"changes\": {}}"), status: 400,
                code: "invalid_request"),
            Case(
                name: "negative seq", body: raw(goodJSON.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":-1")),
                status: 400, code: "invalid_request"),
            Case(
                name: "zero seq", body: Self.syncBody([signed { $0.dot.seq = 0 }]), status: 422,
                code: "invalid_sequence"),
            Case(
                name: "seq gap",
                body: Self.syncBody([
                    signed {
                        $0.dot.seq = 5; $0.context[b.id] = 0
                    }
                ]), status: 409, code: "sequence_gap"),
            Case(
                name: "duplicate dot with different content",
                body: Self.syncBody([
                    a.key.signed(
                        {
                            var c = a2; c.ops = [.set(field: .priority, value: 4)]; return c
                        }())
                ]), status: 409, code: "dot_reuse"),
            Case(
                name: "clock years in the future",
                body: Self.syncBody([signed { $0.hlc = HybridTimestamp(millis: now + 3 * 365 * 86_400_000) }]),
                status: 422, code: "clock_skew"),
            Case(
                name: "unknown protocol version", path: "/v2/sync", body: Self.syncBody([]), status: 400,
                code: "unsupported_protocol_version"),
            Case(
                name: "unsupported content encoding", headers: ["Content-Encoding": "br"], body: gz, status: 415,
                code: "unsupported_encoding"),
            Case(
                name: "truncated gzip", headers: ["Content-Encoding": "gzip"], body: gz.prefix(gz.count / 2),
                status: 400, code: "malformed"),
            Case(
                name: "gzip that is not gzip", headers: ["Content-Encoding": "gzip"], body: Self.syncBody([good]),
                status: 400, code: "malformed"),
            Case(
                name: "decompression bomb", headers: ["Content-Encoding": "gzip"], body: bomb, status: 413,
                code: "body_too_large"),
            Case(
                name: "body over the limit", body: Data(repeating: UInt8(ascii: " "), count: 300 * 1024), status: 413,
                code: "body_too_large"),
            Case(
                name: "too many changes", body: Self.syncBody(Array(repeating: good, count: 51)), status: 422,
                code: "too_many_changes"),
            Case(
                name: "huge field",
                body: Self.syncBody([
                    signed {
                        $0.ops = [.set(field: .description, value: .string(String(repeating: "x", count: 20_000)))]
                    }
                ]), status: 422, code: "field_too_large"),
            Case(
                name: "deeply nested value",
                body: raw(
                    goodJSON.replacingOccurrences(of: "\"value\":\"closed\"", with: "\"value\":\(deep)"), sig: nil),
                status: 422, code: "field_too_large"),
            Case(
                name: "unknown operation",
                body: raw(goodJSON.replacingOccurrences(of: "\"op\":\"set\"", with: "\"op\":\"explode\"")), status: 422,
                code: "invalid_operation"),
            Case(
                name: "unknown field",
                body: raw(goodJSON.replacingOccurrences(of: "\"field\":\"status\"", with: "\"field\":\"colour\"")),
                status: 422, code: "unknown_field"),
            Case(
                name: "invalid device id",
                body: raw(
                    goodJSON.replacingOccurrences(
                        of: "\"device\":\"tab-b\"", with: "\"device\":\"tab b; DROP TABLE changes\"")), status: 422,
                code: "invalid_identifier"),
            Case(
                name: "hlc as a string",
                body: raw(goodJSON.replacingOccurrences(of: "\"hlc\":[", with: "\"hlc\":\"soon\",\"x\":[")),
                status: 400, code: "invalid_request"),
            Case(name: "signature not base64", body: raw(goodJSON, sig: "%%%"), status: 422, code: "bad_signature"),
            Case(
                name: "changes is a number", body: Self.json("{\"changes\": 5}"), status: 400, code: "invalid_request"),
            Case(
                name: "invalid report id",
                body: raw(goodJSON.replacingOccurrences(of: "\"report\":\"r1\"", with: "\"report\":\"r 1!\"")),
                status: 422, code: "invalid_identifier"),
            Case(
                name: "context entry 0",
                body: raw(goodJSON.replacingOccurrences(of: "\"ctx\":{", with: "\"ctx\":{\"tab-z\":0,")), status: 422,
                code: "invalid_context"),
            Case(
                name: "seq above 2^64",
                body: raw(goodJSON.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":18446744073709551616")),
                status: 400, code: "invalid_request"),
            Case(name: "signature missing", body: raw(goodJSON, sig: nil), status: 422, code: "bad_signature"),
            Case(
                name: "no operations", body: Self.syncBody([signed { $0.ops = [] }]), status: 422, code: "empty_change"),
            Case(
                name: "context includes its own seq", body: Self.syncBody([signed { $0.context[b.id] = 1 }]),
                status: 422, code: "invalid_context"),
            Case(
                name: "missing dependency",
                body: Self.syncBody([
                    signed {
                        $0.report = ReportID(rawValue: "not-here")!; $0.context = VersionVector([b.id: 0, a.id: 1])
                    }
                ]), status: 409, code: "missing_dependency"),
            Case(
                name: "county mismatch in create",
                body: Self.syncBody([
                    signed {
                        $0.report = ReportID(rawValue: "r9")!; $0.context = VersionVector();
                        $0.ops = [.create(county: "nairobi")]
                    }
                ]), status: 422, code: "county_mismatch"),
            Case(
                name: "cursor not issued by the server", body: Self.json("{\"cursor\":\"zzz\"}"), status: 400,
                code: "invalid_request"),
            Case(
                name: "limit out of range", body: Self.json("{\"limit\":100000}"), status: 400, code: "invalid_request"),
            Case(
                name: "invalid offered log", body: Self.json("{\"offer\":{\"no way\":3}}"), status: 422,
                code: "invalid_identifier"),
            Case(name: "unknown endpoint", path: "/v1/nope", body: Data(), status: 404, code: "not_found"),
            Case(
                name: "method the path does not answer", method: "DELETE", path: "/v1/sync", body: Data(), status: 405,
                code: "method_not_allowed"),
            Case(
                name: "county that is not an id", method: "GET", path: "/v1/reports?county=", body: Data(), status: 422,
                code: "invalid_identifier", token: .operator),
            Case(name: "no token", body: Self.syncBody([good]), status: 401, code: "unauthorized", token: .none),
            Case(
                name: "register with a bad key", path: "/v1/devices/register",
                body: Self.json("{\"enrollment_token\":\"x\",\"public_key\":\"AAAA\"}"), status: 400,
                code: "invalid_request", token: .none),
            Case(
                name: "resolve with both choose and value", path: "/v1/conflicts/r1/status/resolve",
                body: Self.json("{\"choose\":\"a:1\",\"value\":\"x\"}"), status: 404, code: "not_found",
                token: .operator),
            Case(
                name: "report listing with a bad limit", method: "GET", path: "/v1/reports?limit=abc", body: Data(),
                status: 400, code: "invalid_request", token: .operator),
            Case(
                name: "SQL injection in a path", method: "GET", path: "/v1/reports/r1'%20OR%201=1--", body: Data(),
                status: 422, code: "invalid_identifier", token: .operator),
        ]
        #expect(cases.count >= 25)

        let before = try await server.fingerprint()
        for c in cases {
            var headers = c.headers
            switch c.token {
            case .device: headers["Authorization"] = "Bearer \(b.token)"
            case .operator: headers["Authorization"] = "Bearer \(opToken)"
            case .none: break
            }
            if c.method == "POST" && headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
            let reply = try #require(
                await RawHTTP.send(port: server.port, c.method, c.path, headers: headers, body: c.body),
                "\(c.name): no reply")
            let error = try? JSONDecoder().decode(ErrorBody.self, from: reply.body)
            #expect(
                reply.status == c.status,
                "\(c.name): status \(reply.status), body \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
            #expect(
                error?.code == c.code,
                "\(c.name): code \(error?.code ?? "none"), expected \(c.code): \(error?.message ?? "")")
            #expect((error?.message.count ?? 0) > 10, "\(c.name): the message must say what was wrong")
            #expect(try await server.fingerprint() == before, "\(c.name) changed stored data")
        }
        // The server still works.
        try await b.write([.set(field: .status, value: "closed")], to: "r1")
        #expect(try await b.sync().pushed == 1)
        await server.stop()
    }
}
