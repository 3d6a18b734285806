import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// The tour: an embedded fieldsyncd, officers in two counties working offline, a peer meeting in
/// a village, syncs over a 2G link, the merged reports and conflict log, an operator's resolution.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run the FieldSync tour: embedded server, two counties, offline work, peer sync, 2G sync, conflicts, resolution."
    )

    @Option(help: "Directory for the SQLite files (default: a new temporary directory).") var dir: String?
    @Option(help: "Link profile for the devices' syncs.") var link = "2g"

    func run() async throws {
        let directory =
            dir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "fieldsync-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["server", "amina", "brian", "wanjiru"] {
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent("\(name).sqlite\(suffix)"))
            }
        }
        let profile = try LinkProfile.parse(link)
        print("FieldSync demo — files in \(directory.path)\n")
        var tour = try await DemoTour.start(directory: directory, profile: profile)
        try await tour.fileReports()
        try await tour.editOffline()
        try await tour.meetInVillage()
        try await tour.carryToServer()
        try await tour.resolve(try await tour.readConflictLog())
        let agree = try await tour.syncEveryone()
        try await tour.printConflictLog()
        await tour.stop()
        if !agree { throw ExitCode(1) }
        print("\nDone. Files are in \(directory.path).")
    }
}

/// A demo officer: a device store, a key and a sync over a simulated link.
struct Officer: Sendable {
    let name: String
    let county: String
    let key: DeviceKey
    let store: SQLiteStore
    let sync: DeviceSync
    let link: SimulatedLink

    static func enroll(
        name: String, token: String, server: URL, directory: URL, profile: LinkProfile
    ) async throws -> Officer {
        let key = DeviceKey()
        let http = URLSessionTransport(baseURL: server)
        let registered = try await FieldSyncAPI(transport: http).register(
            enrollmentToken: token, publicKey: key.publicKey)
        let store = try SQLiteStore(path: directory.appendingPathComponent("\(name).sqlite").path)
        try await store.setIdentity(DeviceID(validating: registered.deviceID))
        try await PeerCertificates.keep(registration: registered, in: store)
        let link = SimulatedLink(http, profile: profile, seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        return Officer(
            name: name, county: registered.county, key: key, store: store,
            sync: DeviceSync(
                store: store, api: FieldSyncAPI(transport: link, token: registered.token),
                runSigner: { key.signRun($0) }, signer: { key.sign($0) }), link: link)
    }

    func write(_ ops: [ReportOperation], _ report: String, _ wall: UInt64) async throws {
        let key = self.key
        _ = try await store.write(
            ops, to: ReportID(validating: report), county: county, wallMillis: wall, signer: { key.sign($0) })
    }

    func sync() async throws -> String {
        let before = link.simulatedSeconds
        let (s, attempts) = try await sync.runWithRetries(sleep: { _ in })
        return
            "pushed \(s.pushed), pulled \(s.pulled), \(s.bytesSent + s.bytesReceived) bytes, \(s.roundTrips) round trip\(s.roundTrips == 1 ? "" : "s")\(attempts > 1 ? ", \(attempts) attempts" : ""), "
            + String(format: "%.1f s on %@", link.simulatedSeconds - before, link.profile.name)
    }
}
