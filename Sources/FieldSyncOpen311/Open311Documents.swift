public import FieldSyncCore

/// The GeoReport v2 documents FieldSync serves, built from the catalogue and the reports. What a
/// citizen or officer wrote goes out as it was written: `Open311Node` escapes it for each format.
/// Personal fields (reporter name, phone, email) are never part of any document.
public enum Open311Documents {
    /// `services.{fmt}`: each service with `metadata` true when it has attributes.
    public static func services(_ c: ServiceCatalogue) -> Open311Node {
        .list(
            item: "service",
            c.services.map { s in
                .object([
                    ("service_code", .text(s.serviceCode)), ("service_name", .text(s.serviceName)),
                    ("description", .text(s.description ?? "")), ("metadata", .bool(!(s.attributes ?? []).isEmpty)),
                    ("type", .text("realtime")), ("keywords", .text((s.keywords ?? []).joined(separator: ","))),
                    ("group", .text(s.group ?? "")),
                ])
            })
    }

    /// `services/{code}.{fmt}`: the service definition, its attributes in order.
    public static func definition(_ s: ServiceCatalogue.Service) -> Open311Node {
        .object([
            ("service_code", .text(s.serviceCode)),
            (
                "attributes",
                .list(
                    item: "attribute",
                    s.orderedAttributes.enumerated().map { i, a in
                        .object([
                            ("variable", .bool(true)), ("code", .text(a.code)),
                            ("datatype", .text(a.datatype.rawValue)),
                            ("required", .bool(a.required == true)),
                            ("datatype_description", .text(a.datatypeDescription ?? "")),
                            ("order", .integer(Int64(a.order ?? i + 1))), ("description", .text(a.description ?? "")),
                            (
                                "values",
                                .list(
                                    item: "value",
                                    (a.values ?? []).map {
                                        .object([("key", .text($0.key)), ("name", .text($0.name))])
                                    })
                            ),
                        ])
                    })
            ),
        ])
    }

    /// One service request as GeoReport shows it.
    public static func request(
        _ r: Report, service: ServiceCatalogue.Service?, offsetMinutes: Int = 0
    ) -> Open311Node {
        func string(_ name: String) -> String? {
            if case .string(let s)? = r.fields[name] { return s }
            return nil
        }
        func number(_ name: String) -> Open311Node {
            switch r.fields[name] {
            case .double(let d)?: .number(d)
            case .int(let i)?: .number(Double(i))
            default: .text(nil)
            }
        }
        let requested = Int64(clamping: r.createdAt.millis)
        let expected =
            string("expected_datetime")
            ?? service?.targets?.resolveHours.map {
                W3CDate.format(requested + Int64($0) * 3_600_000, offsetMinutes: offsetMinutes)
            }
        return .object([
            ("service_request_id", .text(r.id.rawValue)),
            ("status", .text(Open311Status(report: r).rawValue)),
            ("status_notes", .text(string("status_notes"))),
            ("service_name", .text(service?.serviceName ?? string("service_name"))),
            ("service_code", .text(string("service_code"))),
            ("description", .text(string("description"))),
            ("agency_responsible", .text(string("agency_responsible"))),
            ("service_notice", .text(string("service_notice"))),
            ("requested_datetime", .text(W3CDate.format(requested, offsetMinutes: offsetMinutes))),
            (
                "updated_datetime",
                .text(W3CDate.format(Int64(clamping: r.updatedAt.millis), offsetMinutes: offsetMinutes))
            ),
            ("expected_datetime", .text(expected)),
            ("address", .text(string("address"))),
            ("address_id", .text(string("address_id"))),
            ("zipcode", .text(nil)),
            ("lat", number("lat")),
            ("long", number("long")),
            ("media_url", .text(string("attributes.media_url"))),
        ])
    }

    /// The answer to a request filed: its id (FieldSync files at once; no token needed).
    public static func created(_ id: ReportID, notice: String?) -> Open311Node {
        .list(
            item: "request",
            [
                .object([
                    ("service_request_id", .text(id.rawValue)), ("service_notice", .text(notice ?? "")),
                    ("account_id", .text(nil)),
                ])
            ])
    }

    /// `tokens/{token}.{fmt}`: a token is the request's id.
    public static func token(_ id: ReportID) -> Open311Node {
        .list(item: "request", [.object([("service_request_id", .text(id.rawValue)), ("token", .text(id.rawValue))])])
    }

    /// Errors as GeoReport lists them.
    public static func errors(_ code: Int, _ description: String) -> Open311Node {
        .list(item: "error", [.object([("code", .integer(Int64(code))), ("description", .text(description))])])
    }

    /// `discovery.{fmt}`: where the endpoint is and what it speaks.
    public static func discovery(url: String, changeset: String, contact: String) -> Open311Node {
        .object([
            ("changeset", .text(changeset)), ("contact", .text(contact)),
            ("key_service", .text("An admin of the county issues keys: fieldsyncd admin open311-key")),
            (
                "endpoints",
                .list(
                    item: "endpoint",
                    [
                        .object([
                            ("specification", .text("http://wiki.open311.org/GeoReport_v2")), ("url", .text(url)),
                            ("changeset", .text(changeset)), ("type", .text("production")),
                            ("formats", .list(item: "format", [.text("text/xml"), .text("application/json")])),
                        ])
                    ])
            ),
        ])
    }

    /// One update of a request (mySociety's `servicerequestupdates` extension).
    public static func update(
        id: String, request: ReportID, status: Open311Status, description: String?, atMillis: UInt64,
        offsetMinutes: Int = 0
    ) -> Open311Node {
        .object([
            ("update_id", .text(id)), ("service_request_id", .text(request.rawValue)),
            ("status", .text(status.rawValue)),
            ("description", .text(description ?? "")),
            ("updated_datetime", .text(W3CDate.format(Int64(clamping: atMillis), offsetMinutes: offsetMinutes))),
            ("media_url", .text(nil)),
        ])
    }
}
