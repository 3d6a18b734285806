public import Foundation

/// Everything a replica has merged — reports, open and resolved conflicts — in canonical order.
/// Its JSON form is the yardstick of convergence: replicas (in memory or on disk) holding the
/// same changes produce the same bytes.
public struct MergedState: Hashable, Sendable, Codable {
    /// Reports sorted by id.
    public var reports: [Report]
    /// Open conflicts sorted by id.
    public var open: [Conflict]
    /// Resolved conflicts sorted by id.
    public var resolved: [Conflict]

    /// Creates a state, sorting its parts.
    public init(reports: [Report], open: [Conflict], resolved: [Conflict]) {
        self.reports = reports.sorted { $0.id < $1.id }
        self.open = open.sorted { $0.id < $1.id }
        self.resolved = resolved.sorted { $0.id < $1.id }
    }

    /// The canonical JSON bytes (sorted keys).
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain value types cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }
}
