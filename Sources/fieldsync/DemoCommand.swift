import ArgumentParser
import FieldSyncCore
import FieldSyncStore
import Foundation

/// Two field officers' devices work offline, edit the same reports, meet, merge, and one of
/// them settles a conflict.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Two device stores edit offline, merge, and show the merged reports and the conflict log."
    )

    @Option(help: "Directory for the SQLite files (default: a new temporary directory).")
    var dir: String?

    func run() async throws {
        let directory = dir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("fieldsync-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let alicePath = directory.appendingPathComponent("amina.sqlite").path
        let bobPath = directory.appendingPathComponent("brian.sqlite").path
        for p in [alicePath, bobPath] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: p + suffix) } }

        let amina = try SQLiteStore(path: alicePath)
        let brian = try SQLiteStore(path: bobPath)
        try await amina.setIdentity(DeviceID(validating: "amina-tablet"))
        try await brian.setIdentity(DeviceID(validating: "brian-phone"))
        print("FieldSync demo — device stores in \(directory.path)\n")

        let pothole = try ReportID(validating: "kisumu-0001")
        let water = try ReportID(validating: "kisumu-0002")
        var t = wallMillis()
        func tick() -> UInt64 { t += 60_000; return t }

        print("1. Amina (online at the ward office) files two citizen reports.")
        _ = try await amina.write([.create(county: "kisumu"), .set(field: .serviceCode, value: "pothole"),
                                   .set(field: .description, value: "Deep pothole outside Kondele market"),
                                   .set(field: .lat, value: -0.0917), .set(field: .long, value: 34.7680),
                                   .set(field: .status, value: "open"), .set(field: .reporterPhone, value: "+254 700 000 001")],
                                  to: pothole, county: "kisumu", wallMillis: tick())
        _ = try await amina.write([.create(county: "kisumu"), .set(field: .serviceCode, value: "water_point"),
                                   .set(field: .description, value: "Borehole pump broken at Nyalenda"),
                                   .set(field: .status, value: "open")],
                                  to: water, county: "kisumu", wallMillis: tick())
        let first = try await PeerExchange.pull(from: amina, into: brian, peerName: "amina-tablet")
        print("   Brian's phone syncs with her tablet: \(first.result.applied) changes.\n")

        print("2. Both go offline for the day and edit the same reports.")
        _ = try await amina.write([.set(field: .status, value: "in_progress"), .set(field: .assignee, value: "roads-crew-3")],
                                  to: pothole, county: "kisumu", wallMillis: tick())
        _ = try await brian.write([.set(field: .status, value: "closed"), .addTag("verified-on-site")],
                                  to: pothole, county: "kisumu", wallMillis: tick())
        _ = try await brian.write([.appendNote(text: "Crew filled it with gravel; needs tarmac.")],
                                  to: pothole, county: "kisumu", wallMillis: tick())
        _ = try await amina.write([.withdraw(reason: "duplicate of county ticket 2291")], to: water, county: "kisumu", wallMillis: tick())
        _ = try await brian.write([.set(field: .priority, value: 1), .appendNote(text: "Queue of 40 people at the kiosk.")],
                                  to: water, county: "kisumu", wallMillis: tick())
        print("   Amina: pothole → in_progress, assigned; water point → withdrawn as a duplicate.")
        print("   Brian: pothole → closed, tagged, noted; water point → priority 1, noted.\n")

        print("3. They meet at the sub-county office and sync peer to peer (no server).")
        let (toBrian, toAmina) = try await PeerExchange.exchange(amina, brian, aName: "amina-tablet", bName: "brian-phone")
        print("   Amina → Brian: \(toBrian.result.applied) changes; Brian → Amina: \(toAmina.result.applied) changes; conflicts opened: \(toBrian.result.conflictsOpened).")
        let same = try await amina.canonicalState() == brian.canonicalState()
        print("   Both devices now hold byte-identical state: \(same ? "yes" : "NO")\n")

        try await printReports(amina)
        try await printConflicts(amina, title: "Conflict log (open)")

        print("4. Amina reviews the pothole conflict and keeps Brian's 'closed'.")
        let resolution = try await amina.write([.set(field: .status, value: "closed")], to: pothole, county: "kisumu", wallMillis: tick())
        print("   Her change \(resolution.dot) records that it resolves \(resolution.resolves[.status]?.map(\.description).joined(separator: " and ") ?? "-").")
        print("   She also confirms the water-point withdrawal, having seen Brian's notes.")
        _ = try await amina.write([.withdraw(reason: "duplicate of county ticket 2291 (confirmed)")], to: water, county: "kisumu", wallMillis: tick())
        _ = try await PeerExchange.exchange(amina, brian, aName: "amina-tablet", bName: "brian-phone")
        let converged = try await amina.canonicalState() == brian.canonicalState()
        print("   Synced again: identical state on both devices: \(converged ? "yes" : "NO")\n")
        try await printConflicts(brian, title: "Conflict log on Brian's phone")
        print("Store files are kept in \(directory.path).")
    }

    func printReports(_ store: SQLiteStore) async throws {
        print("Merged reports:")
        for r in try await store.reports(ReportFilter()) {
            let fields = r.fields.filter { !(FieldName(rawValue: $0.key)?.isPersonal ?? false) }
                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            print("  \(r.id) [\(r.lifecycle)] \(fields)")
            if !r.tags.isEmpty { print("      tags: \(r.tags.joined(separator: ", "))") }
            for n in r.notes { print("      note by \(n.dot.device): \(n.text)") }
            if !r.conflicted.isEmpty { print("      in conflict: \(r.conflicted.joined(separator: ", "))") }
        }
        print("")
    }

    func printConflicts(_ store: SQLiteStore, title: String) async throws {
        print("\(title):")
        let all = try await store.conflicts(ConflictFilter())
        if all.isEmpty { print("  (none)") }
        for c in all {
            let state = c.resolution.map { "resolved by \($0.device) → \($0.value)\($0.chosen == nil ? " (new value)" : "")" } ?? "OPEN, showing \(c.winner?.value.description ?? "?")"
            print("  \(c.id): \(state)")
            for cand in c.candidates { print("      \(cand.dot)  hlc \(cand.hlc)  \(cand.value)") }
        }
        print("")
    }
}
