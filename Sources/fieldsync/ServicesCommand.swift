import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import Foundation

/// `fieldsync services`: the county's service catalogue as this device holds it (offline).
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "The county's service catalogue held on this device (received with sync; works offline).",
        subcommands: [List.self, Show.self], defaultSubcommand: List.self
    )

    static func held(_ options: StoreOptions) async throws -> ServiceCatalogue {
        guard let catalogue = try await DeviceCatalogue.held(try options.open()) else {
            throw ValidationError("this device holds no service catalogue yet: sync once the county has published one")
        }
        return catalogue
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the services, by group.")
        @OptionGroup var options: StoreOptions
        @Flag(help: "Print the catalogue as JSON.") var json = false

        func run() async throws {
            let catalogue = try await ServicesCommand.held(options)
            if json { return try printJSON(catalogue) }
            print("county \(catalogue.county), catalogue v\(catalogue.version ?? 0)")
            for s in catalogue.services {
                let required = s.orderedAttributes.filter { $0.required == true }.map(\.code)
                print(
                    "  \(s.serviceCode) — \(s.serviceName)\(s.group.map { " [\($0)]" } ?? "")"
                        + (required.isEmpty ? "" : "; requires \(required.joined(separator: ", "))"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one service and the attributes it asks for.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The service code.") var code: String

        func run() async throws {
            let catalogue = try await ServicesCommand.held(options)
            guard let s = catalogue.service(code) else {
                throw ValidationError("no service '\(code)' in catalogue v\(catalogue.version ?? 0)")
            }
            print("\(s.serviceCode) — \(s.serviceName)")
            if let d = s.description { print("  \(d)") }
            if let t = s.targets {
                print(
                    "  targets: acknowledge within \(t.acknowledgeHours.map { "\($0) h" } ?? "—"), resolve within \(t.resolveHours.map { "\($0) h" } ?? "—")"
                )
            }
            for a in s.orderedAttributes {
                let choices = (a.values ?? []).map(\.key).joined(separator: "|")
                print(
                    "  --attribute \(a.code)=<\(choices.isEmpty ? a.datatype.rawValue : choices)>"
                        + "\(a.required == true ? " (required)" : "")\(a.description.map { " — \($0)" } ?? "")")
            }
        }
    }
}
