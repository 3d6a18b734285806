import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// Hostile input the daemon must survive unchanged (issue 13, first items): integers past what
/// a store holds, label-set growth through unknown paths, and the database file's mode.
@Suite(.serialized) struct HostileInputTests {
    struct Expected: Decodable { var code: String }

    func code(_ reply: RawHTTP.Reply?) -> String? {
        reply.flatMap { try? JSONDecoder().decode(Expected.self, from: $0.body).code }
    }

    @Test func integersAbove2To63AreRefusedAndTheDaemonLives() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let op = try await server.operatorToken(["kisumu"])
        let before = try await server.fingerprint()
        for path in ["/v1/reports?updated_since=9223372036854775808", "/v1/conflicts?since=18446744073709551615"] {
            let reply = await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(op)"])
            #expect(reply?.status == 400 && code(reply) == "invalid_request", "\(path): \(reply?.status ?? 0)")
        }
        let hash = String(repeating: "a", count: 64)
        let bodies = [
            #"{"device":"tab-a","seq":9223372036854775808,"report":"r9","county":"kisumu","hlc":[1795000000000,0],"ops":[{"op":"create","county":"kisumu"}]}"#,
            #"{"device":"tab-a","seq":2,"report":"r1","county":"kisumu","ctx":{"tab-a":1},"hlc":[1795000000000,0],"ops":[{"op":"media","media":{"sha256":"\#(hash)","content_type":"image/jpeg","size":18446744073709551615}}]}"#,
            #"{"device":"tab-a","seq":2,"report":"r1","county":"kisumu","ctx":{"tab-a":1},"hlc":[18446744073709551615,0],"ops":[{"op":"add_tag","tag":"x"}]}"#,
        ]
        for change in bodies {
            let body = Data(#"{"verdicts":true,"changes":[{"change":\#(change)}]}"#.utf8)
            let reply = await RawHTTP.send(
                port: server.port, "POST", "/v1/sync",
                headers: ["Authorization": "Bearer \(a.token)", "Content-Type": "application/json"], body: body)
            let status = reply?.status ?? 0
            // Too large for a store: refused by the limits (422), or where decoded (timestamps: 400).
            #expect(
                status == 422 || (status == 400 && code(reply) == "malformed_json"),
                "\(change.prefix(60)): status \(status) \(String(decoding: reply?.body ?? Data(), as: UTF8.self).prefix(200))"
            )
        }
        #expect(try await server.fingerprint() == before, "nothing stored changed")
        #expect(await RawHTTP.send(port: server.port, "GET", "/healthz")?.status == 200, "the daemon still answers")
        await server.stop()
    }

    @Test func aDeviceLearnsNothingAboutOtherCountiesLogs() async throws {
        let server = try await TestServer.start()
        let k = try await server.device("tab-k", county: "kisumu"),
            n = try await server.device("tab-n", county: "nairobi")
        let k2 = try await server.device("tab-k2", county: "kisumu")
        try await n.create("n-1")
        try await n.sync()
        try await k2.create("k-1")
        try await k2.sync()
        var traffic = FieldSyncAPI.Traffic()
        let answer = try await k.api.sync(
            SyncRequest(offer: ["tab-n": 0, "tab-k2": 0, "ghost": 0], limit: 0), traffic: &traffic)
        #expect(answer.logs["tab-n"] == nil && answer.logs["ghost"] == nil, "\(answer.logs)")
        #expect(answer.logs["tab-k2"] == 1 && answer.logs["tab-k"] == 0)
        await server.stop()
    }

    @Test func registrationReadsLittleAndEveryRefusalCountsTowardTheLimiter() async throws {
        var configuration = ServerConfiguration()
        configuration.maxFailedSignIns = 5
        let server = try await TestServer.start(configuration: configuration)
        // 30 MiB of JSON whitespace in about 30 KB of gzip: refused before it is inflated past 8 KiB.
        let bomb = BodyCompression.gzip.compress(Data(repeating: UInt8(ascii: " "), count: 30 << 20))
        let headers = ["Content-Type": "application/json", "Content-Encoding": "gzip"]
        let first = await RawHTTP.send(port: server.port, "POST", "/v1/devices/register", headers: headers, body: bomb)
        #expect(first?.status == 413 && code(first) == "body_too_large", "\(first?.status ?? 0)")
        for _ in 0..<4 {
            _ = await RawHTTP.send(port: server.port, "POST", "/v1/devices/register", headers: headers, body: bomb)
        }
        let limited = await RawHTTP.send(
            port: server.port, "POST", "/v1/devices/register", headers: ["Content-Type": "application/json"],
            body: Data(#"{"enrollment_token":"x","public_key":"AAAA"}"#.utf8))
        #expect(limited?.status == 429 && code(limited) == "rate_limited", "\(limited?.status ?? 0)")
        // A valid enrollment token from the same address still registers (no NAT lockout).
        let device = try await server.device("tab-ok")
        #expect(device.token.hasPrefix("fsd_"))
        await server.stop()
    }

    @Test func aNULInTextIsRefusedAndOtherControlCharactersAreStoredExactly() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let before = try await server.fingerprint()
        // A device refuses such text when it writes; a hostile client sends it anyway.
        let base = try await a.write([.appendNote(text: "x")], to: "r1")
        for ops: [ReportOperation] in [
            [.appendNote(text: "routine check\u{0} HIDDEN")], [.set(field: .status, value: "open\u{0}closed")],
        ] {
            var bad = base
            bad.ops = ops
            var traffic = FieldSyncAPI.Traffic()
            await #expect(throws: FieldSyncError.self) {
                _ = try await a.api.sync(SyncRequest(changes: [a.key.signed(bad)], limit: 0), traffic: &traffic)
            }
        }
        #expect(try await server.fingerprint() == before, "nothing stored changed")
        try await a.write([.appendNote(text: "line one\nline two\ttab \u{1}")], to: "r1")
        try await a.sync()
        let notes = try #require(try await server.service.store.report(ReportID(rawValue: "r1")!)).notes
        #expect(Set(notes.map(\.text)) == ["x", "line one\nline two\ttab \u{1}"])
        await server.stop()
    }

    @Test func unknownPathsShareOneMetricsLabel() async throws {
        let server = try await TestServer.start()
        for i in 0..<50 { _ = await RawHTTP.send(port: server.port, "GET", "/probe-\(i)/x\(i)") }
        for i in 0..<50 { _ = await RawHTTP.send(port: server.port, "GET", "/v1/guess-\(i)") }
        let op = try await server.operatorToken(["kisumu"])
        for id in ["r-1", "r-2"] {
            _ = await RawHTTP.send(
                port: server.port, "GET", "/v1/reports/\(id)", headers: ["Authorization": "Bearer \(op)"])
        }
        let metrics = String(
            decoding: try #require(await RawHTTP.send(port: server.port, "GET", "/metrics")).body, as: UTF8.self)
        #expect(!metrics.contains("probe-") && !metrics.contains("guess-"), "paths never become labels")
        #expect(metrics.contains("route=\"unmatched\""))
        #expect(metrics.contains("route=\"unmatched\",method=\"GET\",status=\"404\"} 100"))
        #expect(
            metrics.contains("route=\"/v1/reports/{id}\",method=\"GET\",status=\"404\"} 2"),
            "labels are route templates")
        await server.stop()
    }

    @Test func theServerDatabaseIsReadableByItsOwnerOnly() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        for file in [server.dbPath, server.dbPath + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): mode \(String(mode ?? 0, radix: 8))")
        }
        await server.stop()
    }
}
