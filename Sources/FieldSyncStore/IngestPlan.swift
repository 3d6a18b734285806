import FieldSyncCore
import Foundation

/// One batch's ingest worked out in memory, for a store that loads what the batch touches first
/// and writes the outcome after (`PostgresStore`): which changes are new, the report heads they
/// merge into, duplicates, refusals, notes, media and resolved conflicts. The rules are the
/// SQLite store's, change for change: causal readiness, dense device logs, duplicates compared
/// byte for byte, and a precise reason for the first change that cannot be applied.
public struct IngestPlan: Sendable {
    /// Earlier changes of a report that a merge needs (to describe a conflict): load them into
    /// `lookupCache` (or `absent`), `reset()`, and run again.
    public struct NeedChanges: Error, Sendable {
        /// The dots to load.
        public var dots: [Dot]
    }

    /// The batch is refused because of `change`; nothing of it may be written.
    public struct Refusal: Error, Sendable {
        /// The change refused.
        public var change: Change
        /// Why.
        public var error: FieldSyncError
    }

    /// A change to insert.
    public struct Row: Sendable {
        /// The change.
        public var change: Change
        /// Its canonical binary form.
        public var body: Data
        /// Its signature, or its run's (on a run's last change).
        public var signature: Data?
        /// How many changes the signature covers.
        public var run: Int
    }

    /// The limits (already checked by the caller; kept for completeness of error messages).
    public var limits: ChangeLimits
    /// Input: the stored heads of the batch's reports.
    public var heads: [ReportID: ReportHead] = [:]
    /// Input: the stored bodies of the batch's dots that are held already.
    public var existing: [Dot: Data] = [:]
    /// Input: the highest sequence number held of each author's log.
    public var highest: [DeviceID: UInt64] = [:]
    /// Input: earlier changes loaded for merges.
    public var lookupCache: [Dot: Change] = [:]
    /// Input: dots looked up and not held.
    public var absent: Set<Dot> = []

    /// Output: the changes to insert, in the order they were applied.
    public private(set) var rows: [Row] = []
    /// Output: reports whose heads changed.
    public private(set) var dirty: Set<ReportID> = []
    /// Output: new changes per author.
    public private(set) var counts: [DeviceID: Int] = [:]
    /// Output: notes appended.
    public private(set) var notes: [(ReportID, Note)] = []
    /// Output: media attached.
    public private(set) var media: [(ReportID, MediaAttachment)] = []
    /// Output: conflicts resolved, with the resolving change.
    public private(set) var resolved: [(Conflict, Change)] = []
    /// Output: the counts.
    public private(set) var result = IngestResult()

    private var baseline: (heads: [ReportID: ReportHead], highest: [DeviceID: UInt64])?
    private var newByDot: [Dot: Change] = [:]

    /// A plan with nothing loaded.
    public init(limits: ChangeLimits) {
        self.limits = limits
    }

    /// Forgets every output (and restores the loaded heads) before another `run`.
    public mutating func reset() {
        if let baseline {
            heads = baseline.heads
            highest = baseline.highest
        }
        rows = []; dirty = []; counts = [:]; notes = []; media = []; resolved = []; result = IngestResult(); newByDot = [:]
    }

    /// Works out the batch. Throws `NeedChanges` or `Refusal`.
    public mutating func run(_ changes: [SignedChange]) throws {
        if baseline == nil { baseline = (heads, highest) }
        var remaining = changes
        while !remaining.isEmpty {
            var waiting: [SignedChange] = []
            for signed in remaining {
                let c = signed.change
                let readiness = heads[c.report].map { $0.readiness(of: c) } ?? (c.isCreate ? .ready : .waiting)
                switch readiness {
                case .ready:
                    if c.dot.seq > (highest[c.dot.device] ?? 0) + 1 { waiting.append(signed); continue }
                    if existing[c.dot] != nil || newByDot[c.dot] != nil {
                        // The dot is held already, for another report: a device reissued a sequence number.
                        throw Refusal(change: c, error: .dotReuse(c.dot))
                    }
                    try apply(signed)
                case .duplicate:
                    guard let held = existing[c.dot] ?? newByDot[c.dot].map({ ChangeCodec.encodeData($0) }) else {
                        throw Refusal(change: c, error: FieldSyncError(.invalidContext, "change \(c.dot) is older than a change of the same device already applied to report \(c.report), which did not include it; the device's log is inconsistent"))
                    }
                    guard held == ChangeCodec.encodeData(c) else { throw Refusal(change: c, error: .dotReuse(c.dot)) }
                    result.duplicates += 1
                case .waiting:
                    waiting.append(signed)
                case .invalid(let error):
                    throw Refusal(change: c, error: error)
                }
            }
            if waiting.count == remaining.count { try refuseStuck(waiting.map(\.change)) }
            remaining = waiting
        }
    }

    private mutating func apply(_ signed: SignedChange) throws {
        let c = signed.change
        var missing: [Dot] = []
        let effects: ApplyEffects
        if var head = heads.removeValue(forKey: c.report) {
            let known = newByDot, cache = lookupCache, absent = absent
            effects = head.apply(c) { dot in
                if let m = known[dot] ?? cache[dot] { return m }
                if !absent.contains(dot) { missing.append(dot) }
                return nil
            }
            heads[c.report] = head
        } else {
            var head = ReportHead(creating: c)
            effects = head.apply(c) { _ in nil }   // a creating change refers to no earlier change
            heads[c.report] = head
        }
        if !missing.isEmpty { throw NeedChanges(dots: missing) }
        rows.append(Row(change: c, body: ChangeCodec.encodeData(c), signature: signed.signature, run: signed.run))
        newByDot[c.dot] = c
        dirty.insert(c.report)
        highest[c.dot.device] = max(highest[c.dot.device] ?? 0, c.dot.seq)
        counts[c.dot.device, default: 0] += 1
        result.applied += 1
        result.conflictsOpened += effects.openedCount
        result.conflictsResolved += effects.resolved.count
        for note in effects.notes { notes.append((c.report, note)) }
        for m in effects.media { media.append((c.report, m)) }
        for conflict in effects.resolved { resolved.append((conflict, c)) }
    }

    /// None of `stuck` can be applied: say precisely why, for the first one.
    private func refuseStuck(_ stuck: [Change]) throws -> Never {
        for c in stuck where existing[c.dot] != nil || newByDot[c.dot] != nil {
            throw Refusal(change: c, error: .dotReuse(c.dot))
        }
        let c = stuck[0]
        if let gap = stuck.first(where: { $0.dot.seq > (highest[$0.dot.device] ?? 0) + 1 }) {
            let held = highest[gap.dot.device] ?? 0
            throw Refusal(change: gap, error: FieldSyncError(.sequenceGap, "change \(gap.dot) leaves a gap: the log of \(gap.dot.device) is held up to seq \(held); send the changes from seq \(held + 1) first"))
        }
        guard let head = heads[c.report] else {
            throw Refusal(change: c, error: FieldSyncError(.missingDependency, "change \(c.dot) is for report \(c.report), which this store does not hold; send the change that creates it (and every change it depends on) in the same or an earlier batch"))
        }
        let missing = c.context.entries.filter { head.version[$0.device] < $0.seq }.map { "\($0.device):\($0.seq)" }
        throw Refusal(change: c, error: FieldSyncError(.missingDependency, "change \(c.dot) depends on changes to report \(c.report) this store does not hold (\(missing.prefix(5).joined(separator: ", "))); send them in the same or an earlier batch"))
    }
}

extension FieldSyncError {
    /// The refusal of a dot held already with different content.
    public static func dotReuse(_ dot: Dot) -> FieldSyncError {
        FieldSyncError(.dotReuse, "dot \(dot) is already held with different content: the device has reissued a sequence number, probably after being restored from an old backup. Nothing was changed. Recover by fetching the device's own log from the server and continuing after its highest sequence number (protocol/causality.md, 'Restored devices')")
    }
}

/// The lower-cased text an operator can search in a report: description, address, category,
/// status notes, ward, tags. Never personal data.
public enum SearchText {
    /// The search text of a head with its current values.
    public static func of(_ head: ReportHead, _ values: [FieldName: FieldValue]) -> String {
        let fields: [FieldName] = [.description, .address, .serviceCode, .serviceName, .statusNotes, .ward]
        return (fields.compactMap { values[$0]?.stringValue } + head.tagList).joined(separator: " ").lowercased()
    }
}
