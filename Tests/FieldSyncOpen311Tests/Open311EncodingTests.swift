import FieldSyncCore
import FieldSyncOpen311
import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// GeoReport documents and forms, I/O-free: whatever text goes in comes back out of a JSON or XML
/// parser as it was written (XML drops only the characters XML 1.0 cannot carry), and a form
/// decodes within its bounds or is refused.
struct Open311EncodingTests {
    /// Random text with what breaks documents: markup, quotes, ampersands, control characters,
    /// line separators, emoji, CDATA ends.
    static func hostile(_ rng: inout SplitMix64) -> String {
        let pieces = [
            "<", ">", "&", "\"", "'", "]]>", "</x>", "\u{0}", "\u{1B}", "\t", "\n", "\r", "\u{2028}", "é", "😀", "a",
            " ",
            "\\", "\u{7F}", "\u{FFFE}", "{}", ",",
        ]
        return (0..<Int(rng.next() % 40)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    final class TextCollector: NSObject, XMLParserDelegate {
        var text = ""
        var failed = false
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { failed = true }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func anyTextRoundTripsThroughJSONAndXML(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<300 {
            let s = Self.hostile(&rng)
            let node = Open311Node.list(item: "request", [.object([("description", .text(s))])])
            let json = node.json()
            #expect(!json.contains("<") && !json.contains(">"), "seed \(seed): markup in \(json)")
            let back = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: String]]
            #expect(back?.first?["description"] == s, "seed \(seed): JSON changed \(s.debugDescription)")
            let parser = XMLParser(data: Data(node.xml(root: "service_requests").utf8))
            let collector = TextCollector()
            parser.delegate = collector
            #expect(parser.parse() && !collector.failed, "seed \(seed): XML does not parse for \(s.debugDescription)")
            let expected = String(
                String.UnicodeScalarView(
                    s.unicodeScalars.filter {
                        !($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") && $0.value != 0xFFFE
                    }))
            let normalized = expected.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
                of: "\r", with: "\n")
            #expect(
                collector.text.replacingOccurrences(of: "\r", with: "\n") == normalized
                    || collector.text == expected, "seed \(seed): XML changed \(s.debugDescription)")
        }
    }

    @Test func formsDecodeWithinBounds() throws {
        let form = try Open311Form(Array("a=1&b=x+y%26z&attribute[depth]=3&attribute[h][]=w&attribute[h][]=t&a=2".utf8))
        #expect(form.values["a"] == ["1", "2"] && form["b"] == "x y&z")
        #expect(form.attributes == ["depth": ["3"], "h": ["w", "t"]])
        let bad: [String] = [
            "a=%ZZ", "a=%4", "a=%FF%FE", String(repeating: "x=1&", count: 201),
            "n=" + String(repeating: "y", count: 16_385), String(repeating: "k", count: 101) + "=1",
        ]
        for b in bad {
            #expect(throws: FieldSyncError.self, "\(b.prefix(20))") { try Open311Form(Array(b.utf8)) }
        }
    }

    @Test func statusesMapToOpenOrClosed() {
        #expect(Open311Status(status: "in_progress", lifecycle: "active") == .open)
        #expect(Open311Status(status: nil, lifecycle: "active") == .open)
        #expect(Open311Status(status: "Resolved", lifecycle: "active") == .closed)
        #expect(Open311Status(status: "open", lifecycle: "withdrawn") == .closed)
        #expect(Open311Format.split("pothole.json")! == ("pothole", .json))
        #expect(Open311Format.split("pothole.csv") == nil && Open311Format.split("pothole") == nil)
    }
}
