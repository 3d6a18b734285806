public import FieldSyncCore

/// The rules for a request a citizen files through an Open311 client, I/O-free: the form is
/// checked against the county's service definition and turned into the operations of the
/// report the server creates (signed by the server, synced to the county's officers).
public enum Open311Submission {
    /// The longest description GeoReport allows.
    public static let maxDescription = 4_000

    /// The operations creating the report filed by `form` in `county`, or the refusal (the
    /// message says what to fix; `notFound` for an unknown service).
    public static func operations(
        _ form: Open311Form, county: String, catalogue: ServiceCatalogue
    ) throws(FieldSyncError) -> [ReportOperation] {
        guard let code = form["service_code"], !code.isEmpty else { throw bad("service_code is required") }
        guard let service = catalogue.service(code) else {
            throw FieldSyncError(.notFound, "service_code '\(code.prefix(64))' is not a service of this jurisdiction")
        }
        var ops: [ReportOperation] = [
            .create(county: county), .set(field: .serviceCode, value: .string(code)),
            .set(field: .serviceName, value: .string(service.serviceName)), .set(field: .status, value: "open"),
        ]
        ops += try location(form)
        if let d = form["description"], !d.isEmpty {
            ops.append(.set(field: .description, value: .string(try text(d, "description", max: maxDescription))))
        }
        for (name, value) in try CatalogueRules.fields(for: service, given: form.attributes).sorted(by: {
            $0.key < $1.key
        }) {
            if case .string(let s) = value { _ = try text(s, "attribute '\(name)'", max: maxDescription) }
            ops.append(.set(field: name, value: value))
        }
        ops += try contact(form)
        if let url = form["media_url"], !url.isEmpty {
            guard url.utf8.count <= 2_000, url.hasPrefix("https://") || url.hasPrefix("http://"),
                !url.unicodeScalars.contains(where: { $0.value <= 32 || $0 == "\"" || $0 == "<" || $0 == ">" })
            else { throw bad("media_url must be an http(s) URL of at most 2,000 characters") }
            ops.append(.set(field: FieldName(rawValue: "attributes.media_url")!, value: .string(url)))
        }
        return ops
    }

    static func location(_ form: Open311Form) throws(FieldSyncError) -> [ReportOperation] {
        var ops: [ReportOperation] = []
        switch (form["lat"], form["long"]) {
        case (let lat?, let long?):
            guard let la = Double(lat), let lo = Double(long), (-90...90).contains(la), (-180...180).contains(lo) else {
                throw bad("lat must be a number from -90 to 90 and long from -180 to 180")
            }
            ops += [.set(field: .lat, value: .double(la)), .set(field: .long, value: .double(lo))]
        case (nil, nil): break
        default: throw bad("give lat and long together")
        }
        if let address = form["address_string"], !address.isEmpty {
            ops.append(.set(field: .address, value: .string(try text(address, "address_string", max: 500))))
        }
        if let id = form["address_id"], !id.isEmpty {
            ops.append(
                .set(field: FieldName(rawValue: "address_id")!, value: .string(try text(id, "address_id", max: 200))))
        }
        guard !ops.isEmpty else { throw bad("a location is required: lat and long, address_string or address_id") }
        return ops
    }

    static func contact(_ form: Open311Form) throws(FieldSyncError) -> [ReportOperation] {
        var ops: [ReportOperation] = []
        let name = [form["first_name"], form["last_name"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(
            separator: " ")
        if !name.isEmpty { ops.append(.set(field: .reporterName, value: .string(try text(name, "name", max: 200)))) }
        if let phone = form["phone"], !phone.isEmpty {
            ops.append(.set(field: .reporterPhone, value: .string(try text(phone, "phone", max: 40))))
        }
        if let email = form["email"], !email.isEmpty {
            guard email.contains("@") else { throw bad("email is not an address") }
            ops.append(
                .set(field: FieldName(rawValue: "reporter_email")!, value: .string(try text(email, "email", max: 254))))
        }
        return ops
    }

    /// Citizens' text: bounded, and free of control characters (they could drive a terminal or
    /// break a page that shows it); newlines and tabs are kept.
    static func text(_ s: String, _ what: String, max: Int) throws(FieldSyncError) -> String {
        guard s.unicodeScalars.count <= max else { throw bad("\(what) is longer than \(max) characters") }
        guard
            !s.unicodeScalars.contains(where: {
                ($0.value < 32 && $0 != "\n" && $0 != "\t" && $0 != "\r") || (0x7F...0x9F).contains($0.value)
            })
        else { throw bad("\(what) holds control characters") }
        return s
    }

    static func bad(_ message: String) -> FieldSyncError { FieldSyncError(.invalidRequest, message) }
}
