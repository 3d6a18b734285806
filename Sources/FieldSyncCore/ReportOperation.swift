/// One operation of a change. A change carries one or more, all on the same report.
public enum ReportOperation: Hashable, Sendable, Codable {
    /// Creates the report in a county. Must be the first operation of the report's first change.
    case create(county: String)
    /// Sets a field (a multi-value register: concurrent sets are all kept, and conflict).
    case set(field: FieldName, value: FieldValue)
    /// Adds a tag (observed-remove set: an add concurrent with a remove wins).
    case addTag(String)
    /// Removes a tag: removes the adds its author had seen.
    case removeTag(String)
    /// Appends a note or comment to the report's append-only note list.
    case appendNote(text: String)
    /// Attaches a media file by reference (the bytes travel separately).
    case attachMedia(MediaRef)
    /// Withdraws the report (a tombstone). Concurrent edits make this a conflict.
    case withdraw(reason: String)
    /// Restores a withdrawn report.
    case restore

    /// The operation with its value in normal form (`FieldValue.normalized`).
    public var normalized: ReportOperation {
        if case .set(let field, let value) = self { return .set(field: field, value: value.normalized) }
        return self
    }

    /// Whether the operation writes the report's lifecycle (create, withdraw, restore).
    public var isLifecycle: Bool {
        switch self {
        case .create, .withdraw, .restore: return true
        default: return false
        }
    }

    private enum CodingKeys: String, CodingKey { case op, county, field, value, tag, text, media, reason }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let op = try c.decode(String.self, forKey: .op)
        switch op {
        case "create": self = .create(county: try c.decode(String.self, forKey: .county))
        case "set":
            self = .set(
                field: try c.decode(FieldName.self, forKey: .field),
                value: try c.decode(FieldValue.self, forKey: .value))
        case "add_tag": self = .addTag(try c.decode(String.self, forKey: .tag))
        case "remove_tag": self = .removeTag(try c.decode(String.self, forKey: .tag))
        case "note": self = .appendNote(text: try c.decode(String.self, forKey: .text))
        case "media": self = .attachMedia(try c.decode(MediaRef.self, forKey: .media))
        case "withdraw": self = .withdraw(reason: try c.decodeIfPresent(String.self, forKey: .reason) ?? "")
        case "restore": self = .restore
        default:
            throw DecodingError.refused(
                .invalidOperation,
                "unknown operation '\(op.prefix(40))': use create, set, add_tag, remove_tag, note, media, withdraw or restore",
                at: c.codingPath + [CodingKeys.op])
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .create(let county): try c.encode("create", forKey: .op); try c.encode(county, forKey: .county)
        case .set(let f, let v):
            try c.encode("set", forKey: .op); try c.encode(f, forKey: .field); try c.encode(v, forKey: .value)
        case .addTag(let t): try c.encode("add_tag", forKey: .op); try c.encode(t, forKey: .tag)
        case .removeTag(let t): try c.encode("remove_tag", forKey: .op); try c.encode(t, forKey: .tag)
        case .appendNote(let text): try c.encode("note", forKey: .op); try c.encode(text, forKey: .text)
        case .attachMedia(let m): try c.encode("media", forKey: .op); try c.encode(m, forKey: .media)
        case .withdraw(let reason): try c.encode("withdraw", forKey: .op); try c.encode(reason, forKey: .reason)
        case .restore: try c.encode("restore", forKey: .op)
        }
    }
}

/// A reference to a photo, audio clip or document attached to a report. The content travels
/// separately (and may arrive much later on a bad link); the reference identifies it by hash.
public struct MediaRef: Hashable, Sendable, Codable {
    /// Lower-case hex SHA-256 of the content (64 characters).
    public var sha256: String
    /// The MIME type, e.g. `image/jpeg`.
    public var contentType: String
    /// The size of the content in bytes.
    public var size: UInt64

    /// Whether `text` is a SHA-256 as FieldSync writes it: 64 lower-case hex characters.
    public static func isValidSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Creates a media reference.
    public init(sha256: String, contentType: String, size: UInt64) {
        self.sha256 = sha256
        self.contentType = contentType
        self.size = size
    }

    enum CodingKeys: String, CodingKey {
        case sha256
        case contentType = "content_type"
        case size
    }
}
