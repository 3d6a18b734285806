import FieldSyncCore
public import FieldSyncProtocol

/// The scorecard page: a county's figures by service, ward or month, as a table and as bar
/// charts drawn on the server (SVG, no script). Public when no one is signed in (small groups
/// left out, as `/v1/public/scorecard`).
extension ConsolePage {
    /// The scorecard page for `card` (nil: no county chosen yet), with the counties to choose from.
    public static func scorecard(
        _ card: ScorecardResponse?, byMonth: ScorecardResponse? = nil, counties: [String], viewer: Viewer?
    ) -> String {
        document(title: "Service scorecard", viewer: viewer, section: .scorecard) { w in
            w.element("form", ["method": "get", "action": "/console/scorecard", "class": "filters"]) { w in
                countyField(
                    &w, id: "s-county", counties: counties, selected: card?.county, viewer: viewer, offerAll: false)
                w.element("div") { w in
                    w.element("label", ["for": "s-group"], text: "Group by")
                    w.element("select", ["id": "s-group", "name": "group"]) { w in
                        for g in Scorecard.Grouping.allCases {
                            w.element(
                                "option", ["value": g.rawValue, "selected": card?.group == g ? "" : nil],
                                text: g.rawValue)
                        }
                    }
                }
                w.element("button", ["type": "submit"], text: "Show")
            }
            guard let card else {
                w.element("p", text: "Choose a county.")
                return
            }
            w.element(
                "p", ["class": "meta"],
                text: "Requests received \(time(card.fromMillis)) to \(time(card.toMillis))"
                    + (card.minimumCount.map { "; groups under \($0) requests are left out" } ?? ""))
            scorecardTable(&w, card)
            let by = card.group.rawValue
            chart(
                &w, card.rows.dropFirst().map { ($0.key, $0.acknowledgeMedianHours) },
                title: "Median hours to acknowledge, by \(by)")
            chart(
                &w, card.rows.dropFirst().map { ($0.key, $0.closeMedianHours) },
                title: "Median hours to close, by \(by)")
            if let months = byMonth ?? (card.group == .month ? card : nil) {
                chart(
                    &w, months.rows.dropFirst().map { ($0.key, $0.closeMedianHours) },
                    title: "Median hours to close, by month")
            }
            let total = card.rows.first
            chart(
                &w,
                [
                    ("under 4 weeks", total.map { Double($0.backlogNew) }),
                    ("4 weeks or more", total.map { Double($0.backlogOlder) }),
                    ("no update for 8 weeks", total.map { Double($0.backlogStale) }),
                ], title: "Open backlog by age (all requests of the period)")
        }
    }

    static func scorecardTable(_ w: inout HTMLWriter, _ card: ScorecardResponse) {
        func hours(_ h: Double?) -> String { h.map(oneDecimal) ?? "–" }
        w.element("table", ["class": "list", "id": "scorecard"]) { w in
            w.element("caption", text: "By \(card.group.rawValue), total first")
            w.element("thead") { w in
                w.element("tr") { w in
                    for h in [
                        card.group.rawValue, "Received", "Acknowledged", "Ack. median h", "Ack. p90 h", "Closed",
                        "Close median h", "Close p90 h", "Within target", "Reopened", "Open < 4 wk", "Open older",
                        "No update 8 wk",
                    ] {
                        w.element("th", ["scope": "col"], text: h)
                    }
                }
            }
            w.element("tbody") { w in
                for r in card.rows {
                    w.element("tr") { w in
                        w.element("th", ["scope": "row"], text: r.key)
                        for cell in [
                            "\(r.received)", "\(r.acknowledged)", hours(r.acknowledgeMedianHours),
                            hours(r.acknowledgeP90Hours), "\(r.closed)", hours(r.closeMedianHours),
                            hours(r.closeP90Hours),
                            r.closedWithinTarget.map { "\(Int(($0 * 100).rounded())) %" } ?? "–",
                            "\(r.reopened)", "\(r.backlogNew)", "\(r.backlogOlder)", "\(r.backlogStale)",
                        ] {
                            w.element("td", text: cell)
                        }
                    }
                }
            }
        }
    }

    /// A horizontal bar chart, one bar per group (an SVG with a title and a text alternative).
    static func chart(_ w: inout HTMLWriter, _ bars: [(String, Double?)], title: String) {
        let values = bars.compactMap(\.1)
        guard let top = values.max(), top > 0 else { return }
        let rowHeight = 22
        let height = rowHeight * bars.count + 10
        w.element("figure", ["class": "chart"]) { w in
            w.element(
                "svg",
                [
                    "role": "img", "aria-label": title, "width": "100%", "height": "\(height)",
                    "viewBox": "0 0 600 \(height)", "xmlns": "http://www.w3.org/2000/svg",
                ]
            ) { w in
                w.element("title", text: title)
                for (i, bar) in bars.enumerated() {
                    let y = i * rowHeight + 4
                    let width = Int(((bar.1 ?? 0) / top * 380).rounded())
                    w.element("text", ["x": "0", "y": "\(y + 15)", "class": "label"], text: String(bar.0.prefix(24)))
                    w.element(
                        "rect", ["x": "200", "y": "\(y + 3)", "width": "\(width)", "height": "16", "class": "bar"])
                    w.element(
                        "text", ["x": "\(205 + width)", "y": "\(y + 15)", "class": "value"],
                        text: bar.1.map(oneDecimal) ?? "–")
                }
            }
            w.element("figcaption", text: title)
        }
    }

    /// A number with one decimal (`12.3`).
    static func oneDecimal(_ x: Double) -> String { decimal(x) }

    /// A number with `decimals` (0–6) decimals, without Foundation's formatter (`-0.0917`); "–" for
    /// one too large or not finite (no trapping conversion).
    static func decimal(_ x: Double, _ decimals: Int = 1) -> String {
        guard x.isFinite, abs(x) < 1e9, (0...6).contains(decimals) else { return "–" }
        var p: Int64 = 1
        for _ in 0..<decimals { p *= 10 }
        let n = Int64((x * Double(p)).rounded())
        let frac = String(abs(n) % p)
        return (n < 0 ? "-" : "") + "\(abs(n) / p)." + String(repeating: "0", count: decimals - frac.count) + frac
    }
}
