public import FieldSyncCore
import FieldSyncSigning
import FieldSyncStore
import Prometheus

/// Field work from the desk: an operator sets a report's status, assignee or priority, or adds a
/// note. Each edit is one change authored and signed by the server, as a resolution is: it syncs
/// to every device of the county, and the audit log names the operator.
extension SyncService {
    /// What an operator changes in one edit (nil: unchanged).
    public struct ReportEdit: Sendable, Hashable {
        /// A new status (1–64 characters).
        public var status: String?
        /// A new assignee (1–64 characters; "" clears it).
        public var assignee: String?
        /// A new priority, 1 (urgent) – 4 (low).
        public var priority: Int?
        /// A note to append (1–4,000 characters).
        public var note: String?

        /// An edit.
        public init(status: String? = nil, assignee: String? = nil, priority: Int? = nil, note: String? = nil) {
            self.status = status
            self.assignee = assignee
            self.priority = priority
            self.note = note
        }

        /// The operations, after checking each value.
        func operations() throws(FieldSyncError) -> [ReportOperation] {
            var ops: [ReportOperation] = []
            if let status {
                try Self.check(status, "status", max: 64, empty: false)
                ops.append(.set(field: .status, value: .string(status)))
            }
            if let assignee {
                try Self.check(assignee, "assignee", max: 64, empty: true)
                ops.append(.set(field: .assignee, value: assignee.isEmpty ? .null : .string(assignee)))
            }
            if let priority {
                guard (1...4).contains(priority) else {
                    throw FieldSyncError(.invalidRequest, "priority is 1 (urgent) to 4 (low)")
                }
                ops.append(.set(field: .priority, value: .int(Int64(priority))))
            }
            if let note {
                try Self.check(note, "a note", max: 4_000, empty: false, lines: true)
                ops.append(.appendNote(text: note))
            }
            guard !ops.isEmpty else { throw FieldSyncError(.invalidRequest, "nothing to change") }
            return ops
        }

        static func check(
            _ s: String, _ what: String, max: Int, empty: Bool, lines: Bool = false
        ) throws(FieldSyncError) {
            guard empty || !s.isEmpty, s.count <= max else {
                throw FieldSyncError(.invalidRequest, "\(what) must be \(empty ? 0 : 1)–\(max) characters")
            }
            let allowed: Set<Unicode.Scalar> = lines ? ["\n", "\r", "\t"] : []
            guard
                !s.unicodeScalars.contains(where: {
                    ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) && !allowed.contains($0)
                })
            else { throw FieldSyncError(.invalidRequest, "\(what) must not contain control characters") }
        }
    }

    /// Applies an edit to a report of the operator's counties; returns the server's change.
    @discardableResult
    public func editReport(
        _ id: String, _ edit: ReportEdit, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> Change {
        let op = try requireOperator(caller)
        let ops = try edit.operations()
        let rid = try ReportID(validating: id)
        guard let report = try await store.report(rid), op.covers(report.county) else {
            throw FieldSyncError(.notFound, "no report \(rid) in your counties")
        }
        let key = try signer()
        let change = try await store.write(
            ops, to: rid, county: report.county, wallMillis: now(), signer: { key.sign($0) })
        metrics.changesIngested.increment()
        try await audit(
            .editReport, by: caller, from: address, county: report.county, subject: rid.rawValue,
            detail: "change \(change.dot): " + ops.map(Self.summary).joined(separator: ", "))
        return change
    }

    /// An operation in the audit log's words (a note's text is not repeated there).
    static func summary(_ op: ReportOperation) -> String {
        switch op {
        case .set(let field, let value):
            "\(field.rawValue) set"
                + (field == .priority || field == .status ? " to \(value.stringValue ?? "\(value)")" : "")
        case .appendNote: "note added"
        default: "\(op)"
        }
    }

    /// Records an export of reports in the audit log (its format, size, and whether with
    /// personal fields).
    public func recordExport(
        format: String, count: Int, personal: Bool, by caller: Principal, from address: String?
    ) async throws(FieldSyncError) {
        try await audit(
            .export, by: caller, from: address, county: nil, subject: "reports.\(format)",
            detail: "\(count) reports" + (personal ? ", with personal fields" : ""))
    }
}
