import FieldSyncCore

/// A brute-force restatement of the merge semantics, straight from the definitions, computed
/// from the whole set of changes at once. Slow (quadratic) and obviously right; the incremental
/// merge must agree with it.
struct Oracle {
    let changes: [Change]
    let byReport: [ReportID: [Change]]

    init(_ changes: [Change]) {
        var seen = Set<Dot>()
        self.changes = changes.filter { seen.insert($0.dot).inserted }
        byReport = Dictionary(grouping: self.changes, by: \.report)
    }

    /// `a` happened before `b` (b's author had seen a).
    static func before(_ a: Change, _ b: Change) -> Bool { b.context.contains(a.dot) }
    static func concurrent(_ a: Change, _ b: Change) -> Bool { a.dot != b.dot && !before(a, b) && !before(b, a) }

    static func frontier(_ writes: [Change]) -> [Change] {
        writes.filter { w in !writes.contains { other in before(w, other) } }.sorted { $0.dot < $1.dot }
    }

    struct Record: Hashable, CustomStringConvertible {
        var report: ReportID
        var field: FieldName
        var candidates: [Dot]
        var values: [FieldValue]
        var resolver: Dot?
        var description: String {
            "\(report)/\(field) \(candidates) \(values) by \(resolver.map(\.description) ?? "-")"
        }
    }

    /// The open conflict (candidates) on a regular field within `set`.
    static func fieldConflict(_ set: [Change], _ field: FieldName) -> [Change]? {
        let f = frontier(set.filter { $0.value(of: field) != nil })
        return Set(f.map { $0.value(of: field)! }).count > 1 ? f : nil
    }

    /// The lifecycle conflict (candidates with values) within `set`.
    static func lifecycleConflict(_ set: [Change]) -> [(Dot, FieldValue)]? {
        let f = frontier(set.filter { $0.lifecycleValue != nil })
        let standing = f.filter { $0.lifecycleValue == Lifecycle.withdrawn }
        guard !standing.isEmpty else { return nil }
        var candidates: [Dot: FieldValue] = [:]
        for c in f { candidates[c.dot] = c.lifecycleValue! }
        for w in standing {
            let concurrentChanges = set.filter { Oracle.concurrent($0, w) }
            for (_, mine) in Dictionary(grouping: concurrentChanges, by: \.dot.device) {
                let last = mine.max { $0.dot.seq < $1.dot.seq }!
                if candidates[last.dot] == nil { candidates[last.dot] = last.lifecycleValue ?? Lifecycle.active }
            }
        }
        guard candidates.values.contains(where: { $0 != Lifecycle.withdrawn }) else { return nil }
        return candidates.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func fieldsWritten(_ set: [Change]) -> Set<FieldName> {
        var fields = Set<FieldName>()
        for c in set { for case .set(let f, _) in c.ops { fields.insert(f) } }
        return fields
    }

    var openConflicts: Set<Record> {
        var result = Set<Record>()
        for (report, set) in byReport {
            for field in fieldsWritten(set) {
                if let f = Oracle.fieldConflict(set, field) {
                    result.insert(
                        Record(
                            report: report, field: field, candidates: f.map(\.dot),
                            values: f.map { $0.value(of: field)! }))
                }
            }
            if let l = Oracle.lifecycleConflict(set) {
                result.insert(Record(report: report, field: .lifecycle, candidates: l.map(\.0), values: l.map(\.1)))
            }
        }
        return result
    }

    /// A change resolves the conflicts that were open in its author's view (its causal past)
    /// on the fields it writes.
    var resolvedConflicts: Set<Record> {
        var result = Set<Record>()
        for (report, set) in byReport {
            for r in set {
                let past = set.filter { r.context.contains($0.dot) }
                for case .set(let field, let value) in r.ops {
                    if let f = Oracle.fieldConflict(past, field) {
                        result.insert(
                            Record(
                                report: report, field: field, candidates: f.map(\.dot),
                                values: f.map { $0.value(of: field)! }, resolver: r.dot))
                        _ = value
                    }
                }
                if r.lifecycleValue != nil, !r.isCreate, let l = Oracle.lifecycleConflict(past) {
                    result.insert(
                        Record(
                            report: report, field: .lifecycle, candidates: l.map(\.0), values: l.map(\.1),
                            resolver: r.dot))
                }
            }
        }
        return result
    }

    /// The displayed value of each field of a report.
    func values(_ report: ReportID) -> [String: FieldValue] {
        let set = byReport[report] ?? []
        var result: [String: FieldValue] = [:]
        for field in fieldsWritten(set) {
            let f = Oracle.frontier(set.filter { $0.value(of: field) != nil })
            let winner = f.max { $0.hlc == $1.hlc ? $0.dot < $1.dot : $0.hlc < $1.hlc }!
            result[field.rawValue] = winner.value(of: field)
        }
        return result
    }

    /// The live tags of a report (add wins over a concurrent remove).
    func tags(_ report: ReportID) -> [String] {
        let set = byReport[report] ?? []
        var live = Set<String>()
        for add in set {
            for case .addTag(let t) in add.ops {
                let removedOrReplaced = set.contains { other in
                    other.dot != add.dot && other.context.contains(add.dot)
                        && other.ops.contains { $0 == .removeTag(t) || $0 == .addTag(t) }
                }
                if !removedOrReplaced { live.insert(t) }
            }
        }
        return live.sorted()
    }
}

extension Oracle.Record {
    init(_ c: Conflict) {
        self.init(
            report: c.report, field: c.field, candidates: c.candidates.map(\.dot), values: c.candidates.map(\.value),
            resolver: c.resolution?.dot)
    }
}
