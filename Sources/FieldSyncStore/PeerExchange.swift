import FieldSyncCore

/// Moves changes between two stores directly, with no server: what two officers' devices do
/// when they meet in a village with no signal. Each side pulls what arrived at the other since
/// its last cursor, in bounded batches, so an interrupted exchange resumes where it stopped.
public enum PeerExchange {
    /// What one pull moved.
    public struct Transfer: Sendable, Hashable {
        /// Changes offered by the source.
        public var offered = 0
        /// The ingest result at the destination.
        public var result = IngestResult()
    }

    /// Pulls into `destination` every change that arrived at `source` since the last pull,
    /// `batchSize` at a time. Changes outside `county` (when given) are not offered.
    @discardableResult
    public static func pull(from source: SQLiteStore, into destination: SQLiteStore, peerName: String,
                            county: String? = nil, batchSize: Int = 500) async throws(FieldSyncError) -> Transfer {
        var transfer = Transfer()
        var cursor = try await destination.cursor(for: peerName)
        while true {
            let page = try await source.changes(after: cursor, county: county, limit: batchSize)
            if page.changes.isEmpty { break }
            let r = try await destination.ingest(signed: page.changes.map(\.signed))
            transfer.offered += page.changes.count
            transfer.result.applied += r.applied
            transfer.result.duplicates += r.duplicates
            transfer.result.conflictsOpened += r.conflictsOpened
            transfer.result.conflictsResolved += r.conflictsResolved
            cursor = page.cursor
            try await destination.setCursor(cursor, for: peerName)
            if !page.hasMore { break }
        }
        return transfer
    }

    /// Exchanges changes both ways.
    public static func exchange(_ a: SQLiteStore, _ b: SQLiteStore, aName: String, bName: String) async throws(FieldSyncError) -> (Transfer, Transfer) {
        let toB = try await pull(from: a, into: b, peerName: aName)
        let toA = try await pull(from: b, into: a, peerName: bName)
        return (toB, toA)
    }
}
