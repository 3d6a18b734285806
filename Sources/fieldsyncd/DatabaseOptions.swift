import ArgumentParser
import FieldSyncCore
import FieldSyncPostgres
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Logging

/// How a command uses the database, beside a daemon that may be serving it.
enum DatabaseAccess {
    /// `serve`: creates the database if needed and holds its lock while it runs.
    case serve
    /// Bootstrap (`create-admin`): creates the database if needed; safe beside a running daemon.
    case create
    /// Directory changes and reads (`enroll`, `revoke`, `devices`, operators): safe beside a
    /// running daemon, which reads them from the database at every request.
    case live
    /// Commands that rewrite what a daemon keeps in memory (`verify`, `new-epoch`, the signing
    /// key): refused while a daemon holds the database, unless forced.
    case exclusive
}

/// A database lock held until the process exits.
nonisolated(unsafe) var heldLock: DatabaseLock?

/// Options shared by every subcommand that opens the database.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite database file (the default store; also FIELDSYNC_DB). Must exist except for serve and create-admin.",
            valueName: "path"))
    var db: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Store everything in PostgreSQL instead (several daemons may share it): postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=require&pool=10&schema=public]. Also FIELDSYNC_POSTGRES_URL.",
            valueName: "url"))
    var postgres: String? = ProcessInfo.processInfo.environment["FIELDSYNC_POSTGRES_URL"]
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The server's signing key, when kept outside the database: a file readable by its owner only (fieldsyncd admin signing-key export writes one). Also FIELDSYNC_SIGNING_KEY_FILE, or the key itself (base64) in FIELDSYNC_SIGNING_KEY.",
            valueName: "path"))
    var signingKeyFile: String? = ProcessInfo.processInfo.environment["FIELDSYNC_SIGNING_KEY_FILE"]

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where media files (photos) are kept with a SQLite database (default: <db>-media beside it; files 0600). With --postgres they live in PostgreSQL. Also FIELDSYNC_MEDIA_DIR.",
            valueName: "path"))
    var mediaDir: String? = ProcessInfo.processInfo.environment["FIELDSYNC_MEDIA_DIR"]

    static let defaultPath = "fieldsync.sqlite"

    /// An explicitly empty `--postgres` (an unset variable in a script) is refused, not taken
    /// as "use the SQLite default".
    func validate() throws {
        let given = CommandLine.arguments.contains { $0 == "--postgres" || $0.hasPrefix("--postgres=") }
        if given, postgres?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
            throw ValidationError(
                "--postgres is empty (is the variable holding the URL set?); give postgres://USER:PASSWORD@HOST:PORT/DB"
            )
        }
    }

    /// Whether the store is PostgreSQL.
    var usesPostgres: Bool { !(postgres?.isEmpty ?? true) }

    /// The SQLite file: `--db`, else `FIELDSYNC_DB`, else `./fieldsync.sqlite` (said on stderr).
    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["FIELDSYNC_DB"], !env.isEmpty { return env }
        return Self.defaultPath
    }

    /// Whether no database was named, so the working directory's default is used.
    var isDefaultPath: Bool { db == nil && (ProcessInfo.processInfo.environment["FIELDSYNC_DB"] ?? "").isEmpty }

    /// The signing key given outside the database, if any.
    func externalSigningKey() throws -> DeviceKey? {
        if let signingKeyFile, !signingKeyFile.isEmpty { return try ServerSigningKey.read(path: signingKeyFile) }
        if let text = ProcessInfo.processInfo.environment["FIELDSYNC_SIGNING_KEY"], !text.isEmpty {
            return try ServerSigningKey.parse(text, source: "FIELDSYNC_SIGNING_KEY")
        }
        return nil
    }

    /// A warning when others may write in (or enter) the SQLite database's directory: they
    /// could replace or remove the database and its journals, whatever the files' own modes.
    func directoryWarning() -> String? {
        guard !usesPostgres else { return nil }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: directory))?[.posixPermissions] as? Int,
            mode & 0o027 != 0
        else { return nil }
        return
            "the database's directory \(directory) has mode \(String(mode, radix: 8)): others may enter or change it; chmod 700 it (or 750 for a group of admins)"
    }

    /// Checks, before opening a SQLite file, that `access` may: the file exists unless the
    /// command creates it, and no daemon holds it for an exclusive command (unless `force`).
    /// `serve` and exclusive commands take the lock and keep it until the process exits.
    func guardFile(_ access: DatabaseAccess, force: Bool?, holder: String) throws {
        if usesPostgres { return }
        let exists = FileManager.default.fileExists(atPath: path)
        if isDefaultPath { note("no --db or FIELDSYNC_DB given; using ./\(Self.defaultPath)") }
        let creates = access == .serve || access == .create
        if creates && !exists { note("creating a new database at \(path)") }
        if !creates && !exists {
            throw ValidationError(
                "no database at \(path); create one with fieldsyncd admin create-admin --db \(path), or name the right one with --db or FIELDSYNC_DB"
            )
        }
        if access == .serve {
            heldLock = try DatabaseLock.acquire(database: path, holder: holder)
        } else if access == .exclusive {
            try lockExclusively(force: force, holder: holder)
        }
    }

    /// Takes the lock for a command that must not run beside a daemon (or warns, when forced;
    /// `force` is nil for a command that cannot be forced).
    private func lockExclusively(force: Bool?, holder: String) throws {
        if force == true {
            if let owner = DatabaseLock.holder(of: path) { note("warning: --force: \(path) is in use by \(owner)") }
            return
        }
        guard let owner = DatabaseLock.holder(of: path) else {
            heldLock = try DatabaseLock.acquire(database: path, holder: holder)
            return
        }
        let message =
            "the database \(path) is in use by \(owner). This command rewrites what a running daemon keeps in memory; "
            + (force == nil ? "stop the daemon first" : "stop the daemon first (or pass --force if you are sure)")
        throw FieldSyncError(.databaseInUse, message)
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Opens the configured store: PostgreSQL when a URL is given, else the SQLite file.
    func openStore(
        _ access: DatabaseAccess = .live, force: Bool? = nil, faults: FaultInjector? = nil,
        logger: Logger? = nil
    ) async throws -> any ServerStore {
        var quiet = Logger(label: "fieldsyncd")
        quiet.logLevel = .warning
        let log = logger ?? quiet
        let command = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.joined(separator: " ")
        try guardFile(access, force: force, holder: "fieldsyncd \(command) (pid \(getpid()))")
        if let postgres, !postgres.isEmpty {
            var options = PostgresStore.Options()
            options.faults = faults
            let configuration = try PostgresStoreConfiguration(url: postgres)
            log.info("store: PostgreSQL \(configuration.redacted)")
            return try await PostgresStore.connect(configuration, options: options, logger: log)
        }
        var options = SQLiteStore.Options.server
        options.faults = faults
        log.info("store: SQLite \(path)")
        return try SQLiteStore(path: path, options: options)
    }

    /// Opens the store, runs `body` on it, and closes it whether `body` returns or throws.
    func withStore<T>(
        _ access: DatabaseAccess = .live, force: Bool? = nil,
        _ body: (any ServerStore) async throws -> T
    ) async throws -> T {
        let store = try await openStore(access, force: force)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Opens the service, runs `body` on it, and closes its store whether `body` returns or throws.
    func withService<T>(_ access: DatabaseAccess = .live, _ body: (SyncService) async throws -> T) async throws -> T {
        let service = try await open(access)
        do {
            let result = try await body(service)
            await service.store.close()
            return result
        } catch {
            await service.store.close()
            throw error
        }
    }

    /// Opens the store and the service. The daemon (`.serve`) needs the signing key; the shell's
    /// administration does not, and opens without it when it is kept outside the database.
    func open(
        _ access: DatabaseAccess = .live, faults: FaultInjector? = nil,
        configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger? = nil
    ) async throws -> SyncService {
        let key = try externalSigningKey()
        let store = try await openStore(access, faults: faults, logger: logger)
        do {
            var blobs: (any BlobStore)?
            if let mediaDir, !(store is PostgresStore) {
                blobs = try FileBlobStore(directory: URL(fileURLWithPath: mediaDir))
            }
            return try await SyncService(
                store: store, configuration: configuration, signingKey: key, requireSigningKey: access == .serve,
                blobs: blobs)
        } catch {
            await store.close()
            throw error
        }
    }
}
