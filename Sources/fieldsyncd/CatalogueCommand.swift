import ArgumentParser
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import Foundation

/// `fieldsyncd admin catalogue`: publish a county's service catalogue from a file, show it.
struct CatalogueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalogue",
        abstract:
            "A county's service catalogue: import a new version from a file, show one (safe while the daemon runs).",
        subcommands: [Import.self, Show.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Publish a new version of a county's catalogue from a JSON file in Open311's words ({\"county\", \"services\": [...]}); devices receive it at their next sync."
        )
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The catalogue file (JSON, at most 1 MiB).") var file: String

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= 1 << 20 else { throw ValidationError("\(file) is over 1 MiB") }
            let catalogue: ServiceCatalogue
            do {
                catalogue = try JSONDecoder().decode(ServiceCatalogue.self, from: try Data(contentsOf: url))
            } catch {
                throw ValidationError("\(file) is not a catalogue: \(error)")
            }
            let published = try await database.withService {
                try await $0.publishCatalogue(catalogue, by: .currentShell)
            }
            print(
                "county \(published.county): catalogue version \(published.version ?? 0) published, \(published.services.count) services"
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a county's catalogue (the newest, or --version).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The county.") var county: String
        @Option(help: "A version (default: the newest).") var version: Int?

        func run() async throws {
            let (county, version) = (self.county, self.version)
            let versions = try await database.withService { service in
                let list = try await service.catalogueVersions(county: county, by: .currentShell)
                guard let chosen = version ?? list.versions.first?.version else { return (list, nil as Data?) }
                let record = try await service.store.catalogue(county: county, version: chosen)
                return (list, record?.body)
            }
            guard let body = versions.1 else {
                throw ValidationError("county '\(county)' has no catalogue\(version.map { " version \($0)" } ?? "")")
            }
            for v in versions.0.versions {
                print(
                    "v\(v.version) published \(W3CDate.format(Int64(clamping: v.publishedAtMillis))) by \(v.publishedBy)"
                )
            }
            print(String(decoding: body, as: UTF8.self))
        }
    }
}
