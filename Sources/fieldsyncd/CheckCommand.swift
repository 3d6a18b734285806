import FieldSyncProtocol
import ArgumentParser
import FieldSyncCore
import FieldSyncServer
import FieldSyncStore
import FieldSyncSQLite
import Foundation

extension Admin {
    /// `fieldsyncd admin check`: validates a configuration without serving.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a configuration without serving: the database opens (PostgreSQL answers), its schema migrates, the signing key is there, the database's directory is private. Exits 0 when serve would start (safe while the daemon runs)."
        )
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            if let warning = database.directoryWarning() { print("warning: \(warning)") }
            if !database.usesPostgres, let holder = DatabaseLock.holder(of: database.path) {
                print("note: \(database.path) is in use by \(holder)")
            }
            let service = try await database.open(.live)
            let admins = try await service.operators(by: .currentShell).filter {
                $0.role == OperatorRole.admin.rawValue && !$0.revoked
            }.count
            let devices = try await service.store.devices(county: nil).count
            let external = try database.externalSigningKey() != nil
            await service.store.close()
            print(
                "database: ok (\(database.usesPostgres ? "PostgreSQL" : "SQLite \(database.path)"), \(admins) admin\(admins == 1 ? "" : "s"), \(devices) device\(devices == 1 ? "" : "s"))"
            )
            guard service.signingKey != nil else {
                print(
                    "signing key: MISSING — it is kept outside the database; give --signing-key-file or FIELDSYNC_SIGNING_KEY"
                )
                throw ExitCode(1)
            }
            print(
                "signing key: ok (\(external ? "given outside the database" : "in the database")); public key \(service.serverPublicKey.base64EncodedString())"
            )
            if admins == 0 { print("warning: no admin can sign in; create one with fieldsyncd admin create-admin") }
        }
    }
}
