public import FieldSyncCore
public import FieldSyncProtocol

/// The conflict log and one conflict, side by side, with the resolve form.
extension ConsolePage {
    /// The conflict log page: open (default) or resolved.
    public static func conflicts(
        _ list: ConflictList, open: Bool, county: String? = nil, field: String? = nil, viewer: Viewer
    ) -> String {
        document(title: open ? "Open conflicts" : "Resolved conflicts", viewer: viewer, section: .conflicts) { w in
            w.element("nav", ["aria-label": "Conflict state", "class": "tabs"]) { w in
                let rest: [(String, String?)] = [("county", county), ("field", field)]
                w.element(
                    "a",
                    ["href": "/console/conflicts" + ConsoleQuery.string(rest), "aria-current": open ? "page" : nil],
                    text: "Open")
                w.element(
                    "a",
                    [
                        "href": "/console/conflicts" + ConsoleQuery.string([("state", "resolved")] + rest),
                        "aria-current": open ? nil : "page",
                    ], text: "Resolved")
            }
            w.element("form", ["method": "get", "action": "/console/conflicts", "class": "filters"]) { w in
                if !open { w.void("input", ["type": "hidden", "name": "state", "value": "resolved"]) }
                countyField(
                    &w, id: "k-county", counties: viewer.counties, selected: county, viewer: viewer, offerAll: true)
                w.element("div") { w in
                    w.element("label", ["for": "k-field"], text: "Field")
                    w.void("input", ["id": "k-field", "name": "field", "type": "text", "value": field ?? ""])
                }
                w.element("button", ["type": "submit"], text: "Filter")
            }
            guard !list.conflicts.isEmpty else {
                w.element("p", ["role": "status"], text: open ? "No open conflicts." : "No resolved conflicts.")
                return
            }
            w.element("table", ["class": "list"]) { w in
                w.element("thead") { w in
                    w.element("tr") { w in
                        for h in ["Report", "Field", "County", "Candidates", open ? "Shown now" : "Resolved as"] {
                            w.element("th", ["scope": "col"], text: h)
                        }
                    }
                }
                w.element("tbody") { w in
                    for c in list.conflicts {
                        w.element("tr") { w in
                            w.element("td") { w in
                                w.element(
                                    "a", ["href": conflictLink(c.report.rawValue, c.field.rawValue)],
                                    text: c.report.rawValue)
                            }
                            w.element("td", text: c.field.rawValue)
                            w.element("td", text: c.county)
                            w.element("td", text: "\(c.candidates.count)")
                            w.element("td", text: display(c.resolution?.value ?? c.winner?.value))
                        }
                    }
                }
            }
        }
    }

    /// One conflict: its candidates side by side (author, device, time, value; the value shown now
    /// marked), the resolution if any, and for an open one the form that resolves it.
    public static func conflict(
        _ c: Conflict, viewer: Viewer, seen: [Dot: VersionVector] = [:], error: String? = nil, notice: String? = nil
    ) -> String {
        document(title: "Conflict on \(c.field.rawValue)", viewer: viewer, section: .conflicts) { w in
            message(&w, error: error, notice: notice)
            w.element("p", ["class": "meta"]) { w in
                w.text("Report ")
                w.element(
                    "a", ["href": "/console/reports/\(ConsoleQuery.encode(c.report.rawValue))"], text: c.report.rawValue
                )
                w.text(" · county \(c.county) · \(c.isOpen ? "open" : "resolved")")
            }
            candidates(&w, c, seen: seen)
            if let r = c.resolution {
                w.element("section", ["aria-labelledby": "h-resolution"]) { w in
                    w.element("h2", ["id": "h-resolution"], text: "Resolution")
                    w.element("dl", ["class": "fields"]) { w in
                        w.element("dt", text: "Before")
                        w.element("dd", text: c.candidates.map { display($0.value) }.joined(separator: " | "))
                        w.element("dt", text: "After")
                        w.element("dd", text: display(r.value))
                        w.element("dt", text: "By")
                        w.element("dd", text: "\(r.dot) at \(time(r.hlc.millis))")
                    }
                }
            } else {
                resolveForm(&w, c, viewer)
            }
        }
    }

    static func candidates(_ w: inout HTMLWriter, _ c: Conflict, seen: [Dot: VersionVector]) {
        let shown = c.winner?.dot
        w.element("table", ["class": "candidates"]) { w in
            w.element("caption", text: "Candidates (the value devices show now is marked)")
            w.element("thead") { w in
                w.element("tr") { w in
                    w.element("th", ["scope": "row"], text: "Candidate")
                    for (i, cand) in c.candidates.enumerated() {
                        w.element("th", ["scope": "col"], text: "\(i + 1)\(cand.dot == shown ? " (shown now)" : "")")
                    }
                }
            }
            w.element("tbody") { w in
                for (label, cell) in [
                    ("Device", { (x: Candidate) in x.dot.device.rawValue }), ("Change", { $0.dot.description }),
                    ("Written", { time($0.hlc.millis) }),
                    ("Had seen", { x in seen[x.dot].map(Self.describe) ?? "–" }), ("Value", { display($0.value) }),
                ] as [(String, (Candidate) -> String)] {
                    w.element("tr") { w in
                        w.element("th", ["scope": "row"], text: label)
                        for cand in c.candidates {
                            let same = c.candidates.allSatisfy { cell($0) == cell(cand) }
                            w.element("td", ["class": same ? "same" : nil], text: cell(cand))
                        }
                    }
                }
            }
        }
    }

    static func resolveForm(_ w: inout HTMLWriter, _ c: Conflict, _ viewer: Viewer) {
        w.element("section", ["aria-labelledby": "h-resolve"]) { w in
            w.element("h2", ["id": "h-resolve"], text: "Resolve")
            w.element(
                "form",
                [
                    "method": "post", "action": conflictLink(c.report.rawValue, c.field.rawValue) + "/resolve",
                    "class": "stack",
                ]
            ) { w in
                csrfField(&w, viewer)
                w.element("fieldset") { w in
                    w.element("legend", text: "Keep one candidate, or enter a value")
                    for (i, cand) in c.candidates.enumerated() {
                        let id = "choose-\(i + 1)"
                        w.element("div") { w in
                            w.void(
                                "input", ["type": "radio", "id": id, "name": "choose", "value": cand.dot.description])
                            w.element("label", ["for": id], text: "Candidate \(i + 1): \(display(cand.value))")
                        }
                    }
                    w.element("div") { w in
                        w.void("input", ["type": "radio", "id": "choose-value", "name": "choose", "value": ""])
                        w.element("label", ["for": "choose-value"], text: "Enter a value:")
                    }
                    w.element("label", ["for": "value", "class": "visually-hidden"], text: "New value")
                    w.void("input", ["id": "value", "name": "value", "type": "text", "maxlength": "4000"])
                }
                w.element("button", ["type": "submit"], text: "Resolve")
            }
        }
    }

    /// What a change had seen of the report: each device's latest change, or "nothing" (a change
    /// written without having seen any other).
    static func describe(_ context: VersionVector) -> String {
        context.entries.isEmpty
            ? "nothing" : context.entries.map { "\($0.device.rawValue):\($0.seq)" }.joined(separator: ", ")
    }
}
