public import FieldSyncCore

/// A GeoReport form (`application/x-www-form-urlencoded`, or a query string), decoded within
/// bounds: at most 200 fields, names of 100 bytes, values of 16 KiB, valid UTF-8, so that a
/// hostile body is refused with a clear error before anything reads it.
public struct Open311Form: Sendable, Hashable {
    /// Every value of each name, in order.
    public private(set) var values: [String: [String]] = [:]

    /// Decodes a form (values of at most `maxValue` bytes; the console's catalogue form allows
    /// more than GeoReport's 16 KiB).
    public init(_ bytes: some Collection<UInt8>, maxValue: Int = 16_384) throws(FieldSyncError) {
        var count = 0
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            count += 1
            guard count <= 200 else { throw Self.bad("a form has at most 200 fields") }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0], max: 100, what: "a field name")
            let value = parts.count > 1 ? try Self.decode(parts[1], max: maxValue, what: "field '\(name)'") : ""
            values[name, default: []].append(value)
        }
    }

    /// Adds values of a field (the query string's, beside a body's).
    public mutating func set(_ name: String, _ more: [String]) { values[name, default: []] += more }

    /// The first value of a field.
    public subscript(_ name: String) -> String? { values[name]?.first }

    /// The attributes given as `attribute[code]=v` or `attribute[code][]=v`, by code.
    public var attributes: [String: [String]] {
        var result: [String: [String]] = [:]
        for (name, vs) in values where name.hasPrefix("attribute[") {
            var code = name.dropFirst("attribute[".count)
            if code.hasSuffix("][]") { code = code.dropLast(3) } else if code.hasSuffix("]") { code = code.dropLast() }
            result[String(code), default: []] += vs
        }
        return result
    }

    static func decode(_ raw: some Collection<UInt8>, max: Int, what: String) throws(FieldSyncError) -> String {
        guard raw.count <= max * 3 else { throw bad("\(what) is too long") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i != raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "+") {
                bytes.append(32)
            } else if b == UInt8(ascii: "%") {
                let h = raw.index(after: i)
                guard h != raw.endIndex, raw.index(after: h) != raw.endIndex,
                    let hi = hex(raw[h]), let lo = hex(raw[raw.index(after: h)])
                else { throw bad("\(what) has a bad %-escape") }
                bytes.append(hi << 4 | lo)
                i = raw.index(after: raw.index(after: h))
                continue
            } else {
                bytes.append(b)
            }
            i = raw.index(after: i)
        }
        guard bytes.count <= max else { throw bad("\(what) is longer than \(max) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("\(what) is not UTF-8") }
        return text
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func bad(_ message: String) -> FieldSyncError { FieldSyncError(.invalidRequest, message) }
}
