import FieldSyncCore

/// What the command line shows of citizens' personal data (reporter name, phone, e-mail):
/// nothing, unless the operator asks with `--personal` — in tables and in `--json` alike.
enum PersonalData {
    /// What stands in for a personal value.
    static let placeholder: FieldValue = "(personal — use --personal)"

    static func isPersonal(_ field: String) -> Bool { FieldName(rawValue: field)?.isPersonal ?? false }

    /// A report with its personal fields replaced, unless `shown`.
    static func redact(_ report: Report, shown: Bool) -> Report {
        guard !shown else { return report }
        var r = report
        for key in r.fields.keys where isPersonal(key) { r.fields[key] = placeholder }
        return r
    }

    /// A conflict on a personal field with its values replaced, unless `shown`.
    static func redact(_ conflict: Conflict, shown: Bool) -> Conflict {
        guard !shown, conflict.field.isPersonal else { return conflict }
        var c = conflict
        for i in c.candidates.indices { c.candidates[i].value = placeholder }
        c.resolution?.value = placeholder
        return c
    }

    /// A change with the values it sets on personal fields replaced, unless `shown`.
    static func redact(_ change: Change, shown: Bool) -> Change {
        guard !shown else { return change }
        var c = change
        c.ops = c.ops.map { op in
            if case .set(let field, _) = op, field.isPersonal { return .set(field: field, value: placeholder) }
            return op
        }
        return c
    }
}
