import FieldSyncConsole
import FieldSyncCore
import FieldSyncProtocol
import Foundation
import Testing

/// Escaping by construction: whatever a citizen or officer wrote comes out of every page as text.
struct HTMLWriterTests {
    static let payloads = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>",
        "javascript:alert(1)", "&lt;script&gt;", "</textarea><script>", "\u{0}\u{1B}[31m\u{85}", "𝕏 é 中",
    ]

    @Test func textAndAttributesNeverOpenMarkup() {
        for p in Self.payloads {
            var w = HTMLWriter()
            w.element("p", ["title": p], text: p)
            let out = w.output
            #expect(!out.contains("<script"), "\(p)")
            #expect(!out.contains("<img") && !out.contains("<svg"), "\(p)")
            #expect(out.filter { $0 == "\"" }.count == 2, "only the attribute's own quotes: \(out)")
            #expect(!out.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" })
        }
    }

    /// Seeded random strings over the characters that matter: escaping then reading back the
    /// entities gives the text (control characters aside), and no `<` or quote survives raw.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func escapingRoundTrips(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let alphabet = Array("<>&\"'abc /=;:é中\n")
        for _ in 0..<500 {
            let s = String((0..<Int(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            let e = HTMLWriter.escape(s)
            #expect(!e.contains("<") && !e.contains(">") && !e.contains("\"") && !e.contains("'"), "seed \(seed)")
            let back = e.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
                .replacingOccurrences(of: "&amp;", with: "&")
            #expect(back == s, "seed \(seed): \(s)")
        }
    }

    @Test func queryValuesCannotBreakOutOfALink() {
        let q = ConsoleQuery.string([("q", "a&b=c \"x\" <y>"), ("empty", ""), ("none", nil)])
        #expect(q == "?q=a%26b%3Dc%20%22x%22%20%3Cy%3E")
    }

    @Test func aReportPageShowsHostileTextAsText() throws {
        let id = ReportID(rawValue: "r-1")!
        let device = DeviceID(rawValue: "tab-1")!
        var replica = Replica()
        var local = LocalDevice(id: device)
        var changes: [Change] = []
        changes.append(
            try replica.write(
                [
                    .create(county: "kisumu"), .set(field: .description, value: .string(Self.payloads[0])),
                    .set(field: FieldName(rawValue: "attributes.depth")!, value: .string(Self.payloads[1])),
                    .appendNote(text: Self.payloads[2]), .addTag("<b>tag</b>"),
                ], to: id, county: "kisumu", as: &local, wallMillis: 1_000))
        let detail = ReportDetail(report: replica.report(id)!, history: changes)
        let viewer = ConsolePage.Viewer(name: "<i>Achieng</i>", role: "operator", counties: ["kisumu"], csrf: "c\"x")
        let html = ConsolePage.report(detail, viewer: viewer)
        for bad in ["<script>alert", "<img src=x", "<svg onload", "<b>tag", "<i>Achieng"] {
            #expect(!html.contains(bad), "\(bad) became markup")
        }
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("value=\"c&quot;x\""), "the CSRF token is escaped in its attribute")
        let list = ConsolePage.reports(
            ReportList(reports: [replica.report(id)!], nextOffset: nil), query: .init(text: Self.payloads[1]),
            viewer: viewer)
        #expect(!list.contains("<img src=x"))
    }
}
