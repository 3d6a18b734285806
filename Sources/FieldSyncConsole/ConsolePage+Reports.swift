import FieldSyncCore
public import FieldSyncProtocol

/// The reports list: filters, a table, pages.
extension ConsolePage {
    /// What the reports list is filtered by (as the form sends it back).
    public struct ReportQuery: Sendable, Hashable {
        /// A county, or nil for all the viewer's.
        public var county: String?
        /// A status value.
        public var status: String?
        /// A service code.
        public var service: String?
        /// Free text.
        public var text: String?
        /// A ward.
        public var ward: String?
        /// A tag.
        public var tag: String?
        /// Received on or after this date (`YYYY-MM-DD`).
        public var from: String?
        /// Received on or before this date.
        public var to: String?
        /// `open` (has an open conflict) or `none`.
        public var conflict: String?
        /// `missing` (a photo has not arrived) or `any` (has photos).
        public var photos: String?
        /// `updated` (default), `received` or `received_oldest`.
        public var sort: String?
        /// The first row.
        public var offset = 0
        /// Rows per page.
        public var limit = 50

        /// A query.
        public init(county: String? = nil, status: String? = nil, service: String? = nil, text: String? = nil) {
            self.county = county
            self.status = status
            self.service = service
            self.text = text
        }

        /// The filters as query pairs.
        var pairs: [(String, String?)] {
            [
                ("county", county), ("status", status), ("service", service), ("q", text), ("ward", ward),
                ("tag", tag), ("from", from), ("to", to), ("conflict", conflict), ("photos", photos),
                ("sort", sort),
            ]
        }

        /// The query string of this query at another offset.
        func link(offset: Int) -> String {
            "/console/reports" + ConsoleQuery.string(pairs + [("offset", offset > 0 ? String(offset) : nil)])
        }
    }

    /// The reports list page.
    public static func reports(
        _ list: ReportList, query: ReportQuery, viewer: Viewer, notice: String? = nil, tiles: MapTiles? = nil
    ) -> String {
        document(title: "Reports", viewer: viewer, section: .reports) { w in
            message(&w, error: nil, notice: notice)
            reportFilters(&w, query, viewer)
            let count = list.reports.count
            w.element("p", ["role": "status", "id": "result-count"]) { w in
                w.text(
                    count == 0
                        ? "No reports match."
                        : "Reports \(query.offset + 1)–\(query.offset + count)\(list.nextOffset == nil ? "" : " (more follow)")"
                )
            }
            if count > 0 {
                exportLinks(&w, query, viewer)
                bulkForm(&w, query, viewer)
                reportTable(&w, list.reports)
                ConsoleMap.draw(&w, list.reports, tiles: tiles)
            }
            w.element("nav", ["aria-label": "Pages", "class": "pages"]) { w in
                if query.offset > 0 {
                    w.element(
                        "a", ["href": query.link(offset: max(0, query.offset - query.limit)), "rel": "prev"],
                        text: "Previous page")
                }
                if let next = list.nextOffset {
                    w.element("a", ["href": query.link(offset: next), "rel": "next"], text: "Next page")
                }
            }
        }
    }

    static func reportFilters(_ w: inout HTMLWriter, _ q: ReportQuery, _ viewer: Viewer) {
        w.element("form", ["method": "get", "action": "/console/reports", "class": "filters", "role": "search"]) { w in
            countyField(
                &w, id: "f-county", counties: viewer.counties, selected: q.county, viewer: viewer, offerAll: true)
            for (id, name, label, value, type) in [
                ("f-status", "status", "Status", q.status, "text"),
                ("f-service", "service", "Service", q.service, "text"),
                ("f-ward", "ward", "Ward", q.ward, "text"), ("f-tag", "tag", "Tag", q.tag, "text"),
                ("f-from", "from", "Received from", q.from, "date"),
                ("f-to", "to", "Received to", q.to, "date"), ("f-text", "q", "Text", q.text, "search"),
            ] {
                w.element("div") { w in
                    w.element("label", ["for": id], text: label)
                    w.void("input", ["id": id, "name": name, "type": type, "value": value ?? ""])
                }
            }
            w.element("div") { w in
                w.element("label", ["for": "f-conflict"], text: "Conflicts")
                w.element("select", ["id": "f-conflict", "name": "conflict"]) { w in
                    for (value, label) in [("", "any"), ("open", "has an open conflict"), ("none", "no open conflict")]
                    {
                        w.element(
                            "option", ["value": value, "selected": (q.conflict ?? "") == value ? "" : nil], text: label)
                    }
                }
            }
            w.element("div") { w in
                w.element("label", ["for": "f-photos"], text: "Photos")
                w.element("select", ["id": "f-photos", "name": "photos"]) { w in
                    for (value, label) in [("", "any"), ("any", "has photos"), ("missing", "a photo is missing")] {
                        w.element(
                            "option", ["value": value, "selected": (q.photos ?? "") == value ? "" : nil], text: label)
                    }
                }
            }
            w.element("div") { w in
                w.element("label", ["for": "f-sort"], text: "Sort by")
                w.element("select", ["id": "f-sort", "name": "sort"]) { w in
                    for (value, label) in [
                        ("", "last change, newest first"), ("received", "received, newest first"),
                        ("received_oldest", "received, oldest first"),
                    ] {
                        w.element(
                            "option", ["value": value, "selected": (q.sort ?? "") == value ? "" : nil], text: label)
                    }
                }
            }
            w.element("button", ["type": "submit"], text: "Filter")
        }
    }

    /// Links that download this filtered list (personal fields: admins, and only when asked).
    static func exportLinks(_ w: inout HTMLWriter, _ q: ReportQuery, _ viewer: Viewer) {
        w.element("p", ["class": "exports"]) { w in
            w.text("Export this list: ")
            let filters = q.pairs
            w.element("a", ["href": "/console/export.csv" + ConsoleQuery.string(filters)], text: "CSV")
            w.text(" · ")
            w.element("a", ["href": "/console/export.geojson" + ConsoleQuery.string(filters)], text: "GeoJSON")
            if viewer.role == "admin" {
                w.text(" · ")
                w.element(
                    "a", ["href": "/console/export.csv" + ConsoleQuery.string(filters + [("personal", "1")])],
                    text: "CSV with personal fields")
            }
        }
    }

    /// Sets one status on the reports ticked in the table (their checkboxes name this form).
    static func bulkForm(_ w: inout HTMLWriter, _ q: ReportQuery, _ viewer: Viewer) {
        w.element("form", ["id": "bulk", "method": "post", "action": "/console/reports/bulk", "class": "filters"]) {
            w in
            csrfField(&w, viewer)
            w.void("input", ["type": "hidden", "name": "back", "value": q.link(offset: q.offset)])
            w.element("div") { w in
                w.element("label", ["for": "bulk-status"], text: "New status for the ticked reports")
                w.void(
                    "input", ["id": "bulk-status", "name": "status", "type": "text", "maxlength": "64", "required": ""])
            }
            w.element("button", ["type": "submit"], text: "Apply to ticked")
        }
    }

    static func reportTable(_ w: inout HTMLWriter, _ reports: [Report]) {
        w.element("table", ["class": "list"]) { w in
            w.element("caption", ["class": "visually-hidden"], text: "Reports")
            w.element("thead") { w in
                w.element("tr") { w in
                    for h in [
                        "Tick", "Report", "County", "Service", "Status", "Ward", "Updated", "Conflicts", "Description",
                    ] {
                        w.element("th", ["scope": "col"], text: h)
                    }
                }
            }
            w.element("tbody") { w in
                for (i, r) in reports.enumerated() {
                    w.element("tr") { w in
                        w.element("td") { w in
                            w.element(
                                "label", ["for": "sel-\(i)", "class": "visually-hidden"], text: "Tick \(r.id.rawValue)")
                            w.void(
                                "input",
                                [
                                    "id": "sel-\(i)", "type": "checkbox", "name": "report", "value": r.id.rawValue,
                                    "form": "bulk",
                                ])
                        }
                        w.element("td") { w in
                            w.element(
                                "a", ["href": "/console/reports/\(ConsoleQuery.encode(r.id.rawValue))"],
                                text: r.id.rawValue)
                        }
                        w.element("td", text: r.county)
                        w.element("td", text: display(r.fields["service_code"]))
                        w.element("td", text: r.lifecycle == "withdrawn" ? "withdrawn" : display(r.fields["status"]))
                        w.element("td", text: display(r.fields["ward"]))
                        w.element("td", text: time(r.updatedAt.millis))
                        w.element("td", text: r.conflicted.isEmpty ? "" : "\(r.conflicted.count)")
                        w.element("td", text: String(display(r.fields["description"]).prefix(80)))
                    }
                }
            }
        }
    }

    /// A field's value as text (strings as they are, others as JSON-like text, none as "").
    static func display(_ value: FieldValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let s)?: s
        case .bool(let b)?: b ? "true" : "false"
        case .int(let i)?: String(i)
        case .double(let d)?: String(d)
        case .array(let a)?: "[" + a.map { display($0) }.joined(separator: ", ") + "]"
        case .object(let o)?: "{" + o.keys.sorted().map { "\($0): \(display(o[$0]))" }.joined(separator: ", ") + "}"
        }
    }

    /// A time as a W3C date-time in UTC.
    static func time(_ millis: UInt64) -> String { W3CDate.format(Int64(clamping: millis)) }
}
