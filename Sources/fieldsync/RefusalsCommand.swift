import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import Foundation

/// `fieldsync refusals list`: the changes the server refused, with their reasons (operators).
struct RefusalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refusals", abstract: "Read the server's refusals quarantine (operators).",
        subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List refused changes, newest first.")
        @OptionGroup var options: OperatorOptions
        @Option(help: "County.") var county: String?
        @Option(help: "Only changes sent by this device.") var device: String?
        @Option(help: "Page size.") var limit = 50
        @Option(help: "Offset.") var offset = 0

        func run() async throws {
            var q = ["limit": "\(limit)", "offset": "\(offset)"]
            q["county"] = county
            q["device"] = device
            let list = try await options.api().refusals(query: q)
            if options.json { return try printJSON(list) }
            printTable(
                ["change", "code", "sent by", "times", "when", "depends on", "reason"],
                list.refusals.map { r in
                    [
                        "\(r.dot)", r.code, r.via ?? "", "\(r.times)", humanTime(HybridTimestamp(millis: r.atMillis)),
                        r.dependsOn?.description ?? "", String(r.message.prefix(120)),
                    ]
                })
            if let dropped = list.dropped, dropped > 0 {
                print("\(dropped) more refusals were over the quarantine's bounds: counted, not kept")
            }
            if let next = list.nextOffset { print("more: --offset \(next)") }
        }
    }
}
