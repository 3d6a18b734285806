import ArgumentParser
import FieldSyncFleet
import FieldSyncServer
import Foundation

/// `fieldsync simulate`: a fleet of devices from a scenario file.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Run a fleet of simulated devices from a scenario file, then check that every device and the server converge."
    )
    @Option(help: "Scenario file (JSON), e.g. scripts/scenarios/county-week-offline.json.") var scenario: String
    @Option(
        help:
            "Server URL (default: an embedded server in a temporary directory). Several, comma-separated, for daemons sharing one database: each device's requests go to each in turn."
    ) var server: String?
    @Option(help: "Admin token of --server.") var adminToken: String?
    @Option(help: "Directory for device stores (default: temporary).") var dir: String?
    @Option(help: "Record every device's exchanges into this directory.") var record: String?
    @Option(help: "Write the summary as JSON to this file.") var json: String?
    @Flag(help: .hidden) var withholdOneChange = false

    func run() async throws {
        let loaded = try FleetScenario.load(scenario)
        let directory =
            dir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "fieldsync-sim-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(at: directory) } }
        var embedded: EmbeddedServer?
        var more: [URL] = []
        let url: URL, admin: String
        if let server {
            let urls = server.split(separator: ",").compactMap { URL(string: String($0)) }
            guard let u = urls.first, let adminToken else {
                throw ValidationError("with --server, give --admin-token too")
            }
            (url, admin) = (u, adminToken)
            more = Array(urls.dropFirst())
        } else {
            let e = try await EmbeddedServer.start(database: directory.appendingPathComponent("server.sqlite").path)
            embedded = e
            (url, admin) = (e.url, e.adminToken)
        }
        var simulator = FleetSimulator(scenario: loaded, server: url, adminToken: admin, directory: directory)
        simulator.withholdOneChange = withholdOneChange
        simulator.moreServers = more
        if let record {
            let r = URL(fileURLWithPath: record)
            try FileManager.default.createDirectory(at: r, withIntermediateDirectories: true)
            simulator.recordDirectory = r
        }
        let summary = try await simulator.run { print("  \($0)") }
        await embedded?.stop()
        for line in summary.lines { print(line) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary).write(to: URL(fileURLWithPath: json))
        }
        if !summary.diverged.isEmpty { throw ExitCode(2) }
    }
}
