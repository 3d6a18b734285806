import FieldSyncCore
import Foundation

/// A plain map of reports (no tiles): their `lat`/`long` as points in an SVG drawn on the
/// server, each a link to its report, framed to the points' extent (equirectangular, with the
/// longitude scaled by the cosine of the middle latitude so distances look right near the equator).
enum ConsoleMap {
    static let (width, height, margin) = (640.0, 360.0, 16.0)

    /// The map, or nothing when no report of the page has a location.
    static func plain(_ w: inout HTMLWriter, _ reports: [Report]) {
        let points = reports.compactMap { r -> (Report, Double, Double)? in
            guard let lat = ConsoleExport.number(r.fields["lat"]), let long = ConsoleExport.number(r.fields["long"]),
                (-90...90).contains(lat), (-180...180).contains(long)
            else { return nil }
            return (r, lat, long)
        }
        guard !points.isEmpty else { return }
        let lats = points.map(\.1)
        let longs = points.map(\.2)
        let mid = (lats.min()! + lats.max()!) / 2
        let squeeze = max(0.2, cos(mid * .pi / 180))
        let spanX = max(0.002, (longs.max()! - longs.min()!) * squeeze)
        let spanY = max(0.002, lats.max()! - lats.min()!)
        let scale = min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY)
        w.element("figure", ["class": "map"]) { w in
            w.element(
                "svg",
                [
                    "role": "img", "aria-label": "Map of the \(points.count) reports on this page with a location",
                    "viewBox": "0 0 \(Int(width)) \(Int(height))", "width": "100%",
                    "xmlns": "http://www.w3.org/2000/svg",
                ]
            ) { w in
                w.element(
                    "rect", ["x": "0", "y": "0", "width": "\(Int(width))", "height": "\(Int(height))", "class": "land"])
                // The points' box, centred in the map.
                let dx = (width - (longs.max()! - longs.min()!) * squeeze * scale) / 2
                let dy = (height - (lats.max()! - lats.min()!) * scale) / 2
                for (r, lat, long) in points {
                    let x = dx + (long - longs.min()!) * squeeze * scale
                    let y = height - dy - (lat - lats.min()!) * scale
                    w.element("a", ["href": "/console/reports/\(ConsoleQuery.encode(r.id.rawValue))"]) { w in
                        w.element("circle", ["cx": format(x), "cy": format(y), "r": "6", "class": "point"]) { w in
                            w.element(
                                "title",
                                text: "\(r.id.rawValue): \(ConsolePage.display(r.fields["description"]).prefix(60))")
                        }
                    }
                }
            }
            w.element(
                "figcaption",
                text:
                    "\(points.count) reports with a location; latitude \(format(lats.min()!, 4))–\(format(lats.max()!, 4)), "
                    + "longitude \(format(longs.min()!, 4))–\(format(longs.max()!, 4)). No map tiles are configured.")
        }
    }

    static func format(_ x: Double, _ decimals: Int = 1) -> String {
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let n = Int64((x * p).rounded())
        let whole = abs(n) / Int64(p)
        let frac = String(abs(n) % Int64(p))
        return (n < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: decimals - frac.count) + frac
    }
}
