public import FieldSyncCore
public import Foundation

/// Exports of a filtered reports list: CSV (one row per report) and GeoJSON (one point per
/// report that has a location). Personal fields are left out unless asked for (and the caller may
/// see them); a CSV cell that a spreadsheet would run as a formula starts with a quote.
public enum ConsoleExport {
    /// The columns, in order (personal ones only when asked for).
    public static func columns(personal: Bool) -> [String] {
        [
            "id", "county", "lifecycle", "created", "updated", "service_code", "status", "ward", "priority",
            "assignee", "lat", "long", "address", "description", "tags", "conflicted",
        ] + (personal ? FieldName.personal.sorted() : [])
    }

    /// A report's value in a column.
    static func value(_ r: Report, _ column: String) -> String {
        switch column {
        case "id": r.id.rawValue
        case "county": r.county
        case "lifecycle": r.lifecycle
        case "created": ConsolePage.time(r.createdAt.millis)
        case "updated": ConsolePage.time(r.updatedAt.millis)
        case "tags": r.tags.joined(separator: " ")
        case "conflicted": r.conflicted.joined(separator: " ")
        default: ConsolePage.display(r.fields[column])
        }
    }

    /// RFC 4180 CSV with a header row; every cell quoted; formula-like cells defused.
    public static func csv(_ reports: [Report], personal: Bool) -> String {
        let cols = columns(personal: personal)
        var out = cols.map(cell).joined(separator: ",") + "\r\n"
        for r in reports { out += cols.map { cell(value(r, $0)) }.joined(separator: ",") + "\r\n" }
        return out
    }

    static func cell(_ s: String) -> String {
        var v = s
        if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { v = "'" + v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A GeoJSON FeatureCollection of the reports with a valid `lat` and `long`.
    public static func geoJSON(_ reports: [Report], personal: Bool) -> Data {
        let cols = columns(personal: personal).filter { $0 != "lat" && $0 != "long" }
        var features: [[String: Any]] = []
        for r in reports {
            guard let lat = number(r.fields["lat"]), let long = number(r.fields["long"]),
                (-90...90).contains(lat), (-180...180).contains(long)
            else { continue }
            var properties: [String: Any] = [:]
            for c in cols { properties[c] = value(r, c) }
            features.append([
                "type": "Feature", "geometry": ["type": "Point", "coordinates": [long, lat]],
                "properties": properties,
            ])
        }
        let collection: [String: Any] = ["type": "FeatureCollection", "features": features]
        return (try? JSONSerialization.data(withJSONObject: collection, options: [.sortedKeys])) ?? Data()
    }

    static func number(_ v: FieldValue?) -> Double? {
        switch v {
        case .double(let d)?: d.isFinite ? d : nil
        case .int(let i)?: Double(i)
        case .string(let s)?: Double(s).flatMap { $0.isFinite ? $0 : nil }
        default: nil
        }
    }
}
