public import FieldSyncCore
public import FieldSyncStore

/// Moves changes between two stores directly, with no server: what two officers' devices do
/// when they meet in a village with no signal. Each side pulls what arrived at the other since
/// its last cursor, in bounded batches, so an interrupted exchange resumes where it stopped.
public enum PeerExchange {
    /// What one pull moved.
    public struct Transfer: Sendable, Hashable {
        /// Changes offered by the source.
        public var offered = 0
        /// The ingest result at the destination (refusals: set aside there, with their reasons).
        public var result = IngestResult()
    }

    /// Pulls into `destination` every change that arrived at `source` since the last pull,
    /// `batchSize` at a time, change by change: the destination refuses at the door what the
    /// server would certainly refuse — another county's changes (when `county` is given), and
    /// changes of devices it knows are revoked (the `revoked` setting a sync stores) that it does
    /// not already hold — and sets each refused change aside with its reason; the rest flows.
    @discardableResult
    public static func pull(
        from source: any DeviceStore, into destination: any DeviceStore, peerName: String,
        county: String? = nil, batchSize: Int = 500
    ) async throws(FieldSyncError) -> Transfer {
        var transfer = Transfer()
        var cursor = try await destination.cursor(for: peerName)
        let revoked = Set(
            try await destination.setting("revoked")?.split(separator: ",").compactMap {
                DeviceID(rawValue: String($0))
            } ?? [])
        while true {
            let page = try await source.changes(after: cursor, county: county, limit: batchSize)
            if page.changes.isEmpty { break }
            let offered = page.changes.map(\.signed)
            let door = try await doorRefusals(offered, county: county, revoked: revoked, destination: destination)
            let r = try await destination.ingest(signed: offered, preRefused: door, atomic: false, via: nil)
            transfer.offered += page.changes.count
            transfer.result.applied += r.applied
            transfer.result.duplicates += r.duplicates
            transfer.result.conflictsOpened += r.conflictsOpened
            transfer.result.conflictsResolved += r.conflictsResolved
            transfer.result.refusals += r.refusals
            cursor = page.cursor
            try await destination.setCursor(cursor, for: peerName)
            if !page.hasMore { break }
        }
        return transfer
    }

    /// What the destination refuses before looking further: what the server would refuse for sure.
    static func doorRefusals(
        _ changes: [SignedChange], county: String?, revoked: Set<DeviceID>,
        destination: any DeviceStore
    ) async throws(FieldSyncError) -> [Dot: FieldSyncError] {
        var refused: [Dot: FieldSyncError] = [:]
        for signed in changes {
            let c = signed.change
            if let county, c.county != county {
                refused[c.dot] = FieldSyncError(
                    .wrongCounty,
                    "change \(c.dot) belongs to county '\(c.county.prefix(64))'; this device syncs '\(county)' and takes only its own county's changes from peers"
                )
            } else if revoked.contains(c.dot.device), try await destination.storedChange(c.dot) == nil {
                refused[c.dot] = FieldSyncError(
                    .deviceRevoked,
                    "change \(c.dot) is by \(c.dot.device), which the server revoked; its changes are not taken from peers"
                )
            }
        }
        return refused
    }

    /// Exchanges changes both ways.
    @discardableResult
    public static func exchange(
        _ a: any DeviceStore, _ b: any DeviceStore, aName: String, bName: String,
        county: String? = nil
    ) async throws(FieldSyncError) -> (Transfer, Transfer) {
        let toB = try await pull(from: a, into: b, peerName: aName, county: county)
        let toA = try await pull(from: b, into: a, peerName: bName, county: county)
        return (toB, toA)
    }
}
