import FieldSyncCore
import Foundation

/// A plain map of reports (no tiles): their `lat`/`long` as points in an SVG drawn on the
/// server, each a link to its report, framed to the points' extent (equirectangular, with the
/// longitude scaled by the cosine of the middle latitude so distances look right near the equator).
enum ConsoleMap {
    static let (width, height, margin) = (640.0, 360.0, 16.0)

    /// The reports of the page that have a location.
    static func located(_ reports: [Report]) -> [(Report, Double, Double)] {
        reports.compactMap { r -> (Report, Double, Double)? in
            guard let lat = ConsoleExport.number(r.fields["lat"]), let long = ConsoleExport.number(r.fields["long"]),
                (-85...85).contains(lat), (-180...180).contains(long)
            else { return nil }
            return (r, lat, long)
        }
    }

    /// The map: on tiles when a tile server is configured, plain otherwise; nothing when no report
    /// of the page has a location.
    static func draw(_ w: inout HTMLWriter, _ reports: [Report], tiles: MapTiles?) {
        if let tiles { tiled(&w, reports, tiles) } else { plain(&w, reports) }
    }

    /// The plain map.
    static func plain(_ w: inout HTMLWriter, _ reports: [Report]) {
        let points = located(reports)
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

    /// Web Mercator pixel coordinates of a place at zoom `z` (256-pixel tiles).
    static func world(_ lat: Double, _ long: Double, _ z: Int) -> (x: Double, y: Double) {
        let n = 256 * pow(2, Double(z))
        let s = sin(lat * .pi / 180)
        return ((long + 180) / 360 * n, (0.5 - log((1 + s) / (1 - s)) / (4 * .pi)) * n)
    }

    /// The map on tiles: the deepest zoom (up to 17) at which the points fit, the tiles that cover
    /// the frame as SVG images, the points over them, and the tiles' attribution.
    static func tiled(_ w: inout HTMLWriter, _ reports: [Report], _ tiles: MapTiles) {
        let points = located(reports)
        guard !points.isEmpty else { return }
        let lats = points.map(\.1)
        let longs = points.map(\.2)
        let zoom =
            (1...17).last { z in
                let (a, b) = (world(lats.max()!, longs.min()!, z), world(lats.min()!, longs.max()!, z))
                return b.x - a.x <= width - 2 * margin && b.y - a.y <= height - 2 * margin
            } ?? 1
        let (a, b) = (world(lats.max()!, longs.min()!, zoom), world(lats.min()!, longs.max()!, zoom))
        let origin = ((a.x + b.x - width) / 2, (a.y + b.y - height) / 2)
        let count = 1 << zoom
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
                let (tx0, tx1) = (Int(floor(origin.0 / 256)), Int(floor((origin.0 + width) / 256)))
                let (ty0, ty1) = (Int(floor(origin.1 / 256)), Int(floor((origin.1 + height) / 256)))
                for ty in ty0...ty1 where (0..<count).contains(ty) {
                    for tx in tx0...tx1 {
                        let wrapped = ((tx % count) + count) % count
                        w.element(
                            "image",
                            [
                                "href": tiles.url(z: zoom, x: wrapped, y: ty), "x": format(Double(tx * 256) - origin.0),
                                "y": format(Double(ty * 256) - origin.1), "width": "256", "height": "256",
                                "class": "tile",
                            ])
                    }
                }
                for (r, lat, long) in points {
                    let p = world(lat, long, zoom)
                    w.element("a", ["href": "/console/reports/\(ConsoleQuery.encode(r.id.rawValue))"]) { w in
                        w.element(
                            "circle",
                            ["cx": format(p.x - origin.0), "cy": format(p.y - origin.1), "r": "6", "class": "point"]
                        ) { w in
                            w.element(
                                "title",
                                text: "\(r.id.rawValue): \(ConsolePage.display(r.fields["description"]).prefix(60))")
                        }
                    }
                }
            }
            w.element("figcaption", text: "\(points.count) reports with a location. Map tiles: \(tiles.attribution)")
        }
    }
}
