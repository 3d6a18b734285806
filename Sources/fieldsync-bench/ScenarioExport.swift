import FieldSyncCore
import FieldSyncScenario
import Foundation

/// The standard scenario's edits as plain JSON, so that a peer engine (scripts/bench-peer) replays
/// exactly the same edits: seed reports first, then each device's edits in its own order.
enum ScenarioExport {
    struct Edit: Encodable {
        var report: String
        var create: Bool
        var fields: [String: FieldValue]
    }

    struct Document: Encodable {
        var seedReports: [Edit]
        var devices: [[Edit]]

        enum CodingKeys: String, CodingKey { case seedReports = "seed_reports", devices }
    }

    static func edit(_ c: Change) -> Edit {
        var fields: [String: FieldValue] = [:]
        for case .set(let f, let v) in c.ops { fields[f.rawValue] = v }
        return Edit(report: c.report.rawValue, create: c.isCreate, fields: fields)
    }

    static func write(_ output: StandardScenario.Output, to path: String) throws {
        let document = Document(
            seedReports: output.seedChanges.map(edit), devices: output.deviceLogs.map { $0.map(edit) })
        try JSONEncoder().encode(document).write(to: URL(fileURLWithPath: path))
    }
}
