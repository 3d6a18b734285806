/// A report as people see it: the merged value of every field, tags, notes, media, lifecycle
/// and which fields are in conflict. Encoded with sorted keys, two replicas holding the same
/// changes produce byte-identical reports.
public struct Report: Hashable, Sendable, Codable {
    /// The report.
    public var id: ReportID
    /// Its county.
    public var county: String
    /// `active` or `withdrawn`.
    public var lifecycle: String
    /// The change that created it.
    public var created: Dot
    /// When it was created.
    public var createdAt: HybridTimestamp
    /// The latest timestamp of any change applied.
    public var updatedAt: HybridTimestamp
    /// Every applied change, as a version vector over the devices that wrote the report.
    public var version: VersionVector
    /// How many changes were applied.
    public var changeCount: Int
    /// The displayed value of each field, by field name.
    public var fields: [String: FieldValue]
    /// Fields with an open conflict, sorted.
    public var conflicted: [String]
    /// Live tags, sorted.
    public var tags: [String]
    /// Notes in timestamp order.
    public var notes: [Note]
    /// Media, sorted by content hash.
    public var media: [MediaAttachment]

    /// Builds the view of a report from its head and its appended notes and media.
    public init(head: ReportHead, notes: [Note], media: [MediaAttachment]) {
        id = head.id
        county = head.county
        lifecycle = head.isWithdrawn ? "withdrawn" : "active"
        created = head.created
        createdAt = head.createdAt
        updatedAt = head.updatedAt
        version = head.version
        changeCount = head.changeCount
        fields = Dictionary(uniqueKeysWithValues: head.values.map { ($0.key.rawValue, $0.value) })
        conflicted = head.openConflicts.map(\.field.rawValue)
        tags = head.tagList
        self.notes = notes.sorted(by: Note.listOrder)
        self.media = Report.canonicalMedia(media)
    }

    /// One attachment per content hash (the earliest dot), sorted by hash.
    public static func canonicalMedia(_ media: [MediaAttachment]) -> [MediaAttachment] {
        var byHash: [String: MediaAttachment] = [:]
        for m in media where byHash[m.media.sha256].map({ m.dot < $0.dot }) ?? true {
            byHash[m.media.sha256] = m
        }
        return byHash.values.sorted { $0.media.sha256 < $1.media.sha256 }
    }

    /// The displayed value of a field.
    public subscript(field: FieldName) -> FieldValue? { fields[field.rawValue] }
}
