import FieldSyncCore
import Foundation

/// A map of reports: their `lat`/`long` as points in an SVG drawn on the server, each a link to
/// its report. Plain when no tile server is configured (equirectangular, framed to the points'
/// extent, the longitude scaled by the cosine of the middle latitude); on Web Mercator tiles
/// otherwise. Both draw through `frame`; only the projection and the background differ.
enum ConsoleMap {
    static let (width, height, margin) = (640.0, 360.0, 16.0)

    /// A report with a location.
    typealias Point = (report: Report, lat: Double, long: Double)

    /// The reports of the page that have a location.
    static func located(_ reports: [Report]) -> [Point] {
        reports.compactMap { r -> Point? in
            guard let lat = ConsoleExport.number(r.fields["lat"]), let long = ConsoleExport.number(r.fields["long"]),
                (-85...85).contains(lat), (-180...180).contains(long)
            else { return nil }
            return (r, lat, long)
        }
    }

    /// The map: on tiles when a tile server is configured, plain otherwise; nothing when no report
    /// of the page has a location.
    static func draw(_ w: inout HTMLWriter, _ reports: [Report], tiles: MapTiles?) {
        let points = located(reports)
        guard !points.isEmpty else { return }
        if let tiles { tiled(&w, points, tiles) } else { plain(&w, points) }
    }

    /// The figure: the frame, a background, the points where `place` puts them, a caption.
    static func frame(
        _ w: inout HTMLWriter, _ points: [Point], caption: String,
        background: (inout HTMLWriter) -> Void = { _ in }, place: (Double, Double) -> (x: Double, y: Double)
    ) {
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
                background(&w)
                for (r, lat, long) in points {
                    let p = place(lat, long)
                    w.element("a", ["href": "/console/reports/\(ConsoleQuery.encode(r.id.rawValue))"]) { w in
                        w.element(
                            "circle",
                            [
                                "cx": ConsolePage.decimal(p.x), "cy": ConsolePage.decimal(p.y), "r": "6",
                                "class": "point",
                            ]
                        ) { w in
                            w.element(
                                "title",
                                text: "\(r.id.rawValue): \(ConsolePage.display(r.fields["description"]).prefix(60))")
                        }
                    }
                }
            }
            w.element("figcaption", text: caption)
        }
    }

    /// The plain map: the points' box, centred and scaled to the frame.
    static func plain(_ w: inout HTMLWriter, _ points: [Point]) {
        let (lat0, lat1) = (points.map(\.lat).min()!, points.map(\.lat).max()!)
        let (long0, long1) = (points.map(\.long).min()!, points.map(\.long).max()!)
        let squeeze = max(0.2, cos((lat0 + lat1) / 2 * .pi / 180))
        let spanX = max(0.002, (long1 - long0) * squeeze)
        let spanY = max(0.002, lat1 - lat0)
        let scale = min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY)
        let dx = (width - (long1 - long0) * squeeze * scale) / 2
        let dy = (height - (lat1 - lat0) * scale) / 2
        let d = { (x: Double) in ConsolePage.decimal(x, 4) }
        frame(
            &w, points,
            caption: "\(points.count) reports with a location; latitude \(d(lat0))–\(d(lat1)), "
                + "longitude \(d(long0))–\(d(long1)). No map tiles are configured."
        ) { lat, long in
            (dx + (long - long0) * squeeze * scale, height - dy - (lat - lat0) * scale)
        }
    }

    /// Web Mercator pixel coordinates of a place at zoom `z` (256-pixel tiles).
    static func world(_ lat: Double, _ long: Double, _ z: Int) -> (x: Double, y: Double) {
        let n = 256 * pow(2, Double(z))
        let s = sin(lat * .pi / 180)
        return ((long + 180) / 360 * n, (0.5 - log((1 + s) / (1 - s)) / (4 * .pi)) * n)
    }

    /// The map on tiles: the deepest zoom (up to 17) at which the points fit, the tiles that cover
    /// the frame as SVG images, the points over them, and the tiles' attribution.
    static func tiled(_ w: inout HTMLWriter, _ points: [Point], _ tiles: MapTiles) {
        let (north, south) = (points.map(\.lat).max()!, points.map(\.lat).min()!)
        let (west, east) = (points.map(\.long).min()!, points.map(\.long).max()!)
        let zoom =
            (1...17).last { z in
                let (a, b) = (world(north, west, z), world(south, east, z))
                return b.x - a.x <= width - 2 * margin && b.y - a.y <= height - 2 * margin
            } ?? 1
        let (a, b) = (world(north, west, zoom), world(south, east, zoom))
        let origin = (x: (a.x + b.x - width) / 2, y: (a.y + b.y - height) / 2)
        let count = 1 << zoom
        frame(
            &w, points, caption: "\(points.count) reports with a location. Map tiles: \(tiles.attribution)",
            background: { w in
                let (tx0, tx1) = (Int(floor(origin.x / 256)), Int(floor((origin.x + width) / 256)))
                let (ty0, ty1) = (Int(floor(origin.y / 256)), Int(floor((origin.y + height) / 256)))
                for ty in ty0...ty1 where (0..<count).contains(ty) {
                    for tx in tx0...tx1 {
                        w.element(
                            "image",
                            [
                                "href": tiles.url(z: zoom, x: ((tx % count) + count) % count, y: ty),
                                "x": ConsolePage.decimal(Double(tx * 256) - origin.x),
                                "y": ConsolePage.decimal(Double(ty * 256) - origin.y), "width": "256", "height": "256",
                                "class": "tile",
                            ])
                    }
                }
            }
        ) { lat, long in
            let p = world(lat, long, zoom)
            return (p.x - origin.x, p.y - origin.y)
        }
    }
}
