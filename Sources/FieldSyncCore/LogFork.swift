/// The rules a device follows when its own log forked — it was restored from an older backup,
/// or its store was copied to another phone, and it wrote changes under sequence numbers the
/// server already holds with other content. I/O-free; `DeviceSync` drives it.
///
/// Recovery keeps everything: the device takes back the server's changes of its log, and moves
/// its own diverging changes, in order, onto fresh dots above the server's head — same report,
/// same operations, same timestamps, contexts kept except that its own earlier changes are
/// renumbered. Where the server's lineage wrote the same report, the moved change is ordered
/// after it (one author's writes to one report form a chain), so on a field both lineages wrote
/// the moved value is the current one and the other stays in the report's history.
public enum LogFork {
    /// The first sequence number at which `local` and `server` (both this device's own changes,
    /// each sorted by seq, from the same starting seq) hold different changes; `nil` if none.
    public static func divergence(local: [Change], server: [Change]) -> UInt64? {
        var theirs: [UInt64: Change] = [:]
        for c in server { theirs[c.dot.seq] = c }
        return local.first { c in theirs[c.dot.seq].map { $0 != c } ?? false }?.dot.seq
    }

    /// `moving` (this device's changes from the fork point on, sorted by seq) renumbered onto
    /// `held + 1 …`, after `lineage` (the server's changes of this device's log from the fork
    /// point on).
    public static func moved(_ moving: [Change], from fork: UInt64, above held: UInt64, lineage: [Change]) -> [Change] {
        guard let me = moving.first?.dot.device else { return [] }
        var renumbered: [UInt64: UInt64] = [:]
        for (i, c) in moving.enumerated() { renumbered[c.dot.seq] = held + UInt64(i) + 1 }
        var lineageHead: [ReportID: UInt64] = [:]
        for c in lineage { lineageHead[c.report] = max(lineageHead[c.report] ?? 0, c.dot.seq) }
        // A report both lineages created under one id (ids made from the device and its seq) is
        // two reports: the moved one takes a new id.
        let createdThere = Set(lineage.filter(\.isCreate).map(\.report))
        var renamed: [ReportID: ReportID] = [:]
        for c in moving where c.isCreate && createdThere.contains(c.report) {
            renamed[c.report] = renamedReport(c.report, seq: renumbered[c.dot.seq]!)
        }
        return moving.map { c in
            var moved = c
            moved.dot = Dot(device: me, seq: renumbered[c.dot.seq]!)
            var context: [DeviceID: UInt64] = [:]
            for e in c.context.entries { context[e.device] = e.seq }
            if let id = renamed[c.report] {
                // Only this lineage wrote the renamed report.
                moved.report = id
                context = context.filter { $0.key == me }
            }
            if let own = context[me], own >= fork, let seq = renumbered[own] {
                context[me] = seq
            } else if renamed[c.report] == nil, let theirs = lineageHead[c.report], theirs > context[me] ?? 0 {
                context[me] = theirs
            }
            moved.context = VersionVector(context)
            moved.resolves = c.resolves.mapValues { dots in
                dots.map { d in
                    d.device == me && d.seq >= fork ? renumbered[d.seq].map { Dot(device: me, seq: $0) } ?? d : d
                }
            }
            return moved
        }
    }

    /// A new id for a moved report whose id the other lineage used: the id with `-m<seq>`.
    static func renamedReport(_ id: ReportID, seq: UInt64) -> ReportID {
        let suffix = "-m\(seq)"
        return ReportID(rawValue: String(id.rawValue.prefix(max(1, 64 - suffix.count))) + suffix) ?? id
    }

    /// `changes` (not yet pushed) with every timestamp later than `limitMillis` or earlier than
    /// `floorMillis` moved to `nowMillis`, keeping their order among themselves (ranked by
    /// counter): changes written while the clock ran ahead, or before it was ever set, corrected
    /// before they leave the device. Same dots.
    public static func clamped(
        _ changes: [Change], above limitMillis: UInt64, below floorMillis: UInt64 = 0,
        to nowMillis: UInt64
    ) -> [Change] {
        let wrong = changes.indices.filter {
            changes[$0].hlc.millis > limitMillis || changes[$0].hlc.millis < floorMillis
        }
        .sorted { changes[$0].hlc < changes[$1].hlc }
        var fixed = changes
        for (rank, i) in wrong.enumerated() {
            fixed[i].hlc = HybridTimestamp(millis: nowMillis, counter: UInt32(clamping: rank))
        }
        return fixed
    }
}
