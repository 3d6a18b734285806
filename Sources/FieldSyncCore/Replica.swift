import Foundation

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
    private var indexByDot: [Dot: Int] = [:]
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
    public func change(_ dot: Dot) -> Change? { indexByDot[dot].map { log[$0] } }

    /// Whether a change with this dot is applied or waiting.
    public func holds(_ dot: Dot) -> Bool { indexByDot[dot] != nil || pendingByDot[dot] != nil }

    /// Receives one change from anywhere: the local device, a peer or a server.
    @discardableResult
    public mutating func receive(_ change: Change) throws(FieldSyncError) -> Outcome {
        if let i = indexByDot[change.dot] {
            guard log[i] == change else { throw Replica.dotReuse(change.dot) }
            stats.duplicates += 1
            return .duplicate
        }
        if !pendingByDot.isEmpty, let waiting = pendingByDot[change.dot] {
            guard waiting == change else { throw Replica.dotReuse(change.dot) }
            stats.duplicates += 1
            return .duplicate
        }
        try limits.validate(change)
        switch readiness(of: change) {
        case .ready:
            apply(change)
            return .applied(released: pending.isEmpty ? 0 : drain(change.report))
        case .waiting:
            pending[change.report, default: []].append(change)
            pendingByDot[change.dot] = change
            return .waiting
        case .duplicate:
            throw FieldSyncError(.invalidContext, "change \(change.dot) is older than a change of the same device already applied to report \(change.report), which did not include it")
        case .invalid(let error):
            throw error
        }
    }

    /// Receives many changes; stops at the first refused one.
    public mutating func receive(_ changes: some Sequence<Change>) throws(FieldSyncError) {
        for c in changes { try receive(c) }
    }

    /// Writes a new change as `device` and applies it here.
    @discardableResult
    public mutating func write(_ ops: [ReportOperation], to report: ReportID, county: String, as device: inout LocalDevice,
                               wallMillis: UInt64) throws(FieldSyncError) -> Change {
        let change = try device.makeChange(report: report, county: county, head: heads[report], ops: ops,
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

    private mutating func apply(_ change: Change) {
        // Take the head out of the dictionary so that it is mutated in place, not copied.
        var head = heads.removeValue(forKey: change.report) ?? ReportHead(creating: change)
        let effects = head.apply(change) { dot in self.change(dot) }
        heads[change.report] = head
        indexByDot[change.dot] = log.count
        log.append(change)
        if !effects.notes.isEmpty { notes[change.report, default: []].append(contentsOf: effects.notes) }
        if !effects.media.isEmpty { media[change.report, default: []].append(contentsOf: effects.media) }
        for c in effects.resolved { resolvedLog[c.id] = c }
        stats.applied += 1
        stats.conflictsOpened += effects.openedCount
        stats.conflictsResolved += effects.resolved.count
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
                    apply(c)
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

    static func dotReuse(_ dot: Dot) -> FieldSyncError {
        FieldSyncError(.dotReuse, "dot \(dot) is already used by a different change. The device has probably been restored from an old backup: it must fetch its own log from the server and continue after its highest sequence number (see protocol/causality.md, 'Restored devices')")
    }
}
