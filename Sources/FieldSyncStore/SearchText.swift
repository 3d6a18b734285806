package import FieldSyncCore

/// The lower-cased text an operator can search in a report: description, address, category,
/// status notes, ward, tags. Never personal data.
package enum SearchText {
    /// The search text of a head with its current values.
    package static func of(_ head: ReportHead, _ values: [FieldName: FieldValue]) -> String {
        let fields: [FieldName] = [.description, .address, .serviceCode, .serviceName, .statusNotes, .ward]
        return (fields.compactMap { values[$0]?.stringValue } + head.tagList).joined(separator: " ").lowercased()
    }

    /// A head's live tags as the `tags` column keeps them: space-delimited, with a space at each
    /// end, so that `instr(tags, ' ' || tag || ' ')` finds a whole tag.
    package static func tags(_ head: ReportHead) -> String {
        head.tagList.isEmpty ? "" : " " + head.tagList.joined(separator: " ") + " "
    }
}
