import ArgumentParser
import FieldSyncCore
import FieldSyncServer
import FieldSyncStore
import Foundation

extension Admin {
    /// `fieldsyncd admin audit`: the audit log, newest first.
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the audit log, newest first: who did what, when, from where (safe while the daemon runs).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this county.") var county: String?
        @Option(help: "Only this action (\(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))).") var action:
            String?
        @Option(help: "Only this actor (an operator or device id, or shell:USER).") var actor: String?
        @Option(help: "Entries at most.") var limit = 100
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let kind = try action.map { raw -> AuditAction in
                guard let a = AuditAction(rawValue: raw) else {
                    throw ValidationError(
                        "--action must be one of \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return a
            }
            let entries = try await database.withStore { store in
                try await store.audit(
                    AuditFilter(counties: county.map { [$0] }, action: kind, actor: actor, limit: max(1, limit)))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
                return
            }
            for e in entries {
                let when = Date(timeIntervalSince1970: Double(e.atMillis) / 1000).ISO8601Format()
                print(
                    "\(when)  \(e.actor) (\(e.role)) from \(e.address)  \(e.action.rawValue) \(e.subject)\(e.county.map { " [\($0)]" } ?? "")  \(e.detail)"
                )
            }
        }
    }
}

/// Records an action taken from the shell in the audit log.
func shellAudit(_ store: any ServerStore, _ action: AuditAction, subject: String, detail: String) async throws {
    try await SyncService.appendAudit(
        to: store, action, by: .currentShell, from: nil, atMillis: UInt64(Date().timeIntervalSince1970 * 1000),
        county: nil, subject: subject, detail: detail)
}
