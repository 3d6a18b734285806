import FieldSyncCore
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// Console sessions on each engine: found by their id's hash with their operator until they
/// expire, ended by signing out, and ended with their operator's token.
@Suite(.serialized) struct ConsoleSessionConformanceTests {
    @Test(arguments: StoreKind.available)
    func sessionsLiveUntilTheyExpireAreSignedOutOrTheirTokenIsRevoked(kind: StoreKind) async throws {
        let s = try await StoreUnderTest.open(kind)
        let op = OperatorRecord(id: "op-1", name: "Desk", role: .operator, counties: ["kisumu"], revoked: false)
        try await s.store.createOperator(op, tokenHash: Data("t1".utf8), nowMillis: 1)
        let session = ConsoleSession(operatorID: "op-1", csrf: "c-1", createdMillis: 1_000, expiresMillis: 5_000)
        try await s.store.createConsoleSession(session, idHash: Data("s1".utf8))
        let found = try await s.store.consoleSession(idHash: Data("s1".utf8), nowMillis: 2_000)
        #expect(found?.session == session)
        #expect(found?.operator == op)
        #expect(try await s.store.consoleSession(idHash: Data("s1".utf8), nowMillis: 5_000) == nil, "expired")
        #expect(try await s.store.consoleSession(idHash: Data("s2".utf8), nowMillis: 2_000) == nil)
        // Signing out ends one session, not the operator's others.
        try await s.store.createConsoleSession(
            ConsoleSession(operatorID: "op-1", csrf: "c-2", createdMillis: 1_500, expiresMillis: 9_000),
            idHash: Data("s2".utf8))
        try await s.store.deleteConsoleSession(idHash: Data("s1".utf8))
        #expect(try await s.store.consoleSession(idHash: Data("s1".utf8), nowMillis: 2_000) == nil)
        #expect(try await s.store.consoleSession(idHash: Data("s2".utf8), nowMillis: 2_000)?.session.csrf == "c-2")
        // Revoking the token ends every session of the operator.
        _ = try await s.store.revokeOperator("op-1", nowMillis: 3_000)
        #expect(try await s.store.consoleSession(idHash: Data("s2".utf8), nowMillis: 3_000) == nil)
        await s.finish()
    }
}
