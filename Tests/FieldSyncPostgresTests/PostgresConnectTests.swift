import FieldSyncCore
import FieldSyncPostgres
import Foundation
import Testing
import FieldSyncTestSupport

/// A daemon or command that cannot reach PostgreSQL says why at once, in PostgreSQL's words
/// (issue 14, item 2): not a pool's circuit breaker after a minute of silent retries.
@Suite struct PostgresConnectTests {
    func refusal(_ url: String) async throws -> FieldSyncError? {
        let configuration = try PostgresStoreConfiguration(url: url)
        do {
            let store = try await PostgresStore.connect(configuration)
            await store.close()
            return nil
        } catch { return error }
    }

    @Test(.enabled(if: StoreKind.postgresURL != nil)) func wrongPasswordPortAndTLSAreNamed() async throws {
        let good = try PostgresStoreConfiguration(url: try #require(StoreKind.postgresURL))
        let base = "postgres://\(good.user):%@\(good.host):%d/\(good.database)"
        let password = try #require(try await refusal(String(format: base, "not-the-password@", good.port)))
        #expect(password.code == .storage && password.message.contains("password authentication failed"), "\(password)")
        let port = try #require(try await refusal(String(format: base, "x@", 1)))
        #expect(port.message.contains("is PostgreSQL running and listening on \(good.host):1"), "\(port)")
        let tls = try #require(try await refusal(String(format: base, "x@", good.port) + "?sslmode=require"))
        #expect(tls.message.contains("does not offer TLS") || tls.message.contains("password"), "\(tls)")
    }
}
