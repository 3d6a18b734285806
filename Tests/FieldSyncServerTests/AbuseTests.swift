import FieldSyncSQLite
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization
import Testing
import FieldSyncTestSupport

/// Deliberate misuse: token guessing, replayed batches, injection strings in every text field,
/// pathological bodies, revocation in the middle of a sync. Each is refused clearly (or, for a
/// replay, absorbed as a no-op) and leaves what is stored byte-identical.
@Suite(.serialized) struct AbuseTests {
    /// Sends `body` to `path` with a bearer token and returns (status, error code).
    func send(
        _ server: TestServer, _ path: String, method: String = "POST", token: String?, body: Data = Data("{}".utf8)
    ) async throws -> (Int, String?) {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let reply = try #require(
            await RawHTTP.send(port: server.port, method, path, headers: headers, body: method == "GET" ? Data() : body)
        )
        return (reply.status, (try? JSONDecoder().decode(ErrorBody.self, from: reply.body))?.code)
    }

    @Test func guessingTokensIsRateLimitedPerAddress() async throws {
        var configuration = ServerConfiguration()
        configuration.maxFailedSignIns = 5
        let server = try await TestServer.start(configuration: configuration)
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let before = try await server.fingerprint()
        // Five wrong guesses of each kind are answered 401 …
        for i in 0..<5 {
            let token = i % 2 == 0 ? "fsd_guess\(i)" : "fso_guess\(i)"
            let (status, code) = try await send(server, "/v1/sync", token: token)
            #expect(status == 401 && code == "unauthorized", "guess \(i): \(status) \(code ?? "")")
        }
        // … then the address's failures are answered 429 with a Retry-After …
        let reply6 = try #require(
            await RawHTTP.send(
                port: server.port, "POST", "/v1/sync",
                headers: ["Authorization": "Bearer fsd_guess-6", "Content-Type": "application/json"],
                body: Data("{}".utf8)))
        #expect(
            reply6.status == 429
                && (try? JSONDecoder().decode(ErrorBody.self, from: reply6.body))?.code == "rate_limited")
        #expect(reply6.headers["retry-after"] != nil, "a 429 says when to come back")
        // … but a good token from the same address (officers behind one NAT) is still served.
        let (good, _) = try await send(server, "/v1/sync", token: a.token)
        #expect(good == 200, "a valid token is never locked out: \(good)")
        // Enrollment tokens count too.
        let (enrollStatus, enrollCode) = try await send(
            server, "/v1/devices/register", token: nil,
            body: Data(
                #"{"enrollment_token":"fse_guess","public_key":"\#(DeviceKey().publicKey.base64EncodedString())"}"#.utf8
            ))
        #expect(enrollStatus == 429 && enrollCode == "rate_limited")
        #expect(try await server.fingerprint() == before)
        await server.stop()
    }

    @Test func theLimiterForgetsAfterItsWindowAndIsBoundedInMemory() throws {
        let limiter = SignInLimiter(maxFailures: 2, maxGlobalFailures: 1_000, windowSeconds: 60, maxClients: 3)
        #expect(limiter.recordFailure("10.0.0.1", now: 1_000) == .answer)
        #expect(limiter.recordFailure("10.0.0.1", now: 1_000) == .answer)
        #expect(limiter.recordFailure("10.0.0.1", now: 2_000) == .limited(retryAfterSeconds: 59, global: false))
        #expect(limiter.recordFailure("10.0.0.2", now: 2_000) == .answer)  // other addresses are not affected
        #expect(limiter.recordFailure("10.0.0.1", now: 61_001) == .answer)  // the window has ended
        for i in 0..<100 { _ = limiter.recordFailure("10.1.0.\(i)", now: 5_000) }  // a spray of addresses
        _ = limiter.recordFailure("10.0.0.9", now: 5_000)
        _ = limiter.recordFailure("10.0.0.9", now: 5_000)
        #expect(limiter.recordFailure("10.0.0.9", now: 5_001) != .answer, "tracked although 100 addresses came since")
    }

    @Test func scanningFromManyAddressesSpendsTheGlobalBudget() throws {
        let limiter = SignInLimiter(maxFailures: 20, maxGlobalFailures: 50, windowSeconds: 60)
        // One failure from each of 50 addresses: each answered as it is …
        for i in 0..<50 { #expect(limiter.recordFailure("10.2.0.\(i)", now: 1_000) == .answer) }
        // … the 51st, from a fresh address, is over the server's budget until the window ends.
        #expect(limiter.recordFailure("10.3.0.1", now: 1_500) == .limited(retryAfterSeconds: 60, global: true))
        #expect(limiter.recordFailure("10.3.0.2", now: 61_000) == .answer)
    }

    @Test func replayingAnOldBatchChangesNothing() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), c = try await server.device("tab-c")
        try await a.create("r1")
        try await a.write([.set(field: .priority, value: 2)], to: "r1")
        let batch = try await a.store.changes(after: 0, county: nil, limit: 100).changes.map(\.signed)
        var traffic = FieldSyncAPI.Traffic()
        _ = try await a.api.sync(SyncRequest(changes: batch, limit: 0), traffic: &traffic)
        try await a.write([.set(field: .status, value: "closed")], to: "r1")
        try await a.sync()
        let before = try await server.fingerprint()
        // The author replays its old batch, and another device replays it too: both are
        // absorbed as duplicates (a retry after a lost reply must succeed), nothing moves.
        for device in [a, c] {
            let reply = try await device.api.sync(SyncRequest(changes: batch, limit: 0), traffic: &traffic)
            #expect(reply.accepted?.applied == 0 && reply.accepted?.duplicates == batch.count)
            #expect(try await server.fingerprint() == before)
        }
        // The old batch with one change altered (same dot, new content, re-signed) is refused.
        var altered = batch[1].change
        altered.ops = [.set(field: .priority, value: 4)]
        await #expect(throws: FieldSyncError.self) {
            _ = try await a.api.sync(SyncRequest(changes: [a.key.signed(altered)], limit: 0), traffic: &traffic)
        }
        #expect(try await server.fingerprint() == before)
        await server.stop()
    }

    @Test func injectionStringsInEveryTextFieldAreStoredVerbatim() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let nasty = [
            "'; DROP TABLE changes; --", "\" OR 1=1 --", "../../../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "<script>alert(1)</script>", "${jndi:ldap://x/a}", "Robert'); DELETE FROM reports;--", "\\x00\\u0000 NUL",
            "😀 Kisumu – Kakamega",
        ]
        for (i, s) in nasty.enumerated() {
            try await a.write(
                [
                    .create(county: "kisumu"), .set(field: .serviceCode, value: .string(s)),
                    .set(field: .description, value: .string(s)),
                    .set(field: .address, value: .string(s)), .set(field: .ward, value: .string(s)),
                    .set(field: .statusNotes, value: .string(s)),
                    .set(field: .reporterName, value: .string(s)),
                    .set(field: FieldName(rawValue: "attributes.note")!, value: .string(s)),
                ],
                to: "inj-\(i)")
            try await a.write([.addTag(s), .appendNote(text: s)], to: "inj-\(i)")
        }
        try await a.sync()
        try await b.sync()
        let op = server.api(token: try await server.operatorToken(["kisumu"]))
        for (i, s) in nasty.enumerated() {
            for report in [
                try await b.store.report(ReportID(rawValue: "inj-\(i)")!), try await op.report("inj-\(i)").report,
            ] {
                let r = try #require(report, "inj-\(i) missing")
                for field in [FieldName.serviceCode, .description, .address, .ward, .statusNotes] {
                    #expect(r.fields[field.rawValue] == .string(s), "\(field) of inj-\(i)")
                }
                #expect(r.tags == [s] && r.notes.map(\.text) == [s])
            }
            // Searching for the string finds its report, and only through parameters.
            let found = try await op.reports(query: ["q": s]).reports.map(\.id.rawValue)
            #expect(found.contains("inj-\(i)"), "search for \(s): \(found)")
        }
        // Injection through the path and the query string: refused, nothing read or changed.
        let before = try await server.fingerprint()
        let opToken = try await server.operatorToken(["kisumu"])
        for path in [
            "/v1/reports/..%2F..%2Fetc%2Fpasswd", "/v1/reports/inj-0'%20OR%20'1'='1",
            "/v1/conflicts/inj-0/status%3BDROP/resolve",
        ] {
            let (status, _) = try await send(
                server, path, method: path.hasSuffix("resolve") ? "POST" : "GET", token: opToken,
                body: Data(#"{"value":"x"}"#.utf8))
            #expect((400..<500).contains(status), "\(path): \(status)")
        }
        let (status, code) = try await send(
            server, "/v1/reports?county=kisumu'%20OR%201=1--", method: "GET", token: opToken)
        #expect(status == 422 && code == "invalid_identifier")
        #expect(try await server.fingerprint() == before)
        #expect(try await server.service.store.verification().integrity == ["ok"])
        await server.stop()
    }

    @Test func pathologicalBodiesAreRefusedWithoutHarm() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let before = try await server.fingerprint()
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepObject = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        for body in [deep, #"{"changes":"# + deep + "}", deepObject] {
            let (status, code) = try await send(server, "/v1/sync", token: a.token, body: Data(body.utf8))
            #expect(status == 400 && code == "malformed_json", "status \(status), code \(code ?? "")")
        }
        // 100,000 unknown members: ignored (forward compatibility), answered as an empty sync.
        let wide = #"{"changes":[],"# + String(repeating: #""x":1,"#, count: 100_000) + #""y":1}"#
        #expect(try await send(server, "/v1/sync", token: a.token, body: Data(wide.utf8)).0 == 200)
        #expect(try await server.fingerprint() == before)
        try await a.write([.set(field: .status, value: "closed")], to: "r1")
        #expect(try await a.sync().pushed == 1, "the daemon still serves")
        await server.stop()
    }

    @Test func aDeviceRevokedInTheMiddleOfASyncIsStoppedThere() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        for i in 0..<30 { try await a.create("r\(i)") }
        // The admin revokes the device after its first request of a multi-request sync.
        let transport = RevokingTransport(
            URLSessionTransport(baseURL: server.baseURL), admin: server.api(token: server.adminToken), device: "tab-a")
        var sync = DeviceSync(store: a.store, api: FieldSyncAPI(transport: transport, token: a.token))
        sync.pushBatch = 10
        await #expect(throws: FieldSyncError.self) { _ = try await sync.run() }
        // The first request is the probe that learns how far the server holds the device's log: it
        // pushes nothing, and nothing after the revocation lands.
        #expect(try await server.service.store.changeCount() == 0, "nothing after the revocation landed")
        let before = try await server.fingerprint()
        var traffic = FieldSyncAPI.Traffic()
        await #expect(throws: FieldSyncError.self) { _ = try await a.api.sync(SyncRequest(), traffic: &traffic) }
        #expect(try await server.fingerprint() == before)
        await server.stop()
    }
}

/// Passes requests through and revokes a device once its first request has been answered.
final class RevokingTransport: SyncTransport {
    let inner: any SyncTransport
    let admin: FieldSyncAPI
    let device: String
    private let revoked = Mutex(false)

    init(_ inner: any SyncTransport, admin: FieldSyncAPI, device: String) {
        self.inner = inner
        self.admin = admin
        self.device = device
    }

    func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        let response = try await inner.send(request)
        if !revoked.withLock({
            let was = $0; $0 = true; return was
        }) {
            _ = try await admin.revoke(device: device)
        }
        return response
    }
}
