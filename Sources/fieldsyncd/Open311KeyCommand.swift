import ArgumentParser
import FieldSyncServer
import FieldSyncStore

/// `fieldsyncd admin open311-key`: keys for Open311 client applications, per county.
struct Open311KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open311-key",
        abstract:
            "Issue a key to an Open311 client application of a county and print it (shown once), list keys, or revoke one (safe while the daemon runs)."
    )
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The county its requests are filed in.") var county: String?
    @Option(help: "The application's name (e.g. FixMyStreet Kisumu).") var name: String?
    @Option(help: "Revoke the key with this id instead.") var revoke: String?
    @Flag(help: "List the keys instead.") var list = false

    func run() async throws {
        if list {
            let keys = try await database.withService { try await $0.open311Keys(by: .currentShell) }
            for k in keys {
                print("\(k.id)  \(k.county)  \(k.name)\(k.revokedMillis == nil ? "" : "  (revoked)")")
            }
        } else if let revoke {
            try await database.withService { try await $0.revokeOpen311Key(revoke, by: .currentShell) }
            print("\(revoke): revoked")
        } else {
            guard let county, let name else {
                throw ValidationError("give --county and --name (or --list, --revoke ID)")
            }
            let issued = try await database.withService {
                try await $0.createOpen311Key(county: county, name: name, by: .currentShell)
            }
            print("key \(issued.record.id) for \(name) in \(county); the key (shown once):")
            print(issued.key)
        }
    }
}
