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

/// Who may do what: tokens, revocation, counties, signatures.
@Suite(.serialized) struct AuthAndScopeTests {
    func expectRefusal(
        _ code: FieldSyncError.Code, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await body()
            Issue.record("expected \(code.rawValue), but the request succeeded", sourceLocation: sourceLocation)
        } catch let error as FieldSyncError {
            #expect(error.code == code, "expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func tokensAndRevocation() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        try await a.create("r1")
        try await a.sync()
        let before = try await server.fingerprint()
        var traffic = FieldSyncAPI.Traffic()
        await expectRefusal(.unauthorized) {
            _ = try await server.api(token: "fsd_not-a-real-token").sync(SyncRequest(), traffic: &traffic)
        }
        await expectRefusal(.unauthorized) { _ = try await server.api().sync(SyncRequest(), traffic: &traffic) }
        await expectRefusal(.unauthorized) { _ = try await server.api(token: "fso_guess").reports() }
        // Revoked mid-life: refused at once, data untouched.
        let admin = server.api(token: server.adminToken)
        _ = try await admin.revoke(device: "tab-a")
        try await a.write([.set(field: .status, value: "closed")], to: "r1")
        await expectRefusal(.deviceRevoked) { _ = try await a.sync() }
        #expect(try await server.fingerprint() == before)
        // An enrollment token works once.
        let enrollment = try await admin.enroll(EnrollmentRequest(county: "kisumu", deviceID: "tab-z"))
        _ = try await server.api().register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: DeviceKey().publicKey)
        await expectRefusal(.invalidEnrollment) {
            _ = try await server.api().register(
                enrollmentToken: enrollment.enrollmentToken, publicKey: DeviceKey().publicKey)
        }
        await expectRefusal(.invalidEnrollment) {
            _ = try await server.api().register(enrollmentToken: "fse_made-up", publicKey: DeviceKey().publicKey)
        }
        // Tokens are stored hashed: the plain token appears nowhere in the database file.
        let bytes =
            try Data(contentsOf: URL(fileURLWithPath: server.dbPath))
            + ((try? Data(contentsOf: URL(fileURLWithPath: server.dbPath + "-wal"))) ?? Data())
        #expect(bytes.range(of: Data(a.token.utf8)) == nil)
        #expect(bytes.range(of: Data(server.adminToken.utf8)) == nil)
        await server.stop()
    }

    @Test func rolesAndCounties() async throws {
        let server = try await TestServer.start()
        let k = try await server.device("tab-k", county: "kisumu")
        let n = try await server.device("tab-n", county: "nairobi")
        try await k.create("k1")
        try await n.create("n1")
        try await k.sync()
        try await n.sync()
        // Devices pull only their county.
        #expect(try await k.store.report(ReportID(rawValue: "n1")!) == nil)
        #expect(try await n.store.report(ReportID(rawValue: "k1")!) == nil)
        let nairobiOp = server.api(token: try await server.operatorToken(["nairobi"]))
        await expectRefusal(.wrongCounty) { _ = try await nairobiOp.reports(query: ["county": "kisumu"]) }
        await expectRefusal(.notFound) { _ = try await nairobiOp.report("k1") }
        #expect(try await nairobiOp.reports().reports.map(\.id.rawValue) == ["n1"])
        // An operator may not resolve outside their counties, nor enroll, nor sync.
        try await k.write([.set(field: .status, value: "a")], to: "k1")
        await expectRefusal(.notFound) { _ = try await nairobiOp.resolve("k1/status", ResolveRequest(value: "x")) }
        await expectRefusal(.forbidden) { _ = try await nairobiOp.enroll(EnrollmentRequest(county: "nairobi")) }
        var traffic = FieldSyncAPI.Traffic()
        await expectRefusal(.forbidden) { _ = try await nairobiOp.sync(SyncRequest(), traffic: &traffic) }
        // Devices may not use operator endpoints.
        await expectRefusal(.forbidden) { _ = try await k.api.reports() }
        await server.stop()
    }

    @Test func forgedTamperedAndForeignChangesAreRefused() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        let other = try await server.device("tab-n", county: "nairobi")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        let before = try await server.fingerprint()
        var traffic = FieldSyncAPI.Traffic()
        let change = try await b.write([.set(field: .status, value: "closed")], to: "r1")
        // Forged: signed with a key that is not B's.
        let forged = SignedChange(change: change, signature: DeviceKey().sign(change))
        await expectRefusal(.badSignature) {
            _ = try await b.api.sync(SyncRequest(changes: [forged]), traffic: &traffic)
        }
        // Tampered: B's signature, altered content.
        var altered = change
        altered.ops = [.set(field: .status, value: "open")]
        await expectRefusal(.badSignature) {
            _ = try await b.api.sync(
                SyncRequest(changes: [SignedChange(change: altered, signature: b.key.sign(change))]), traffic: &traffic)
        }
        // A pushes B's change unsigned.
        await expectRefusal(.badSignature) {
            _ = try await a.api.sync(
                SyncRequest(changes: [SignedChange(change: change, signature: nil)]), traffic: &traffic)
        }
        // A pushes a change claiming to be by a device that does not exist.
        var ghost = change
        ghost.dot = Dot(device: DeviceID(rawValue: "ghost")!, seq: 1)
        await expectRefusal(.unknownDevice) {
            _ = try await a.api.sync(
                SyncRequest(changes: [SignedChange(change: ghost, signature: a.key.sign(ghost))]), traffic: &traffic)
        }
        // A Nairobi device pushes a Kisumu change.
        await expectRefusal(.wrongCounty) {
            _ = try await other.api.sync(
                SyncRequest(changes: [SignedChange(change: change, signature: b.key.sign(change))]), traffic: &traffic)
        }
        #expect(try await server.fingerprint() == before)
        // The genuine change still goes through afterwards.
        let ok = try await b.sync()
        #expect(ok.pushed == 1)
        await server.stop()
    }
}
