import Foundation

/// A tile server for the console's map: a URL template with `{z}`, `{x}` and `{y}` (Web Mercator
/// tiles of 256 pixels, as OpenStreetMap's), and the attribution its licence asks for.
public struct MapTiles: Sendable, Hashable {
    /// The template, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    public var template: String
    /// The attribution shown under the map.
    public var attribution: String

    /// Tiles from `template`, or nil unless it is an http(s) URL with `{z}`, `{x}` and `{y}` and
    /// no quote or angle bracket.
    public init?(template: String, attribution: String) {
        guard template.hasPrefix("https://") || template.hasPrefix("http://"),
            ["{z}", "{x}", "{y}"].allSatisfy(template.contains), template.utf8.count <= 500,
            !template.contains(where: { "\"'<> ".contains($0) })
        else { return nil }
        self.template = template
        self.attribution = attribution
    }

    /// The origin (`scheme://host[:port]`) tiles come from, for the Content-Security-Policy.
    public var origin: String {
        let afterScheme = template.range(of: "://").map { template[$0.upperBound...] } ?? Substring(template)
        let host = afterScheme.prefix { $0 != "/" }
        return String(template.prefix(template.count - afterScheme.count)) + host
    }

    /// The URL of one tile.
    func url(z: Int, x: Int, y: Int) -> String {
        template.replacingOccurrences(of: "{z}", with: "\(z)").replacingOccurrences(of: "{x}", with: "\(x)")
            .replacingOccurrences(of: "{y}", with: "\(y)")
    }
}
