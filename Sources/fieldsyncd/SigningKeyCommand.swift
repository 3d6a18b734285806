import FieldSyncSigning
import FieldSyncStore
import ArgumentParser
import FieldSyncServer
import Foundation

extension Admin {
    /// `fieldsyncd admin signing-key`: keep the server's signing key out of the database, or replace it.
    struct SigningKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signing-key",
            abstract:
                "Keep the server's signing key outside the database, or rotate it (docs/operations.md, 'The signing key').",
            subcommands: [Export.self, Rotate.self]
        )

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Move the database's signing key to a new owner-only file; the database keeps only the public key. Then start every daemon with --signing-key-file."
            )
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The key file to create (it must not exist).") var out: String

            func run() async throws {
                let key = try await database.withStore(.exclusive) { store in
                    let key = try await ServerSigningKey.export(from: store, to: out).publicKey
                    try await shellAudit(
                        store, .signingKey, subject: key.base64EncodedString(),
                        detail: "signing key moved out of the database")
                    return key
                }
                print(
                    "signing key written to \(out) (mode 600) and removed from the database; public key \(key.base64EncodedString())"
                )
            }
        }

        struct Rotate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Make a new signing key in a new owner-only file and make it the server's. Stop the daemons first; start them with --signing-key-file pointing at it."
            )
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The new key file to create (it must not exist).") var out: String

            func run() async throws {
                let key = try await database.withStore(.exclusive) { store in
                    let key = try await ServerSigningKey.rotate(in: store, newKeyFile: out).publicKey
                    try await shellAudit(
                        store, .signingKey, subject: key.base64EncodedString(), detail: "signing key rotated")
                    return key
                }
                print("new signing key written to \(out) (mode 600); public key \(key.base64EncodedString())")
            }
        }
    }
}
