import FieldSyncCore
package import FieldSyncPostgres
package import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing

/// The storage engines the conformance suite runs against. PostgreSQL runs when
/// `FIELDSYNC_TEST_POSTGRES_URL` names a database (`.ci/run` starts one and sets it); under
/// `CI=true` its absence is a failure, not a skip.
package enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    package var testDescription: String { rawValue }

    /// The PostgreSQL test database URL, if configured.
    package static var postgresURL: String? {
        let url = ProcessInfo.processInfo.environment["FIELDSYNC_TEST_POSTGRES_URL"]
        return url?.isEmpty == false ? url : nil
    }

    /// Every engine available here.
    package static var available: [StoreKind] {
        if postgresURL != nil { return allCases }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            // Listed anyway so that `open` fails loudly.
            return allCases
        }
        print("note: FIELDSYNC_TEST_POSTGRES_URL is not set; the PostgreSQL half of the conformance suite is skipped")
        return [.sqlite]
    }
}

/// One store under test, in a fresh place: a new SQLite file, or a new PostgreSQL schema.
package final class StoreUnderTest: Sendable {
    package let kind: StoreKind
    package let store: any ServerStore
    private let directory: TemporaryDirectory?
    private let name: String

    private init(kind: StoreKind, store: any ServerStore, directory: TemporaryDirectory?, name: String) {
        self.kind = kind
        self.store = store
        self.directory = directory
        self.name = name
    }

    /// A fresh, empty server store of `kind`.
    package static func open(_ kind: StoreKind, pool: Int = 4) async throws -> StoreUnderTest {
        let name = "fs_t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        switch kind {
        case .sqlite:
            let dir = TemporaryDirectory()
            return StoreUnderTest(
                kind: kind, store: try SQLiteStore(path: dir.path("\(name).sqlite"), options: .server), directory: dir,
                name: name)
        case .postgres:
            let store = try await openPostgres(schema: name, pool: pool)
            return StoreUnderTest(kind: kind, store: store, directory: nil, name: name)
        }
    }

    package static func openPostgres(schema: String, pool: Int = 4) async throws -> PostgresStore {
        let url = try #require(
            StoreKind.postgresURL, "set FIELDSYNC_TEST_POSTGRES_URL to a PostgreSQL database (CI starts one)")
        var configuration = try PostgresStoreConfiguration(url: url)
        configuration.schema = schema
        configuration.poolSize = pool
        return try await PostgresStore.connect(configuration)
    }

    /// A second, independent handle on the same data (a reopened file, or another daemon's pool).
    package func reopen() async throws -> any ServerStore {
        switch kind {
        case .sqlite: return try SQLiteStore(path: directory!.path("\(name).sqlite"), options: .server)
        case .postgres: return try await Self.openPostgres(schema: name)
        }
    }

    /// The media store that goes with this store: files in the test directory for SQLite, the
    /// same database for PostgreSQL. Each call is a new handle on the same blobs.
    package func blobs() throws -> any BlobStore {
        switch kind {
        case .sqlite: return try FileBlobStore(directory: directory!.url.appendingPathComponent("media"))
        case .postgres: return store as! PostgresStore
        }
    }

    /// Closes the store and removes what it wrote.
    package func finish() async {
        await store.close()
        if kind == .postgres, let cleaner = try? await Self.openPostgres(schema: name, pool: 1) {
            try? await cleaner.dropEverything()
            await cleaner.close()
        }
    }
}
