public import FieldSyncCore
public import FieldSyncStore
import Foundation
public import Logging
import NIOSSL
import PostgresNIO

/// FieldSync's storage on PostgreSQL, for several `fieldsyncd` instances behind one database:
/// the same logs, merged reports, conflict log and directory as `SQLiteStore`, through a pool of
/// postgres-nio connections.
///
/// Every daemon on the database is equal and keeps no state of its own between requests:
/// report heads are written in the ingest's transaction (under row locks on the reports'
/// buckets), and the pull order is published after commit by one publisher at a time
/// (protocol/concurrency.md explains why no change is ever skipped or served twice).
public final class PostgresStore: ServerStore {
    /// How a store behaves.
    public struct Options: Sendable {
        /// The limits every change must respect.
        public var limits = ChangeLimits.standard
        /// Crashes injected on purpose (fault-injection runs only).
        public var faults: FaultInjector?
        /// How many times a transaction that lost a deadlock or serialization race is retried.
        public var retries = 8
        /// The bounds of the refusals quarantine.
        public var quarantine = RefusalQuarantine()

        /// The defaults.
        public init() {}
    }

    /// The connection settings.
    public let configuration: PostgresStoreConfiguration
    /// The options.
    public let options: Options
    /// Crashes injected on purpose.
    public var faults: FaultInjector? { options.faults }
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    private init(
        configuration: PostgresStoreConfiguration, options: Options, client: PostgresClient, logger: Logger,
        runner: Task<Void, Never>
    ) {
        self.configuration = configuration
        self.options = options
        self.client = client
        self.logger = logger
        self.runner = runner
    }

    /// Connects to the database and brings its schema to the current version (creating it on
    /// an empty database). Several daemons may do this at once: one migrates, the others wait.
    public static func connect(
        _ configuration: PostgresStoreConfiguration, options: Options = Options(),
        logger: Logger = Logger(label: "fieldsync.postgres")
    ) async throws(FieldSyncError) -> PostgresStore {
        try await probe(configuration, logger: logger)
        let tls: PostgresClient.Configuration.TLS
        switch configuration.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var pg = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.user,
            password: configuration.password, database: configuration.database, tls: tls)
        pg.options.maximumConnections = configuration.poolSize
        pg.options.additionalStartupParameters = [
            ("search_path", configuration.schema), ("application_name", "fieldsyncd"),
        ]
        // The pool's own chatter (e.g. a lease racing its start) stays out of the daemon's log.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: pg, backgroundLogger: background)
        let runner = Task { await client.run() }
        let store = PostgresStore(
            configuration: configuration, options: options, client: client, logger: logger, runner: runner)
        do throws(FieldSyncError) {
            try await store.migrate()
            try await store.publish()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Stops the connection pool. The store must not be used afterwards.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    // MARK: Schema

    private func migrate() async throws(FieldSyncError) {
        let schema = configuration.schema  // validated: a plain lower-case identifier
        try await transaction { conn in
            try await conn.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger)
            try await conn.run(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger)
            try await conn.run("CREATE TABLE IF NOT EXISTS fieldsync_schema(version integer NOT NULL)", logger)
            let rows = try await conn.rows("SELECT version FROM fieldsync_schema", logger)
            let version = try rows.first?.decode(Int.self) ?? 0
            if rows.isEmpty { try await conn.run("INSERT INTO fieldsync_schema(version) VALUES (0)", logger) }
            guard version <= PostgresSchema.currentVersion else {
                throw FieldSyncError(
                    .schemaTooNew,
                    "database '\(self.configuration.database)' (schema \(self.configuration.schema)) has FieldSync schema version \(version), but this build knows only up to \(PostgresSchema.currentVersion); upgrade every fieldsyncd before pointing it at this database"
                )
            }
            for v in version..<PostgresSchema.migrations.count {
                for statement in PostgresSchema.migrations[v] {
                    try await conn.run(PostgresQuery(unsafeSQL: statement), logger)
                }
                try await conn.run("UPDATE fieldsync_schema SET version = \(v + 1)", logger)
                if v + 1 == 10 { try await Self.restoreStatusTimes(conn, logger) }
                if v + 1 == 12 { try await Self.restoreTags(conn, logger) }
            }
        }
    }

    // MARK: Connections and transactions

    /// Runs `body` on a pooled connection.
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(FieldSyncError) -> T {
        do {
            return try await client.withConnection { conn in try await body(conn) }
        } catch {
            throw Self.storageError(error)
        }
    }

    /// Runs `body` in one transaction on a pooled connection: committed if it returns, rolled
    /// back if it throws. A transaction that loses a deadlock or a serialization race is run again.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(FieldSyncError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { conn in
                    try await conn.run("BEGIN", self.logger)
                    do {
                        let value = try await body(conn)
                        try await conn.run("COMMIT", self.logger)
                        return value
                    } catch {
                        try? await conn.run("ROLLBACK", self.logger)
                        throw error
                    }
                }
            } catch {
                let retryable =
                    error is IngestRaceLost
                    || (error as? PSQLError)?.serverInfo?[.sqlState].map { ["40P01", "40001"].contains($0) } == true
                if attempt <= options.retries, retryable {
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                    continue
                }
                throw Self.storageError(error)
            }
        }
    }

    /// A FieldSync error for anything a database call threw (FieldSync errors pass through).
    static func storageError(_ error: any Error) -> FieldSyncError {
        if let e = error as? FieldSyncError { return e }
        if let p = error as? PSQLError {
            if let info = p.serverInfo {
                let state = info[.sqlState] ?? "?"
                return FieldSyncError(
                    .storage,
                    "PostgreSQL refused an operation (SQLSTATE \(state): \(info[.message] ?? "no message")); nothing was changed by it. Check the database's log; if it persists, run 'fieldsyncd admin verify'"
                )
            }
            return FieldSyncError(
                .storage,
                "PostgreSQL is unreachable or the connection failed (\(p.code)); check that the database is up and the URL is right, then retry"
            )
        }
        return FieldSyncError(
            .storage,
            "PostgreSQL call failed (\(String(describing: error).prefix(200))); retry, and check the database if it persists"
        )
    }
}

extension PostgresConnection {
    /// Runs a statement and drains its rows.
    func run(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }

    /// Runs a query and returns every row.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }
}
