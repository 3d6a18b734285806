public import Foundation

/// The rules of service catalogues, written once and used by the daemon (publishing, Open311
/// requests, flags for operators) and by devices (filing a report offline): what a catalogue may
/// hold, how an attribute's text becomes a report field, what a report lacks against the
/// catalogue, and the bytes the server signs.
public enum CatalogueRules {
    /// The most services a catalogue holds.
    public static let maxServices = 500
    /// The most attributes a service asks for.
    public static let maxAttributes = 50
    /// The most choices a list attribute offers.
    public static let maxValues = 200
    /// The most keywords a service has.
    public static let maxKeywords = 50

    /// Checks a catalogue before it is published: codes are identifiers and unique, texts are
    /// bounded and free of control characters, lists have choices, targets are 1 to 87,600 hours.
    public static func validate(_ c: ServiceCatalogue) throws(FieldSyncError) {
        guard Identifier.isValid(c.county) else {
            throw invalid("county must be an identifier (letters, digits, - _ .)")
        }
        guard (1...maxServices).contains(c.services.count) else {
            throw invalid("a catalogue lists 1 to \(maxServices) services; this one has \(c.services.count)")
        }
        var codes = Set<String>()
        for s in c.services {
            guard Identifier.isValid(s.serviceCode) else {
                throw invalid("service_code '\(s.serviceCode.prefix(64))' must be 1 to 64 letters, digits, - _ or .")
            }
            guard codes.insert(s.serviceCode).inserted else {
                throw invalid("service_code '\(s.serviceCode)' is listed twice")
            }
            try validate(s)
        }
    }

    static func validate(_ s: ServiceCatalogue.Service) throws(FieldSyncError) {
        let at = "service '\(s.serviceCode)'"
        try text(s.serviceName, "\(at): service_name", max: 200, empty: false)
        try text(s.description, "\(at): description", max: 2_000)
        try text(s.group, "\(at): group", max: 200)
        guard (s.keywords?.count ?? 0) <= maxKeywords else { throw invalid("\(at): at most \(maxKeywords) keywords") }
        for k in s.keywords ?? [] { try text(k, "\(at): a keyword", max: 64, empty: false) }
        if let t = s.targets {
            for (name, hours) in [("acknowledge_hours", t.acknowledgeHours), ("resolve_hours", t.resolveHours)] {
                if let hours, !(1...87_600).contains(hours) { throw invalid("\(at): \(name) must be 1 to 87,600") }
            }
        }
        let attributes = s.attributes ?? []
        guard attributes.count <= maxAttributes else { throw invalid("\(at): at most \(maxAttributes) attributes") }
        var codes = Set<String>()
        for a in attributes {
            guard Identifier.isValid(a.code) else {
                throw invalid("\(at): attribute code '\(a.code.prefix(64))' must be an identifier")
            }
            guard codes.insert(a.code).inserted else { throw invalid("\(at): attribute '\(a.code)' is listed twice") }
            try validate(a, at: "\(at), attribute '\(a.code)'")
        }
    }

    static func validate(_ a: ServiceCatalogue.Attribute, at: String) throws(FieldSyncError) {
        try text(a.description, "\(at): description", max: 2_000)
        try text(a.datatypeDescription, "\(at): datatype_description", max: 500)
        if let order = a.order, !(0...10_000).contains(order) { throw invalid("\(at): order must be 0 to 10,000") }
        let values = a.values ?? []
        guard a.datatype.isList == !values.isEmpty else {
            throw invalid(
                a.datatype.isList
                    ? "\(at): a \(a.datatype.rawValue) needs values" : "\(at): only list attributes have values")
        }
        guard values.count <= maxValues else { throw invalid("\(at): at most \(maxValues) values") }
        var keys = Set<String>()
        for v in values {
            try text(v.key, "\(at): a value's key", max: 64, empty: false)
            try text(v.name, "\(at): a value's name", max: 200, empty: false)
            guard keys.insert(v.key).inserted else { throw invalid("\(at): value '\(v.key)' is listed twice") }
        }
    }

    static func text(_ s: String?, _ what: String, max: Int, empty: Bool = true) throws(FieldSyncError) {
        guard let s else { return }
        guard empty || !s.isEmpty else { throw invalid("\(what) must not be empty") }
        guard s.unicodeScalars.count <= max else { throw invalid("\(what) is longer than \(max) characters") }
        guard !s.unicodeScalars.contains(where: { $0.value < 32 && $0 != "\n" || $0.value == 127 }) else {
            throw invalid("\(what) holds control characters")
        }
    }

    static func invalid(_ message: String) -> FieldSyncError { FieldSyncError(.invalidCatalogue, message) }
}

extension CatalogueRules {
    /// Turns the text given for a service's attributes (`code` → one value, several for a
    /// `multivaluelist`) into report fields, checked against the service: every code known,
    /// every required one given, numbers numeric, datetimes ISO 8601, list values among the keys.
    public static func fields(
        for service: ServiceCatalogue.Service, given: [String: [String]]
    ) throws(FieldSyncError) -> [FieldName: FieldValue] {
        let attributes = service.attributes ?? []
        for code in given.keys.sorted() where !attributes.contains(where: { $0.code == code }) {
            throw FieldSyncError(
                .invalidRequest,
                "service '\(service.serviceCode)' has no attribute '\(code.prefix(64))'; it has \(attributes.map(\.code).joined(separator: ", "))"
            )
        }
        var fields: [FieldName: FieldValue] = [:]
        for a in service.orderedAttributes {
            let values = (given[a.code] ?? []).filter { !$0.isEmpty }
            guard !values.isEmpty else {
                if a.required == true {
                    throw FieldSyncError(
                        .invalidRequest,
                        "service '\(service.serviceCode)' requires attribute '\(a.code)'\(a.description.map { " (\($0))" } ?? "")"
                    )
                }
                continue
            }
            guard let name = FieldName(rawValue: "attributes.\(a.code)") else { continue }
            fields[name] = try value(of: a, values)
        }
        return fields
    }

    static func value(of a: ServiceCatalogue.Attribute, _ values: [String]) throws(FieldSyncError) -> FieldValue {
        let keys = Set((a.values ?? []).map(\.key))
        func bad(_ why: String) -> FieldSyncError { FieldSyncError(.invalidRequest, "attribute '\(a.code)': \(why)") }
        guard a.datatype == .multivaluelist || values.count == 1 else { throw bad("takes one value") }
        guard values.allSatisfy({ $0.unicodeScalars.count <= 4_000 }) else {
            throw bad("a value is over 4,000 characters")
        }
        switch a.datatype {
        case .string, .text: return .string(values[0])
        case .number:
            if let i = Int64(values[0]) { return .int(i) }
            guard let d = Double(values[0]), d.isFinite, abs(d) < 1e15 else {
                throw bad("'\(values[0].prefix(40))' is not a number")
            }
            return .double(d)
        case .datetime:
            guard W3CDate.parse(values[0]) != nil else {
                throw bad("'\(values[0].prefix(40))' is not a date and time (ISO 8601)")
            }
            return .string(values[0])
        case .singlevaluelist:
            guard keys.contains(values[0]) else {
                throw bad("'\(values[0].prefix(40))' is not one of \(keys.sorted().joined(separator: ", "))")
            }
            return .string(values[0])
        case .multivaluelist:
            guard values.count <= maxValues, values.allSatisfy(keys.contains) else {
                throw bad("each value must be one of \(keys.sorted().joined(separator: ", "))")
            }
            return .array(values.map { .string($0) })
        }
    }

    /// What a report's fields lack against the catalogue: shown to operators, never a reason to
    /// refuse a change (a device may hold an older catalogue). Empty when all is well.
    public static func issues(of fields: [String: FieldValue], against c: ServiceCatalogue) -> [String] {
        guard case .string(let code)? = fields[FieldName.serviceCode.rawValue] else {
            return ["no service_code"]
        }
        guard let service = c.service(code) else {
            return ["service_code '\(code.prefix(64))' is not in catalogue version \(c.version ?? 0)"]
        }
        var issues: [String] = []
        for a in service.orderedAttributes {
            let field = fields["attributes.\(a.code)"]
            guard let field, field != .null else {
                if a.required == true { issues.append("required attribute '\(a.code)' is missing") }
                continue
            }
            if !fits(field, a) { issues.append("attribute '\(a.code)' does not fit its \(a.datatype.rawValue)") }
        }
        return issues
    }

    static func fits(_ v: FieldValue, _ a: ServiceCatalogue.Attribute) -> Bool {
        let keys = Set((a.values ?? []).map(\.key))
        switch (a.datatype, v) {
        case (.number, .int), (.number, .double), (.string, .string), (.text, .string): return true
        case (.datetime, .string(let s)): return W3CDate.parse(s) != nil
        case (.singlevaluelist, .string(let s)): return keys.contains(s)
        case (.multivaluelist, .array(let items)):
            return items.allSatisfy { if case .string(let s) = $0 { keys.contains(s) } else { false } }
        default: return false
        }
    }

    /// Domain separation for the server's signature on a catalogue.
    public static let signatureDomain = Data("fieldsync/catalogue/v1\0".utf8)

    /// The bytes the server signs: the domain, then the catalogue as JSON with sorted keys, no
    /// spaces and unescaped slashes (protocol/README.md, "The service catalogue").
    public static func signingInput(_ c: ServiceCatalogue) -> Data {
        signatureDomain + canonicalJSON(c)
    }

    /// The catalogue as canonical JSON.
    public static func canonicalJSON(_ c: ServiceCatalogue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(c)) ?? Data()
    }
}
