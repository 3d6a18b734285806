import FieldSyncCore
public import FieldSyncProtocol

/// One report: every field, tags, notes, photos, its conflicts and its whole history.
extension ConsolePage {
    /// The report page.
    public static func report(
        _ detail: ReportDetail, viewer: Viewer, error: String? = nil, notice: String? = nil
    ) -> String {
        let r = detail.report
        return document(title: "Report \(r.id.rawValue)", viewer: viewer, section: .reports) { w in
            message(&w, error: error, notice: notice)
            w.element("p", ["class": "meta"]) { w in
                w.text("County \(r.county) · \(r.lifecycle) · created \(time(r.createdAt.millis)) by \(r.created) · ")
                w.text("\(r.changeCount) changes, last \(time(r.updatedAt.millis))")
            }
            if let issues = detail.catalogueIssues, !issues.isEmpty {
                w.element("section", ["aria-labelledby": "h-issues"]) { w in
                    w.element("h2", ["id": "h-issues"], text: "Against the catalogue")
                    w.element("ul") { w in for i in issues { w.element("li", text: i) } }
                }
            }
            fields(&w, r)
            fieldWork(&w, r, viewer)
            conflictsOf(&w, r)
            notesAndMedia(&w, r, detail.media ?? [])
            history(&w, detail.history)
        }
    }

    static func fields(_ w: inout HTMLWriter, _ r: Report) {
        w.element("section", ["aria-labelledby": "h-fields"]) { w in
            w.element("h2", ["id": "h-fields"], text: "Fields")
            w.element("dl", ["class": "fields"]) { w in
                for name in r.fields.keys.sorted() {
                    w.element("dt", text: name)
                    w.element("dd", ["class": r.conflicted.contains(name) ? "conflicted" : nil]) { w in
                        w.text(display(r.fields[name]))
                        if r.conflicted.contains(name) { w.element("span", ["class": "badge"], text: " in conflict") }
                    }
                }
            }
            w.element("p") { w in
                w.text("Tags: ")
                w.text(r.tags.isEmpty ? "none" : r.tags.joined(separator: ", "))
            }
        }
    }

    /// The field-work form: status, assignee, priority, a note (empty fields stay as they are).
    static func fieldWork(_ w: inout HTMLWriter, _ r: Report, _ viewer: Viewer) {
        w.element("section", ["aria-labelledby": "h-work"]) { w in
            w.element("h2", ["id": "h-work"], text: "Field work")
            w.element(
                "form",
                [
                    "method": "post", "action": "/console/reports/\(ConsoleQuery.encode(r.id.rawValue))/edit",
                    "class": "stack",
                ]
            ) { w in
                csrfField(&w, viewer)
                for (id, name, label, now) in [
                    ("w-status", "status", "New status", display(r.fields["status"])),
                    ("w-assignee", "assignee", "Assign to", display(r.fields["assignee"])),
                ] {
                    w.element("label", ["for": id], text: "\(label) (now: \(now.isEmpty ? "none" : now))")
                    w.void("input", ["id": id, "name": name, "type": "text", "maxlength": "64"])
                }
                w.element("label", ["for": "w-priority"], text: "Priority (now: \(display(r.fields["priority"])))")
                w.element("select", ["id": "w-priority", "name": "priority"]) { w in
                    w.element("option", ["value": ""], text: "unchanged")
                    for (p, name) in [(1, "1 urgent"), (2, "2 high"), (3, "3 normal"), (4, "4 low")] {
                        w.element("option", ["value": "\(p)"], text: name)
                    }
                }
                w.element("label", ["for": "w-note"], text: "Add a note")
                w.element("textarea", ["id": "w-note", "name": "note", "rows": "3", "maxlength": "4000"])
                w.element("button", ["type": "submit"], text: "Save")
            }
        }
    }

    static func conflictsOf(_ w: inout HTMLWriter, _ r: Report) {
        guard !r.conflicted.isEmpty else { return }
        w.element("section", ["aria-labelledby": "h-conflicts"]) { w in
            w.element("h2", ["id": "h-conflicts"], text: "Open conflicts")
            w.element("ul") { w in
                for field in r.conflicted {
                    w.element("li") { w in
                        w.element("a", ["href": conflictLink(r.id.rawValue, field)], text: "Resolve \(field)")
                    }
                }
            }
        }
    }

    static func notesAndMedia(_ w: inout HTMLWriter, _ r: Report, _ media: [MediaStatus]) {
        w.element("section", ["aria-labelledby": "h-notes"]) { w in
            w.element("h2", ["id": "h-notes"], text: "Notes")
            if r.notes.isEmpty { w.element("p", text: "No notes.") }
            w.element("ol", ["class": "notes"]) { w in
                for n in r.notes {
                    w.element("li") { w in
                        w.element("p", ["class": "meta"], text: "\(time(n.hlc.millis)) · \(n.dot.device.rawValue)")
                        w.element("p", text: n.text)
                    }
                }
            }
        }
        w.element("section", ["aria-labelledby": "h-media"]) { w in
            w.element("h2", ["id": "h-media"], text: "Photos")
            if media.isEmpty { w.element("p", text: "No photos.") }
            w.element("ul", ["class": "media"]) { w in
                for m in media {
                    w.element("li") { w in
                        if m.state == "arrived", m.contentType.hasPrefix("image/") {
                            w.void(
                                "img",
                                [
                                    "src": "/console/media/\(ConsoleQuery.encode(m.sha256))",
                                    "alt": "Photo \(m.sha256.prefix(12)) of report \(r.id.rawValue)",
                                    "loading": "lazy", "width": "240",
                                ])
                        }
                        w.element("p", text: "\(m.contentType), \(m.size) bytes: \(m.state)")
                    }
                }
            }
        }
    }

    static func history(_ w: inout HTMLWriter, _ changes: [Change]) {
        w.element("section", ["aria-labelledby": "h-history"]) { w in
            w.element("h2", ["id": "h-history"], text: "History")
            w.element("table", ["class": "list"]) { w in
                w.element("thead") { w in
                    w.element("tr") { w in
                        for h in ["When", "Who (device)", "Change", "What changed"] {
                            w.element("th", ["scope": "col"], text: h)
                        }
                    }
                }
                w.element("tbody") { w in
                    for c in changes.sorted(by: { ($0.hlc, $0.dot) < ($1.hlc, $1.dot) }) {
                        w.element("tr") { w in
                            w.element("td", text: time(c.hlc.millis))
                            w.element("td", text: c.dot.device.rawValue)
                            w.element("td", text: c.dot.description)
                            w.element("td") { w in
                                w.element("ul", ["class": "ops"]) { w in
                                    for op in c.ops { w.element("li", text: describe(op)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One operation in words.
    static func describe(_ op: ReportOperation) -> String {
        switch op {
        case .create(let county): "created in \(county)"
        case .set(let field, let value): "\(field.rawValue) = \(display(value))"
        case .addTag(let tag): "tag \(tag) added"
        case .removeTag(let tag): "tag \(tag) removed"
        case .appendNote(let text): "note: \(text)"
        case .attachMedia(let m): "photo \(m.sha256.prefix(12)) attached (\(m.contentType), \(m.size) bytes)"
        case .withdraw(let reason): "withdrawn: \(reason)"
        case .restore: "restored"
        }
    }

    static func conflictLink(_ report: String, _ field: String) -> String {
        "/console/conflicts/\(ConsoleQuery.encode(report))/\(ConsoleQuery.encode(field))"
    }
}
