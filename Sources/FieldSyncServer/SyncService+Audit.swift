public import FieldSyncCore
public import FieldSyncStore
import Foundation

/// The audit log: every administrative and operator action, who, when, from where, what.
extension SyncService {
    /// Records an action by `caller` from `address` (nil: the local shell).
    func audit(
        _ action: AuditAction, by caller: Principal, from address: String?, county: String?,
        subject: String, detail: String
    ) async throws(FieldSyncError) {
        try await Self.appendAudit(
            to: store, action, by: caller, from: address, atMillis: now(), county: county, subject: subject,
            detail: detail)
    }

    /// Appends one entry to `store`'s audit log: how every caller is named in it (the service,
    /// and fieldsyncd's commands run without a service, as `.currentShell`).
    public static func appendAudit(
        to store: any ServerStore, _ action: AuditAction, by caller: Principal, from address: String?,
        atMillis: UInt64, county: String?, subject: String, detail: String
    ) async throws(FieldSyncError) {
        let (actor, role) = caller.auditName
        try await store.appendAudit(
            AuditEntry(
                atMillis: atMillis, actor: actor, role: role, address: address ?? "local",
                action: action, county: county, subject: subject, detail: detail))
    }

    /// The audit log, newest first: admins read all of it; an operator reads what concerns
    /// their counties (not operator or key management). Devices may not read it.
    public func auditLog(_ filter: AuditFilter, by caller: Principal) async throws(FieldSyncError) -> [AuditEntry] {
        let op = try requireOperator(caller)
        var filter = filter
        try Self.checkPage(limit: filter.limit, offset: filter.offset)
        if !caller.isAdmin && !op.counties.contains("*") {
            if let asked = filter.counties {
                for county in asked { try requireCounty(op, county) }
            } else {
                filter.counties = op.counties
            }
            filter.includeGlobal = false
        }
        return try await store.audit(filter)
    }
}
