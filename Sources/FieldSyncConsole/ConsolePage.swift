/// The console's pages, rendered from the service's answers (I/O-free): every page is a pure
/// function of what the service returned and who is signed in, written with `HTMLWriter`.
public enum ConsolePage {
    /// Who is signed in, for the page's header and forms.
    public struct Viewer: Sendable {
        /// The operator's display name.
        public var name: String
        /// `operator` or `admin`.
        public var role: String
        /// The counties they work in (`*` for all).
        public var counties: [String]
        /// The session's CSRF token, written into every form that changes something.
        public var csrf: String

        /// A viewer.
        public init(name: String, role: String, counties: [String], csrf: String) {
            self.name = name
            self.role = role
            self.counties = counties
            self.csrf = csrf
        }
    }

    /// The sections of the navigation.
    public enum Section: String, Sendable, CaseIterable {
        /// Reports.
        case reports
        /// The conflict log.
        case conflicts
        /// The scorecard.
        case scorecard
        /// The service catalogue.
        case catalogue
        /// Devices.
        case devices
        /// The audit log.
        case audit

        var title: String {
            switch self {
            case .reports: "Reports"
            case .conflicts: "Conflicts"
            case .scorecard: "Scorecard"
            case .catalogue: "Catalogue"
            case .devices: "Devices"
            case .audit: "Audit log"
            }
        }
    }

    /// A whole page: the document head, the skip link, the header with the navigation and
    /// sign-out (when someone is signed in), then `main`.
    static func document(
        title: String, viewer: Viewer?, section: Section?, _ main: (inout HTMLWriter) -> Void
    ) -> String {
        var w = HTMLWriter()
        w.constant("<!DOCTYPE html>")
        w.element("html", ["lang": "en"]) { w in
            w.element("head") { w in
                w.void("meta", ["charset": "utf-8"])
                w.void("meta", ["name": "viewport", "content": "width=device-width, initial-scale=1"])
                w.element("title", text: "\(title) · FieldSync")
                w.void("link", ["rel": "stylesheet", "href": "/console/static/console.css"])
                w.element("script", ["src": "/console/static/console.js", "defer": ""])
            }
            w.element("body") { w in
                w.element("a", ["class": "skip", "href": "#main"], text: "Skip to content")
                header(&w, viewer: viewer, section: section)
                w.element("main", ["id": "main", "tabindex": "-1"]) { w in
                    w.element("h1", text: title)
                    main(&w)
                }
            }
        }
        return w.output
    }

    static func header(_ w: inout HTMLWriter, viewer: Viewer?, section: Section?) {
        w.element("header") { w in
            w.element("p", ["class": "brand"], text: "FieldSync county desk")
            guard let viewer else { return }
            w.element("nav", ["aria-label": "Main"]) { w in
                w.element("ul") { w in
                    for s in Section.allCases {
                        w.element("li") { w in
                            w.element(
                                "a", ["href": "/console/\(s.rawValue)", "aria-current": s == section ? "page" : nil],
                                text: s.title)
                        }
                    }
                }
            }
            w.element("form", ["method": "post", "action": "/console/sign-out", "class": "signout"]) { w in
                w.element("span", text: "\(viewer.name) (\(viewer.role))")
                csrfField(&w, viewer)
                w.element("button", ["type": "submit"], text: "Sign out")
            }
        }
    }

    /// The hidden field that carries the session's CSRF token.
    static func csrfField(_ w: inout HTMLWriter, _ viewer: Viewer) {
        w.void("input", ["type": "hidden", "name": "csrf", "value": viewer.csrf])
    }

    /// A labelled county choice: the counties given (an admin's `*` left out), the one chosen even
    /// if not among them, and "All my counties" first where a list can show them all (one county,
    /// or all; an operator of several sees one at a time).
    static func countyField(
        _ w: inout HTMLWriter, id: String, counties: [String], selected: String?, viewer: Viewer?, offerAll: Bool
    ) {
        w.element("div") { w in
            w.element("label", ["for": id], text: "County")
            w.element("select", ["id": id, "name": "county"]) { w in
                if offerAll, let viewer, viewer.counties.count <= 1 || viewer.counties.contains("*") {
                    w.element("option", ["value": ""], text: "All my counties")
                }
                let shown = counties.filter { $0 != "*" }
                for c in shown { w.element("option", ["value": c, "selected": selected == c ? "" : nil], text: c) }
                if let c = selected, !shown.contains(c) { w.element("option", ["value": c, "selected": ""], text: c) }
            }
        }
    }

    /// A message box: an error (`role=alert`) or a notice (`role=status`).
    static func message(_ w: inout HTMLWriter, error: String?, notice: String? = nil) {
        if let error { w.element("p", ["class": "error", "role": "alert"], text: error) }
        if let notice { w.element("p", ["class": "notice", "role": "status"], text: notice) }
    }

    /// The sign-in page.
    public static func signIn(error: String?) -> String {
        document(title: "Sign in", viewer: nil, section: nil) { w in
            message(&w, error: error)
            w.element("form", ["method": "post", "action": "/console/sign-in", "class": "stack"]) { w in
                w.element("label", ["for": "token"], text: "Operator or admin token")
                w.void(
                    "input",
                    ["id": "token", "name": "token", "type": "password", "autocomplete": "off", "required": ""])
                w.element("button", ["type": "submit"], text: "Sign in")
            }
            w.element(
                "p", ["class": "hint"],
                text: "An admin issues tokens with fieldsyncd admin operator. The token is exchanged for a "
                    + "session; it never appears in an address.")
        }
    }

    /// A page for an error (not found, forbidden, a bad request).
    public static func failure(status: Int, message text: String, viewer: Viewer?) -> String {
        document(title: status == 404 ? "Not found" : "Something went wrong", viewer: viewer, section: nil) { w in
            message(&w, error: text)
            w.element("p") { w in w.element("a", ["href": "/console/reports"], text: "Back to the reports") }
        }
    }
}
