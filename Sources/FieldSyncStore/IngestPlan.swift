package import FieldSyncCore
package import Foundation

/// Where an `IngestPlan` reads what a batch touches: the store's heads, log heads, held changes.
/// `SQLiteStore` reads its file on demand; `PostgresStore` loads the batch's rows in one query
/// first and answers from them. The plan never writes: the engine writes what it decided.
package protocol IngestSource {
    /// The stored head of a report, `nil` if the store does not hold it.
    mutating func head(_ id: ReportID) throws -> ReportHead?
    /// The highest sequence number held of a device's log (0 if none).
    mutating func highestSeq(_ device: DeviceID) throws -> UInt64
    /// The stored canonical form of the change with this dot, `nil` if none is held.
    mutating func body(_ dot: Dot) throws -> Data?
    /// An earlier stored change, to describe a conflict it was a candidate of (`nil` if not held).
    mutating func change(_ dot: Dot) throws -> Change?
}

/// One batch's ingest worked out in memory: the rules that decide what a store accepts, written
/// once for every engine and for crash recovery. Which changes are new, the report heads they
/// merge into, duplicates, per-change refusals (each with its own reason; a change that depends
/// on a refused one is refused too, naming it), notes, media and resolved conflicts.
///
/// The rules: a change applies when its report holds everything its context names (and, on a
/// server, when its author's log is held up to the seq before it); a change held already is a
/// duplicate if byte for byte the same and a reused dot otherwise; a change that can never apply
/// is refused alone, and the rest of the batch goes on. I/O-free: reads go through `IngestSource`.
package struct IngestPlan: Sendable {
    /// How the store holds logs.
    package enum Mode: Sendable, Hashable {
        /// Every device's log is a dense prefix `1...n` (a gap waits, then is refused).
        case server
        /// Logs may have gaps (a device holds what peers and the server gave it).
        case device
        /// Changes the store holds already, applied again in arrival order (crash recovery): each
        /// must apply, or the store is corrupt.
        case replay
    }

    /// A change to insert.
    package struct Row: Sendable {
        /// The change.
        package var change: Change
        /// Its canonical binary form.
        package var body: Data
        /// Its signature, or its run's (on a run's last change).
        package var signature: Data?
        /// How many changes the signature covers.
        package var run: Int
    }

    /// The limits every change must respect.
    package let limits: ChangeLimits
    /// How the store holds logs.
    package let mode: Mode

    /// Output: the changes to insert, in the order they were applied.
    package private(set) var rows: [Row] = []
    /// Output: the working heads (every report the batch touched).
    package private(set) var heads: [ReportID: ReportHead] = [:]
    /// Output: reports whose heads changed.
    package private(set) var dirty: Set<ReportID> = []
    /// Output: the highest sequence number of each author's log after the batch.
    package private(set) var highest: [DeviceID: UInt64] = [:]
    /// Output: new changes per author.
    package private(set) var counts: [DeviceID: Int] = [:]
    /// Output: notes appended.
    package private(set) var notes: [(ReportID, Note)] = []
    /// Output: media attached.
    package private(set) var media: [(ReportID, MediaAttachment)] = []
    /// Output: conflicts resolved, with the resolving change.
    package private(set) var resolved: [(Conflict, Change)] = []
    /// Output: the counts.
    package private(set) var result = IngestResult()
    /// Output: the refused changes, in the order they were refused, with the change itself.
    package private(set) var refused: [(RefusedChange, Change)] = []

    private var loadedHeads: [ReportID: ReportHead] = [:]
    private var unheld: Set<ReportID> = []
    private var loadedHighest: [DeviceID: UInt64] = [:]
    private var newByDot: [Dot: Change] = [:]
    private var refusedSeqs: [DeviceID: [UInt64]] = [:]
    private var refusedCreates: [ReportID: Dot] = [:]
    private var refusedCodes: [Dot: FieldSyncError.Code] = [:]

    /// A plan with nothing loaded.
    package init(limits: ChangeLimits, mode: Mode = .server) {
        self.limits = limits
        self.mode = mode
    }

    /// Forgets every output before another `run` (what was read from the source is kept).
    package mutating func reset() {
        rows = []; heads = [:]; dirty = []; highest = [:]; counts = [:]; notes = []; media = []; resolved = []
        result = IngestResult(); refused = []; newByDot = [:]; refusedSeqs = [:]; refusedCreates = [:];
        refusedCodes = [:]
    }

    /// Works out the batch. `preRefused` are changes the caller refused already (signature,
    /// author, county): they are reported as refused, and changes depending on them too. Throws
    /// only what the source throws (and, in replay mode, a change that cannot be replayed).
    package mutating func run<S: IngestSource>(
        _ changes: [SignedChange], preRefused: [Dot: FieldSyncError] = [:],
        from source: inout S
    ) throws {
        var remaining: [SignedChange] = []
        remaining.reserveCapacity(changes.count)
        for signed in changes {
            if let error = preRefused[signed.change.dot] {
                refuse(signed.change, error)
            } else if mode != .replay, let error = limitError(signed.change) {
                refuse(signed.change, error)
            } else {
                remaining.append(signed)
            }
        }
        while !remaining.isEmpty {
            var waiting: [SignedChange] = []
            for signed in remaining where try !step(signed, &source) { waiting.append(signed) }
            if waiting.count == remaining.count {
                try refuseStuck(waiting.map(\.change), &source)
                return
            }
            remaining = waiting
        }
    }

    /// Decides one change: applied, duplicate or refused (`true`), or waiting (`false`).
    private mutating func step<S: IngestSource>(_ signed: SignedChange, _ source: inout S) throws -> Bool {
        let c = signed.change
        // Read in place (no copy of the head): `workingHead` only loads it on first use.
        let index = try headIndex(c.report, &source)
        let readiness = index.map { heads.values[$0].readiness(of: c) } ?? (c.isCreate ? .ready : .waiting)
        switch readiness {
        case .ready:
            if mode == .replay {
                try apply(signed, &source)
                return true
            }
            let held = try workingHighest(c.dot.device, &source)
            // (A dot applied in this batch is at or below its log's head: `apply` moves the head.)
            if c.dot.seq <= held {
                if try isHeld(c.dot, below: held, &source) {
                    refuse(c, .dotReuse(c.dot))
                    return true
                }
            } else if mode == .server && c.dot.seq > held + 1 {
                return false
            }
            try apply(signed, &source)
        case .duplicate:
            guard mode != .replay else { throw Self.unreplayable(c) }
            let body = ChangeCodec.encodeData(c)
            guard let held = try newByDot[c.dot].map({ ChangeCodec.encodeData($0) }) ?? source.body(c.dot) else {
                refuse(c, .olderThanApplied(c))
                return true
            }
            if held == body {
                result.duplicates += 1
            } else {
                refuse(c, .dotReuse(c.dot))
            }
        case .waiting:
            return false
        case .invalid(let error):
            guard mode != .replay else { throw Self.unreplayable(c) }
            refuse(c, error)
        }
        return true
    }

    /// Whether a dot at or below its log's held head is held (on a server, logs are dense).
    private func isHeld<S: IngestSource>(_ dot: Dot, below held: UInt64, _ source: inout S) throws -> Bool {
        if newByDot[dot] != nil { return true }
        if mode == .server { return dot.seq <= held }
        return try source.body(dot) != nil
    }

    private func limitError(_ c: Change) -> FieldSyncError? {
        do throws(FieldSyncError) {
            try limits.validate(c)
            return nil
        } catch {
            return error
        }
    }

    private mutating func workingHead<S: IngestSource>(_ id: ReportID, _ source: inout S) throws -> ReportHead? {
        if let h = heads[id] { return h }
        if let h = loadedHeads[id] {
            heads[id] = h
            return h
        }
        if unheld.contains(id) { return nil }
        guard let h = try source.head(id) else {
            unheld.insert(id)
            return nil
        }
        loadedHeads[id] = h
        heads[id] = h
        return h
    }

    /// Where the report's working head sits in `heads` (loading it first), `nil` if not held.
    private mutating func headIndex<S: IngestSource>(
        _ id: ReportID, _ source: inout S
    ) throws -> Dictionary<ReportID, ReportHead>.Index? {
        if let i = heads.index(forKey: id) { return i }
        guard try workingHead(id, &source) != nil else { return nil }
        return heads.index(forKey: id)
    }

    private mutating func workingHighest<S: IngestSource>(_ device: DeviceID, _ source: inout S) throws -> UInt64 {
        if let h = highest[device] { return h }
        if let h = loadedHighest[device] {
            highest[device] = h
            return h
        }
        let h = try source.highestSeq(device)
        loadedHighest[device] = h
        highest[device] = h
        return h
    }

    private mutating func apply<S: IngestSource>(_ signed: SignedChange, _ source: inout S) throws {
        let c = signed.change
        var failure: (any Error)?
        let effects: ApplyEffects
        if let index = heads.index(forKey: c.report) {
            // Mutated in place in the dictionary (one lookup, no copy of the head).
            let known = newByDot
            effects = heads.values[index].apply(c) { dot in
                if let m = known[dot] { return m }
                do { return try source.change(dot) } catch {
                    if failure == nil { failure = error }
                    return nil
                }
            }
        } else {
            var head = ReportHead(creating: c)
            effects = head.apply(c) { _ in nil }  // a creating change refers to no earlier change
            heads[c.report] = head
            unheld.remove(c.report)
        }
        if let failure { throw failure }
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

    private mutating func refuse(_ c: Change, _ error: FieldSyncError, dependsOn: Dot? = nil) {
        let verdict = RefusedChange(dot: c.dot, error: error, dependsOn: dependsOn)
        refused.append((verdict, c))
        result.refusals.append(verdict)
        refusedSeqs[c.dot.device, default: []].append(c.dot.seq)
        refusedCodes[c.dot] = error.code
        if c.isCreate { refusedCreates[c.report] = c.dot }
    }

    /// None of `stuck` can be applied. Those that wait on a refused change are refused naming it
    /// (to a fixed point: waiting on one refused so is the same); the others with the precise
    /// reason — a reused dot, a gap in the author's log, or the dependencies the store lacks.
    private mutating func refuseStuck<S: IngestSource>(_ stuck: [Change], _ source: inout S) throws {
        if mode == .replay { throw Self.unreplayable(stuck[0]) }
        var left = stuck
        var progress = true
        while progress {
            progress = false
            var still: [Change] = []
            for c in left {
                if let dot = try refusedDependency(of: c, &source) {
                    refuse(
                        c, .dependencyRefused(c, on: dot, code: refusedCodes[dot] ?? .dependencyRefused), dependsOn: dot
                    )
                    progress = true
                } else {
                    still.append(c)
                }
            }
            left = still
        }
        for c in left { refuse(c, try stuckReason(c, &source)) }
    }

    /// The refused change `c` waits on, if any: an earlier seq of its author's log (on a server),
    /// the change that creates its report, or a change its context names.
    private mutating func refusedDependency<S: IngestSource>(of c: Change, _ source: inout S) throws -> Dot? {
        if mode == .server {
            let held = try workingHighest(c.dot.device, &source)
            if c.dot.seq > held + 1, let seq = refusedSeqs[c.dot.device]?.first(where: { $0 > held && $0 < c.dot.seq })
            {
                return Dot(device: c.dot.device, seq: seq)
            }
        }
        let head = try workingHead(c.report, &source)
        if head == nil, let create = refusedCreates[c.report] { return create }
        for e in c.context.entries {
            let applied = head?.version[e.device] ?? 0
            guard applied < e.seq else { continue }
            if let seq = refusedSeqs[e.device]?.first(where: { $0 > applied && $0 <= e.seq }) {
                return Dot(device: e.device, seq: seq)
            }
        }
        return nil
    }

    private mutating func stuckReason<S: IngestSource>(_ c: Change, _ source: inout S) throws -> FieldSyncError {
        let held = try workingHighest(c.dot.device, &source)
        if c.dot.seq <= held, try isHeld(c.dot, below: held, &source) { return .dotReuse(c.dot) }
        if mode == .server && c.dot.seq > held + 1 { return .sequenceGap(c, held: held) }
        guard let head = try workingHead(c.report, &source) else { return .unknownReport(c) }
        let missing = c.context.entries.filter { head.version[$0.device] < $0.seq }.map {
            Dot(device: $0.device, seq: $0.seq)
        }
        return .missingDependency(c, missing: missing)
    }

    private static func unreplayable(_ c: Change) -> FieldSyncError {
        FieldSyncError(
            .storage,
            "change \(c.dot) cannot be replayed onto its report; the database may be corrupt: run 'fieldsyncd admin verify'"
        )
    }
}
