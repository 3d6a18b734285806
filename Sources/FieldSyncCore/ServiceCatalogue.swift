/// A county's catalogue of services, in Open311 GeoReport v2's own words: what citizens and
/// officers may report (`service_code`), the attributes each service asks for, and how fast the
/// county means to answer. Admins publish it (`fieldsyncd admin catalogue import`); every version
/// is kept; the server signs it and devices of the county receive it with their sync.
public struct ServiceCatalogue: Codable, Sendable, Hashable {
    /// The county it serves.
    public var county: String
    /// Its version, from 1, given by the server when it is published (absent in a file to import).
    public var version: Int?
    /// When it was published (milliseconds since 1970), given by the server.
    public var publishedAtMillis: UInt64?
    /// The services, in the order the county lists them.
    public var services: [Service]

    /// A catalogue.
    public init(county: String, version: Int? = nil, publishedAtMillis: UInt64? = nil, services: [Service]) {
        self.county = county
        self.version = version
        self.publishedAtMillis = publishedAtMillis
        self.services = services
    }

    /// The service with this code.
    public func service(_ code: String) -> Service? { services.first { $0.serviceCode == code } }

    enum CodingKeys: String, CodingKey {
        case county, version, services
        case publishedAtMillis = "published_at_ms"
    }

    /// One service of the catalogue (Open311 `services`).
    public struct Service: Codable, Sendable, Hashable {
        /// Its code (`service_code`), as reports carry it.
        public var serviceCode: String
        /// Its name, as citizens read it.
        public var serviceName: String
        /// What it covers.
        public var description: String?
        /// The group it is listed under.
        public var group: String?
        /// Words that find it.
        public var keywords: [String]?
        /// The attributes a report of this service carries (`attributes.<code>` fields).
        public var attributes: [Attribute]?
        /// The county's service-level targets.
        public var targets: Targets?

        /// A service.
        public init(
            serviceCode: String, serviceName: String, description: String? = nil, group: String? = nil,
            keywords: [String]? = nil, attributes: [Attribute]? = nil, targets: Targets? = nil
        ) {
            self.serviceCode = serviceCode
            self.serviceName = serviceName
            self.description = description
            self.group = group
            self.keywords = keywords
            self.attributes = attributes
            self.targets = targets
        }

        /// Its attributes in their `order`.
        public var orderedAttributes: [Attribute] {
            (attributes ?? []).enumerated().sorted {
                ($0.element.order ?? $0.offset, $0.offset) < ($1.element.order ?? $1.offset, $1.offset)
            }
            .map(\.element)
        }

        enum CodingKeys: String, CodingKey {
            case description, group, keywords, attributes, targets
            case serviceCode = "service_code", serviceName = "service_name"
        }
    }

    /// An attribute of a service (Open311 service definition).
    public struct Attribute: Codable, Sendable, Hashable {
        /// Its code: the report field `attributes.<code>`.
        public var code: String
        /// Its type.
        public var datatype: Datatype
        /// Whether a report must give it.
        public var required: Bool?
        /// Its place in the form.
        public var order: Int?
        /// The question asked.
        public var description: String?
        /// A hint on the expected value.
        public var datatypeDescription: String?
        /// The choices of a list.
        public var values: [Value]?

        /// An attribute.
        public init(
            code: String, datatype: Datatype, required: Bool? = nil, order: Int? = nil, description: String? = nil,
            datatypeDescription: String? = nil, values: [Value]? = nil
        ) {
            self.code = code
            self.datatype = datatype
            self.required = required
            self.order = order
            self.description = description
            self.datatypeDescription = datatypeDescription
            self.values = values
        }

        enum CodingKeys: String, CodingKey {
            case code, datatype, required, order, description, values
            case datatypeDescription = "datatype_description"
        }
    }

    /// Open311's attribute types.
    public enum Datatype: String, Codable, Sendable, Hashable, CaseIterable {
        case string, number, datetime, text, singlevaluelist, multivaluelist

        /// Whether the value is chosen from `values`.
        public var isList: Bool { self == .singlevaluelist || self == .multivaluelist }
    }

    /// One choice of a list attribute.
    public struct Value: Codable, Sendable, Hashable {
        /// What is stored.
        public var key: String
        /// What people read.
        public var name: String

        /// A choice.
        public init(key: String, name: String) {
            self.key = key
            self.name = name
        }
    }

    /// How fast the county means to answer a service's requests.
    public struct Targets: Codable, Sendable, Hashable {
        /// Acknowledge within (hours).
        public var acknowledgeHours: Int?
        /// Resolve within (hours).
        public var resolveHours: Int?

        /// Targets.
        public init(acknowledgeHours: Int? = nil, resolveHours: Int? = nil) {
            self.acknowledgeHours = acknowledgeHours
            self.resolveHours = resolveHours
        }

        enum CodingKeys: String, CodingKey {
            case acknowledgeHours = "acknowledge_hours", resolveHours = "resolve_hours"
        }
    }
}
