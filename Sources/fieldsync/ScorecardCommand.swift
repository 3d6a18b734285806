import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import Foundation

/// `fieldsync scorecard`: the county's service scorecard as a table (operators).
struct ScorecardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scorecard",
        abstract:
            "The county's service scorecard: requests received, time to acknowledge and to close (median, 90th percentile, hours), share closed within target, reopened, open backlog by age (operators)."
    )
    @OptionGroup var options: OperatorOptions
    @Option(help: "The county (default: your only one).") var county: String?
    @Option(help: "From this date (2026-01-01; default: 365 days before --to).") var from: String?
    @Option(help: "To this date, inclusive (default: now).") var to: String?
    @Option(help: "Rows by service, ward or month.") var group = "service"

    func run() async throws {
        guard Scorecard.Grouping(rawValue: group) != nil else {
            throw ValidationError("--group is service, ward or month")
        }
        var query = ["group": group]
        query["county"] = county
        query["from"] = from
        query["to"] = to
        let card = try await options.api().scorecard(query: query)
        if options.json { return try printJSON(card) }
        print(
            "county \(card.county), requests received \(W3CDate.format(Int64(card.fromMillis)).prefix(10)) to \(W3CDate.format(Int64(card.toMillis)).prefix(10)), by \(card.group.rawValue)"
        )
        func h(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "—" }
        let header = [
            "", "received", "ack med", "ack p90", "closed", "close med", "close p90", "in target", "reopened",
            "open <4w", "open ≥4w", "no update 8w",
        ]
        var lines = [header]
        for r in card.rows {
            lines.append([
                r.key, "\(r.received)", h(r.acknowledgeMedianHours), h(r.acknowledgeP90Hours), "\(r.closed)",
                h(r.closeMedianHours), h(r.closeP90Hours),
                r.closedWithinTarget.map { String(format: "%.0f%%", $0 * 100) } ?? "—", "\(r.reopened)",
                "\(r.backlogNew)", "\(r.backlogOlder)", "\(r.backlogStale)",
            ])
        }
        let widths = header.indices.map { i in lines.map { $0[i].count }.max() ?? 0 }
        for line in lines {
            print(
                line.enumerated().map { i, cell in
                    i == 0
                        ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  "))
        }
    }
}
