/// The authoring side of one device: its identity, the last sequence number it used and its
/// hybrid logical clock. It turns operations into changes on top of a report's head.
public struct LocalDevice: Hashable, Sendable, Codable {
    /// The device.
    public let id: DeviceID
    /// The last sequence number this device used (0 before its first change).
    public private(set) var lastSeq: UInt64
    /// The device's clock.
    public private(set) var clock: HybridTimestamp

    /// Creates a device that has written `lastSeq` changes.
    public init(id: DeviceID, lastSeq: UInt64 = 0, clock: HybridTimestamp = .zero) {
        self.id = id
        self.lastSeq = lastSeq
        self.clock = clock
    }

    /// Writes a change of `ops` to a report whose merged state here is `head` (`nil` to create
    /// it: then `ops` must start with `.create`). The change's context is everything this replica
    /// has applied of the report, and if the change writes a field that is in conflict here, it
    /// records that it resolves the conflict.
    public mutating func makeChange(
        report: ReportID, county: String, head: ReportHead?, ops: [ReportOperation],
        wallMillis: UInt64, limits: ChangeLimits = .standard
    ) throws(FieldSyncError) -> Change {
        if head == nil, let first = ops.first, !{ if case .create = first { return true } else { return false } }() {
            throw FieldSyncError(
                .unknownReport,
                "there is no report \(report) here: check the id (fieldsync report list), or sync to receive it")
        }
        // The clock carried from this device's last change is capped at the wall clock: a time far
        // ahead seen on one report (or a clock since corrected) does not move every later change.
        // Within a report, the change still comes after everything it saw.
        var hlc = HybridClock(
            last: clock.millis > wallMillis &+ Self.carriedClockSlackMillis
                ? HybridTimestamp(millis: wallMillis) : clock)
        if let head { hlc.observe(head.updatedAt) }
        let stamp = hlc.tick(wallMillis: wallMillis)
        var resolves: [FieldName: [Dot]] = [:]
        if let head {
            for op in ops {
                let field: FieldName
                switch op {
                case .set(let f, _): field = f
                case .withdraw, .restore: field = .lifecycle
                default: continue
                }
                if let open = head.openConflict(field) { resolves[field] = open.candidates.map(\.dot) }
            }
        }
        let change = Change(
            dot: Dot(device: id, seq: lastSeq + 1), report: report,
            county: head?.county ?? county, context: head?.version ?? VersionVector(),
            hlc: stamp, ops: ops.map(\.normalized), resolves: resolves)
        try limits.validate(change)
        if let head, case .invalid(let error) = head.readiness(of: change) { throw error }
        lastSeq += 1
        clock = stamp
        return change
    }

    /// How far ahead of the wall clock a device's own clock may carry over to its next change.
    public static let carriedClockSlackMillis: UInt64 = 60_000

    /// Moves the sequence number forward after learning (from a server) that this device's log
    /// is longer than the local copy — the recovery path for a device restored from a backup.
    public mutating func fastForward(toSeq seq: UInt64) {
        if seq > lastSeq { lastSeq = seq }
    }

    /// Takes a remote timestamp into account.
    public mutating func observe(_ stamp: HybridTimestamp) {
        if stamp > clock { clock = stamp }
    }
}
