public import FieldSyncCore
public import FieldSyncProtocol

/// The county's service catalogue: its services with their attributes and targets, every
/// version published, and for admins a form that publishes a new version (the JSON of
/// `fieldsyncd admin catalogue import`).
extension ConsolePage {
    /// The catalogue page (`catalogue` nil: the county has none yet).
    public static func catalogue(
        _ catalogue: ServiceCatalogue?, versions: CatalogueVersionList?, county: String?, counties: [String],
        viewer: Viewer, draft: String? = nil, error: String? = nil, notice: String? = nil
    ) -> String {
        document(title: "Service catalogue", viewer: viewer, section: .catalogue) { w in
            message(&w, error: error, notice: notice)
            w.element("form", ["method": "get", "action": "/console/catalogue", "class": "filters"]) { w in
                countyField(&w, id: "c-county", counties: counties, selected: county, viewer: viewer, offerAll: false)
                w.element("button", ["type": "submit"], text: "Show")
            }
            if let catalogue {
                w.element(
                    "p", ["class": "meta"],
                    text: "Version \(catalogue.version ?? 0), published "
                        + (catalogue.publishedAtMillis.map(time) ?? "–") + "; \(catalogue.services.count) services")
                services(&w, catalogue)
            } else if county != nil {
                w.element("p", ["role": "status"], text: "This county has no catalogue yet.")
            }
            if let versions, !versions.versions.isEmpty {
                w.element("h2", text: "Versions")
                w.element("ul") { w in
                    for v in versions.versions {
                        w.element("li", text: "v\(v.version): \(time(v.publishedAtMillis)) by \(v.publishedBy)")
                    }
                }
            }
            if viewer.role == "admin" { publishForm(&w, viewer, draft: draft) }
        }
    }

    static func services(_ w: inout HTMLWriter, _ catalogue: ServiceCatalogue) {
        w.element("table", ["class": "list", "id": "services"]) { w in
            w.element("caption", text: "Services")
            w.element("thead") { w in
                w.element("tr") { w in
                    for h in ["Code", "Name", "Group", "Attributes", "Acknowledge within", "Resolve within"] {
                        w.element("th", ["scope": "col"], text: h)
                    }
                }
            }
            w.element("tbody") { w in
                for s in catalogue.services {
                    w.element("tr") { w in
                        w.element("th", ["scope": "row"], text: s.serviceCode)
                        w.element("td", text: s.serviceName)
                        w.element("td", text: s.group ?? "")
                        w.element("td") { w in
                            w.element("ul", ["class": "ops"]) { w in
                                for a in s.orderedAttributes {
                                    let values = a.values.map { ": " + $0.map(\.key).joined(separator: ", ") } ?? ""
                                    let required = a.required == true ? ", required" : ""
                                    w.element("li", text: "\(a.code) (\(a.datatype.rawValue)\(required))\(values)")
                                }
                            }
                        }
                        w.element("td", text: s.targets?.acknowledgeHours.map { "\($0) h" } ?? "–")
                        w.element("td", text: s.targets?.resolveHours.map { "\($0) h" } ?? "–")
                    }
                }
            }
        }
    }

    static func publishForm(_ w: inout HTMLWriter, _ viewer: Viewer, draft: String?) {
        w.element("section", ["aria-labelledby": "h-publish"]) { w in
            w.element("h2", ["id": "h-publish"], text: "Publish a new version")
            w.element("form", ["id": "publish", "method": "post", "action": "/console/catalogue", "class": "stack"]) {
                w in
                csrfField(&w, viewer)
                w.element(
                    "label", ["for": "c-json"],
                    text:
                        "The whole catalogue as JSON, in Open311's words (as fieldsyncd admin catalogue import takes it)"
                )
                w.element("textarea", ["id": "c-json", "name": "catalogue", "rows": "12", "spellcheck": "false"]) { w in
                    w.text(draft ?? "")
                }
                w.element("button", ["type": "submit"], text: "Publish")
            }
        }
    }
}
