public import Foundation

/// An in-memory replica: every change it holds, the merged reports and the conflict log.
///
/// A replica accepts changes in any order and any number of times. Changes whose causal
/// dependencies have not arrived yet wait in a buffer and are applied as soon as they can be;
/// a duplicate is ignored; a change that reuses a dot with different content is refused. The
/// merged state depends only on the set of changes applied, never on their order.
///
/// This is the reference implementation of the merge: the SQLite store runs the same
/// `ReportHead` logic, and the tests check that both agree.
public struct Replica: Sendable {
    /// The limits every change must respect.
    public let limits: ChangeLimits
    /// The merged head of every report.
    public private(set) var heads: [ReportID: ReportHead] = [:]
    /// Every applied change, in the order this replica applied them.
    public private(set) var log: [Change] = []
    /// For each device, where each of its applied changes sits in `log` (by seq − 1; −1 = absent).
    private var logSlots: [DeviceID: [Int]] = [:]
    private var notes: [ReportID: [Note]] = [:]
    private var media: [ReportID: [MediaAttachment]] = [:]
    private var resolvedLog: [String: Conflict] = [:]
    private var pending: [ReportID: [Change]] = [:]
    private var pendingByDot: [Dot: Change] = [:]
    /// Counters since this replica was created.
    public private(set) var stats = Stats()

    /// Counters of what a replica did.
    public struct Stats: Hashable, Sendable {
        /// Changes applied.
        public var applied = 0
        /// Changes received again and ignored.
        public var duplicates = 0
        /// Fields that went into conflict.
        public var conflictsOpened = 0
        /// Resolution records written.
        public var conflictsResolved = 0
    }

    /// What `receive` did with a change.
    public enum Outcome: Sendable, Equatable {
        /// Applied (with the number of waiting changes it released and applied too).
        case applied(released: Int)
        /// Held already; ignored.
        case duplicate
        /// Waiting for a change it depends on.
        case waiting
    }

    /// Creates an empty replica.
    public init(limits: ChangeLimits = .standard) { self.limits = limits }

    /// The number of changes waiting for their dependencies.
    public var pendingCount: Int { pendingByDot.count }

    /// The applied change with this dot.
    public func change(_ dot: Dot) -> Change? { Replica.slot(of: dot, in: logSlots).map { log[$0] } }

    /// Whether a change with this dot is applied or waiting.
    public func holds(_ dot: Dot) -> Bool { Replica.slot(of: dot, in: logSlots) != nil || pendingByDot[dot] != nil }

    private static func slot(of dot: Dot, in slots: [DeviceID: [Int]]) -> Int? {
        guard dot.seq > 0, let positions = slots[dot.device], dot.seq <= UInt64(positions.count) else { return nil }
        let i = positions[Int(dot.seq - 1)]
        return i < 0 ? nil : i
    }

    /// Reserves room for `count` more changes (a caller that knows a batch's size saves regrowing).
    public mutating func reserveCapacity(_ count: Int) {
        log.reserveCapacity(log.count + count)
    }

    /// Receives one change from anywhere: the local device, a peer or a server.
    @discardableResult
    public mutating func receive(_ change: Change) throws(FieldSyncError) -> Outcome {
        if let i = Replica.slot(of: change.dot, in: logSlots) {
            guard log[i] == change else { throw FieldSyncError.dotReuse(change.dot) }
            stats.duplicates += 1
            return .duplicate
        }
        if !pendingByDot.isEmpty, let waiting = pendingByDot[change.dot] {
            guard waiting == change else { throw FieldSyncError.dotReuse(change.dot) }
            stats.duplicates += 1
            return .duplicate
        }
        try limits.validate(change)
        let headIndex = heads.index(forKey: change.report)
        let readiness =
            headIndex.map { heads.values[$0].readiness(of: change) } ?? (change.isCreate ? .ready : .waiting)
        switch readiness {
        case .ready:
            apply(change, at: headIndex)
            return .applied(released: pending.isEmpty ? 0 : drain(change.report))
        case .waiting:
            pending[change.report, default: []].append(change)
            pendingByDot[change.dot] = change
            return .waiting
        case .duplicate:
            throw FieldSyncError.olderThanApplied(change)
        case .invalid(let error):
            throw error
        }
    }

    /// Receives many changes; stops at the first refused one.
    public mutating func receive(_ changes: some Collection<Change>) throws(FieldSyncError) {
        reserveCapacity(changes.count)
        for c in changes { try receive(c) }
    }

    /// Writes a new change as `device` and applies it here.
    @discardableResult
    public mutating func write(
        _ ops: [ReportOperation], to report: ReportID, county: String, as device: inout LocalDevice,
        wallMillis: UInt64
    ) throws(FieldSyncError) -> Change {
        let change = try device.makeChange(
            report: report, county: county, head: heads[report], ops: ops,
            wallMillis: wallMillis, limits: limits)
        try receive(change)
        return change
    }

    /// A report as people see it.
    public func report(_ id: ReportID) -> Report? {
        heads[id].map { Report(head: $0, notes: notes[id] ?? [], media: media[id] ?? []) }
    }

    /// Every report, sorted by id.
    public var reports: [Report] { heads.keys.sorted().compactMap(report) }

    /// Open conflicts, sorted by id.
    public var openConflicts: [Conflict] { heads.values.flatMap(\.openConflicts).sorted { $0.id < $1.id } }

    /// Resolved conflicts, sorted by id.
    public var resolvedConflicts: [Conflict] { resolvedLog.values.sorted { $0.id < $1.id } }

    /// The full merged state — reports, open and resolved conflicts — as canonical JSON. Two
    /// replicas holding the same changes return the same bytes.
    public func canonicalState() -> Data {
        MergedState(reports: reports, open: openConflicts, resolved: resolvedConflicts).canonicalJSON()
    }

    private func readiness(of change: Change) -> ReportHead.Readiness {
        guard let head = heads[change.report] else { return change.isCreate ? .ready : .waiting }
        return head.readiness(of: change)
    }

    private mutating func apply(_ change: Change, at headIndex: Dictionary<ReportID, ReportHead>.Index?) {
        let effects = applyToHead(change, at: headIndex)
        Replica.record(change.dot, at: self.log.count, in: &logSlots[change.dot.device, default: []])
        self.log.append(change)
        if !effects.notes.isEmpty { notes[change.report, default: []].append(contentsOf: effects.notes) }
        if !effects.media.isEmpty { media[change.report, default: []].append(contentsOf: effects.media) }
        for c in effects.resolved { resolvedLog[c.id] = c }
        stats.applied += 1
        stats.conflictsOpened += effects.openedCount
        stats.conflictsResolved += effects.resolved.count
    }

    /// Applies `change` to its head in place in the dictionary (one hash lookup per change, no
    /// copy). The log is shared with the lookup only for the duration of this call, so that the
    /// caller's append does not copy it.
    private mutating func applyToHead(
        _ change: Change, at headIndex: Dictionary<ReportID, ReportHead>.Index?
    ) -> ApplyEffects {
        let log = self.log, slots = self.logSlots
        let lookup = { (dot: Dot) -> Change? in Replica.slot(of: dot, in: slots).map { log[$0] } }
        guard let headIndex else {
            var head = ReportHead(creating: change)
            let effects = head.apply(change, lookup: lookup)
            heads[change.report] = head
            return effects
        }
        return heads.values[headIndex].apply(change, lookup: lookup)
    }

    private static func record(_ dot: Dot, at position: Int, in positions: inout [Int]) {
        let i = Int(dot.seq - 1)
        if i >= positions.count {
            positions.append(contentsOf: repeatElement(-1, count: i - positions.count + 1))
        }
        positions[i] = position
    }

    private mutating func drain(_ report: ReportID) -> Int {
        var released = 0
        var progress = true
        while progress, var waiting = pending[report], !waiting.isEmpty {
            progress = false
            var i = 0
            while i < waiting.count {
                let c = waiting[i]
                switch readiness(of: c) {
                case .ready:
                    waiting.remove(at: i)
                    pendingByDot[c.dot] = nil
                    apply(c, at: heads.index(forKey: c.report))
                    released += 1
                    progress = true
                case .waiting:
                    i += 1
                case .duplicate, .invalid:
                    // It can never apply here; it stays out of the state (the sender is told when
                    // it is sent directly, and a relayed copy is refused the same way).
                    waiting.remove(at: i)
                    pendingByDot[c.dot] = nil
                }
            }
            pending[report] = waiting.isEmpty ? nil : waiting
        }
        return released
    }
}
