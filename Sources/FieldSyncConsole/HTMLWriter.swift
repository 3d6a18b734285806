/// Writes HTML that is escaped by construction: tag and attribute names are compile-time
/// constants (`StaticString`), and every text and attribute value passes through `escape`. No
/// API writes a runtime string unescaped, so nothing a citizen or officer wrote can become markup.
public struct HTMLWriter: Sendable {
    /// The document so far.
    public private(set) var output = ""

    /// An empty document.
    public init() { output.reserveCapacity(16_384) }

    /// An element with attributes (a nil value leaves the attribute out; an empty one writes it
    /// bare, e.g. `required`) and content.
    public mutating func element(
        _ tag: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:],
        _ content: (inout HTMLWriter) -> Void = { _ in }
    ) {
        open(tag, attributes)
        content(&self)
        output += "</\(tag)>"
    }

    /// An element with only text content.
    public mutating func element(
        _ tag: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:], text: String
    ) {
        element(tag, attributes) { $0.text(text) }
    }

    /// An element without content or end tag (`input`, `meta`, `link`, `br`, `img`).
    public mutating func void(_ tag: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:]) {
        open(tag, attributes)
    }

    /// Text, escaped.
    public mutating func text(_ s: String) { output += Self.escape(s) }

    /// A constant fragment written as it is (the doctype, fixed markup).
    public mutating func constant(_ s: StaticString) { output += "\(s)" }

    private mutating func open(_ tag: StaticString, _ attributes: KeyValuePairs<StaticString, String?>) {
        output += "<\(tag)"
        for (name, value) in attributes {
            guard let value else { continue }
            output += value.isEmpty ? " \(name)" : " \(name)=\"\(Self.escape(value))\""
        }
        output += ">"
    }

    /// `s` with `&`, `<`, `>`, `"` and `'` as character references, and other control
    /// characters than tab, line feed and carriage return as U+FFFD.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
