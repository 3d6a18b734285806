/// The name of a settable report field.
///
/// The standard fields follow Open311 GeoReport v2 (`service_code`, `description`, `lat`,
/// `long`, `address`, `status`, `status_notes`, …), extended with what county field work needs
/// (`ward`, `priority`, `assignee`, reporter contact). County-specific fields are written
/// `attributes.<key>`. The county of a report is fixed when it is created and is not a field.
public struct FieldName: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Creates a field name, or returns `nil` if it is neither standard nor `attributes.<key>`.
    public init?(rawValue: String) {
        guard FieldName.standard.contains(rawValue) || FieldName.isAttribute(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(unchecked: String) { rawValue = unchecked }

    /// Creates a field name, throwing `unknown_field` with the list of valid names.
    public init(validating rawValue: String) throws(FieldSyncError) {
        guard let name = FieldName(rawValue: rawValue) else {
            throw FieldSyncError(
                .unknownField,
                "field '\(rawValue.prefix(80))' is not a report field: use one of \(FieldName.standard.sorted().joined(separator: ", ")), or 'attributes.<key>' for a county-specific field"
            )
        }
        self = name
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let name = FieldName(rawValue: raw) else {
            throw DecodingError.refused(.unknownField, "unknown field '\(raw.prefix(80))'", at: decoder.codingPath)
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (lhs: FieldName, rhs: FieldName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    /// Whether the field holds personal data about a citizen (never logged, redacted in exports).
    public var isPersonal: Bool { FieldName.personal.contains(rawValue) }

    /// The pseudo-field under which a withdrawal conflicts with concurrent edits.
    public static let lifecycle = FieldName(unchecked: "lifecycle")

    public static let serviceCode = FieldName(unchecked: "service_code")
    public static let serviceName = FieldName(unchecked: "service_name")
    public static let description = FieldName(unchecked: "description")
    public static let lat = FieldName(unchecked: "lat")
    public static let long = FieldName(unchecked: "long")
    public static let address = FieldName(unchecked: "address")
    public static let status = FieldName(unchecked: "status")
    public static let statusNotes = FieldName(unchecked: "status_notes")
    public static let priority = FieldName(unchecked: "priority")
    public static let assignee = FieldName(unchecked: "assignee")
    public static let ward = FieldName(unchecked: "ward")
    public static let reporterName = FieldName(unchecked: "reporter_name")
    public static let reporterPhone = FieldName(unchecked: "reporter_phone")
    public static let reporterEmail = FieldName(unchecked: "reporter_email")

    /// The standard field names.
    public static let standard: Set<String> = [
        "service_code", "service_name", "description", "lat", "long", "address", "address_id",
        "status", "status_notes", "agency_responsible", "service_notice", "requested_datetime",
        "expected_datetime", "ward", "priority", "assignee",
        "reporter_name", "reporter_phone", "reporter_email",
    ]

    /// The standard fields that hold personal data.
    public static let personal: Set<String> = ["reporter_name", "reporter_phone", "reporter_email"]

    static func isAttribute(_ s: String) -> Bool {
        guard s.hasPrefix("attributes.") else { return false }
        let key = s.dropFirst("attributes.".count)
        return !key.isEmpty && key.utf8.count <= 64 && Identifier.isValid(String(key))
    }
}
