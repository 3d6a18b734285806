/// One GeoReport v2 document as a tree, written as XML or as JSON from the same tree, so that
/// both formats always say the same thing. Lists are bare JSON arrays and XML elements holding
/// one element per item (`<services><service>…`); objects keep their keys' order.
public indirect enum Open311Node: Sendable, Hashable {
    /// A string (nil: JSON `null`, an empty XML element).
    case text(String?)
    /// An integer.
    case integer(Int64)
    /// A number.
    case number(Double)
    /// A boolean.
    case bool(Bool)
    /// A list whose XML items are named `item`.
    case list(item: String, [Open311Node])
    /// Named members, in order.
    case object([(String, Open311Node)])

    public static func == (a: Open311Node, b: Open311Node) -> Bool { a.json() == b.json() }
    public func hash(into hasher: inout Hasher) { hasher.combine(json()) }

    /// The document as JSON.
    public func json() -> String {
        var out = ""
        writeJSON(&out)
        return out
    }

    /// The document as XML, under a root element `root` (for a list: its items inside it).
    public func xml(root: String) -> String {
        var out = #"<?xml version="1.0" encoding="utf-8"?>"#
        writeXML(&out, name: root)
        return out
    }

    private func writeJSON(_ out: inout String) {
        switch self {
        case .text(let s?): Self.jsonString(s, &out)
        case .text(nil): out += "null"
        case .integer(let i): out += String(i)
        case .number(let d): out += d.isFinite ? String(d) : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .list(_, let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeJSON(&out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                Self.jsonString(key, &out)
                out += ":"
                value.writeJSON(&out)
            }
            out += "}"
        }
    }

    private func writeXML(_ out: inout String, name: String) {
        switch self {
        case .text(nil):
            out += "<\(name)/>"
        case .list(let item, let items):
            out += "<\(name)>"
            for i in items { i.writeXML(&out, name: item) }
            out += "</\(name)>"
        case .object(let members):
            out += "<\(name)>"
            for (key, value) in members { value.writeXML(&out, name: key) }
            out += "</\(name)>"
        case .text(let s?): out += "<\(name)>\(Self.xmlEscaped(s))</\(name)>"
        case .integer(let i): out += "<\(name)>\(i)</\(name)>"
        case .number(let d): out += d.isFinite ? "<\(name)>\(d)</\(name)>" : "<\(name)/>"
        case .bool(let b): out += "<\(name)>\(b)</\(name)>"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, and `<`, `>`,
    /// `&` too, so that the text can never close a script or markup it is embedded in.
    static func jsonString(_ s: String, _ out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count)
                    + String(u.value, radix: 16)
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    out += "\\u00" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// Text as XML character data: the five special characters escaped, and characters XML 1.0
    /// does not allow (control characters, lone surrogates' replacements, U+FFFE/FFFF) dropped.
    static func xmlEscaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
