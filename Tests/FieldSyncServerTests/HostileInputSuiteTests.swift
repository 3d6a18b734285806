import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// The hostile-input suite (issue 13): every request an attacker was seen to send, and more of
/// the same classes. For each: the status and code, the daemon still answers, its memory stays
/// bounded, and every table of the database is byte-identical afterwards (bar the bounded record
/// of refusals).
@Suite(.serialized) struct HostileInputSuiteTests {
    struct Case {
        var name: String
        var method = "POST"
        var path = "/v1/sync"
        var headers: [String: String] = [:]
        var body = Data()
        var token: Token = .device
        var status: Int
        var code: String?
    }

    enum Token { case device, `operator`, none, raw(String) }

    /// The process's resident memory, in bytes (the daemon runs in this process).
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    static func json(_ text: String) -> Data { Data(text.utf8) }

    @Test func everyHostileRequestIsRefusedAndChangesNothing() async throws {
        var configuration = ServerConfiguration()
        configuration.maxFailedSignIns = 1_000
        let server = try await TestServer.start(configuration: configuration)
        let a = try await server.device("tab-a"), n = try await server.device("tab-n", county: "nairobi")
        try await a.create("r1")
        try await a.sync()
        try await n.create("n1")
        try await n.sync()
        let op = try await server.operatorToken(["kisumu"])
        let now = UInt64(Date().timeIntervalSince1970 * 1000)

        func change(_ fields: String, seq: String = "2", report: String = "r1", ctx: String = #"{"tab-a":1}"#) -> String
        {
            #"{"device":"tab-a","seq":\#(seq),"report":"\#(report)","county":"kisumu","ctx":\#(ctx),"hlc":[\#(now),0],\#(fields)}"#
        }
        func push(_ change: String, signed: Bool = false) throws -> Data {
            guard signed else { return Self.json(#"{"changes":[{"change":\#(change)}]}"#) }
            let decoded = try JSONWireCodec().decode(Change.self, from: Data(change.utf8))
            return try JSONWireCodec().encode(SyncRequest(changes: [a.key.signed(decoded)]))
        }
        let hash = String(repeating: "a", count: 64)
        let bomb = BodyCompression.gzip.compress(Data(repeating: UInt8(ascii: " "), count: 30 << 20))
        var deep = "1"
        for _ in 0..<5_000 { deep = "[\(deep)]" }

        let cases: [Case] = [
            // 1. Integers at or above 2^63, where the schema once allowed 2^64 − 1.
            Case(
                name: "seq 2^63, unsigned",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, seq: "9223372036854775808")), status: 422,
                code: "invalid_sequence"),
            Case(
                name: "seq 2^64 − 1",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, seq: "18446744073709551615")),
                status: 422, code: "invalid_sequence"),
            Case(
                name: "seq 2^64",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, seq: "18446744073709551616")),
                status: 400, code: "invalid_request"),
            Case(
                name: "seq −1", body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, seq: "-1")), status: 400,
                code: "invalid_request"),
            Case(
                name: "seq 1e400", body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, seq: "1e400")),
                status: 400, code: "malformed_json"),
            Case(
                name: "media size 2^64 − 1",
                body: try push(
                    change(
                        #""ops":[{"op":"media","media":{"sha256":"\#(hash)","content_type":"image/jpeg","size":18446744073709551615}}]"#
                    )),
                status: 422, code: "invalid_operation"),
            Case(
                name: "context entry 2^63",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, ctx: #"{"tab-a":9223372036854775808}"#)),
                status: 422, code: "invalid_sequence"),
            Case(
                name: "hlc 2^64 − 1",
                body: Self.json(
                    #"{"changes":[{"change":{"device":"tab-a","seq":2,"report":"r1","county":"kisumu","ctx":{"tab-a":1},"hlc":[18446744073709551615,0],"ops":[{"op":"add_tag","tag":"x"}]}}]}"#
                ),
                status: 422, code: "clock_skew"),
            Case(
                name: "limit 2^63", body: Self.json(#"{"limit":9223372036854775808}"#), status: 400,
                code: "invalid_request"),
            Case(
                name: "own_log_from 2^63", body: Self.json(#"{"own_log_from":9223372036854775808}"#), status: 400,
                code: "invalid_request"),
            Case(
                name: "updated_since 2^63", method: "GET", path: "/v1/reports?updated_since=9223372036854775808",
                token: .operator, status: 400, code: "invalid_request"),
            Case(
                name: "since 2^64 − 1", method: "GET", path: "/v1/conflicts?since=18446744073709551615",
                token: .operator, status: 400, code: "invalid_request"),
            Case(
                name: "limit −1", method: "GET", path: "/v1/reports?limit=-1", token: .operator, status: 400,
                code: "invalid_request"),
            Case(
                name: "offset 2^63", method: "GET", path: "/v1/refusals?offset=9223372036854775808", token: .operator,
                status: 400, code: "invalid_request"),
            // 3. Unauthenticated amplification.
            Case(
                name: "registration gzip bomb", path: "/v1/devices/register", headers: ["Content-Encoding": "gzip"],
                body: bomb, token: .none,
                status: 413, code: "body_too_large"),
            Case(
                name: "registration of 100 KB", path: "/v1/devices/register",
                body: Data(repeating: UInt8(ascii: " "), count: 100_000), token: .none,
                status: 413, code: "body_too_large"),
            Case(
                name: "a 10 KB bearer token", method: "GET", path: "/v1/me",
                token: .raw("fsd_" + String(repeating: "A", count: 10_000)),
                status: 401, code: "unauthorized"),
            // 4. Unknown paths (one metrics label; covered in HostileInputTests).
            Case(
                name: "unknown path", method: "GET", path: "/v1/\(String(repeating: "x", count: 2_000))", status: 404,
                code: "not_found"),
            // 8. Text with NUL.
            Case(
                name: "NUL in a note",
                body: try push(change(#""ops":[{"op":"note","text":"routine check\u0000 HIDDEN"}]"#), signed: true),
                status: 422, code: "invalid_operation"),
            Case(
                name: "NUL in a status",
                body: try push(
                    change(#""ops":[{"op":"set","field":"status","value":"open\u0000closed"}]"#), signed: true),
                status: 422, code: "invalid_operation"),
            // 9. Another county's report.
            Case(
                name: "create an id another county holds",
                body: try push(
                    #"{"device":"tab-a","seq":2,"report":"n1","county":"kisumu","hlc":[\#(now),0],"ops":[{"op":"create","county":"kisumu"}]}"#,
                    signed: true),
                status: 409, code: "report_exists"),
            Case(
                name: "another county's report by id", method: "GET", path: "/v1/reports/n1", token: .operator,
                status: 404, code: "not_found"),
            // 10. Documented codes.
            Case(
                name: "unknown field", body: try push(change(#""ops":[{"op":"set","field":"colour","value":"red"}]"#)),
                status: 422, code: "unknown_field"),
            Case(
                name: "invalid report id",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, report: "r 1!")), status: 422,
                code: "invalid_identifier"),
            Case(
                name: "context entry 0",
                body: try push(change(#""ops":[{"op":"add_tag","tag":"x"}]"#, ctx: #"{"tab-a":1,"tab-z":0}"#)),
                status: 422, code: "invalid_context"),
            Case(name: "changes is a number", body: Self.json(#"{"changes":5}"#), status: 400, code: "invalid_request"),
            Case(
                name: "not UTF-8", body: Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]), status: 400,
                code: "malformed_json"),
            Case(
                name: "5,000 levels of nesting",
                body: Self.json(
                    #"{"changes":[{"change":\#(change(#""ops":[{"op":"set","field":"attributes.x","value":\#(deep)}]"#))}]}"#
                ),
                status: 400, code: "malformed_json"),
            Case(
                name: "path traversal in an id", method: "GET", path: "/v1/reports/..%2F..%2Fetc%2Fpasswd",
                token: .operator, status: 422, code: "invalid_identifier"),
            Case(
                name: "a misspelt filter", method: "GET", path: "/v1/reports?stauts=open", token: .operator,
                status: 400, code: "invalid_request"),
            Case(
                name: "resolve on another county", path: "/v1/conflicts/n1/status/resolve",
                body: Self.json(#"{"value":"closed"}"#), token: .operator,
                status: 404, code: "not_found"),
        ]
        #expect(cases.count >= 30)

        // The operator's first request signs it in (an audit entry, by design): before the snapshot.
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/v1/me", headers: ["Authorization": "Bearer \(op)"])?.status
                == 200)
        let before = try await server.tableSnapshot()
        let startRSS = Self.residentBytes()
        var peakGrowth = 0
        for c in cases {
            var headers = c.headers
            switch c.token {
            case .device: headers["Authorization"] = "Bearer \(a.token)"
            case .operator: headers["Authorization"] = "Bearer \(op)"
            case .raw(let token): headers["Authorization"] = "Bearer \(token)"
            case .none: break
            }
            if c.method == "POST" && headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
            let reply = await RawHTTP.send(port: server.port, c.method, c.path, headers: headers, body: c.body)
            let code = reply.flatMap { try? JSONDecoder().decode(ErrorBody.self, from: $0.body).code }
            #expect(
                reply?.status == c.status && (c.code == nil || code == c.code),
                "\(c.name): \(reply?.status ?? 0) \(String(decoding: reply?.body.prefix(240) ?? Data(), as: UTF8.self))"
            )
            #expect(
                await RawHTTP.send(port: server.port, "GET", "/healthz")?.status == 200,
                "\(c.name): the daemon stopped answering")
            #expect(try await server.tableSnapshot() == before, "\(c.name) changed what is stored")
            peakGrowth = max(peakGrowth, Self.residentBytes() - startRSS)
        }
        // The whole suite (a 30 MiB bomb included) leaves the process within 64 MiB of its start.
        #expect(peakGrowth < 64 << 20, "resident memory grew by \(peakGrowth >> 20) MiB")
        // And the daemon still does its job.
        try await a.write([.set(field: .status, value: "closed")], to: "r1")
        #expect(try await a.sync().pushed == 1)
        #expect(try await server.tableSnapshot() != before, "the snapshot sees a real change")
        await server.stop()
    }
}
