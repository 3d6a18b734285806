/// The merged state of one report that a new change needs: what has been applied (its version
/// vector), every field's register, the live tags, the lifecycle and who is editing concurrently
/// with a withdrawal. Its size depends on how many devices wrote the report and how many of their
/// writes are concurrent, never on the length of the report's history; notes and media, which do
/// grow with history, are handed out as `ApplyEffects` for the caller to append.
public struct ReportHead: Hashable, Sendable, Codable {
    /// The report.
    public let id: ReportID
    /// Its county, fixed at creation.
    public let county: String
    /// The change that created it.
    public private(set) var created: Dot
    /// The creation timestamp.
    public private(set) var createdAt: HybridTimestamp
    /// The highest timestamp of any applied change.
    public private(set) var updatedAt: HybridTimestamp
    /// The applied changes: for each device that wrote the report, its latest change applied.
    public private(set) var version: VersionVector
    /// The number of changes applied.
    public private(set) var changeCount: Int
    /// The field registers, by field name.
    public private(set) var fields: [FieldName: Register]
    /// The lifecycle register, written by create, withdraw and restore.
    public private(set) var lifecycle: Register
    /// For each withdrawal still standing, each device's latest change concurrent with it.
    public private(set) var withdrawals: [WithdrawalWatch]
    /// For each live tag, the adds no remove has seen (add wins).
    public private(set) var tags: [String: [Dot]]
    /// When its status was acknowledged, closed and reopened (the scorecard's figures).
    public private(set) var statusTimes = ReportStatusTimes()

    /// Each device's latest change concurrent with one standing withdrawal.
    public struct WithdrawalWatch: Hashable, Sendable, Codable {
        /// The withdrawal.
        public var withdraw: Dot
        /// Concurrent changes, at most one per device, sorted by dot.
        public var concurrent: [Candidate]
    }

    /// Creates the head of a report from the change that creates it.
    public init(creating change: Change) {
        id = change.report
        county = change.county
        created = change.dot
        createdAt = change.hlc
        updatedAt = .zero
        version = VersionVector()
        changeCount = 0
        fields = [:]
        lifecycle = Register()
        withdrawals = []
        tags = [:]
    }

    /// Reassembles a head from its parts (for `ReportHeadCodec`).
    init(
        id: ReportID, county: String, created: Dot, createdAt: HybridTimestamp, updatedAt: HybridTimestamp,
        version: VersionVector, changeCount: Int, fields: [FieldName: Register], lifecycle: Register,
        withdrawals: [WithdrawalWatch], tags: [String: [Dot]], statusTimes: ReportStatusTimes
    ) {
        self.id = id
        self.county = county
        self.created = created
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.changeCount = changeCount
        self.fields = fields
        self.lifecycle = lifecycle
        self.withdrawals = withdrawals
        self.tags = tags
        self.statusTimes = statusTimes
    }

    /// Sets the status times from the report's whole history (for a head stored before heads
    /// kept them; every later change folds in as it is applied).
    public mutating func restoreStatusTimes(history: some Sequence<Change>) {
        statusTimes = ReportStatusTimes(history: history)
    }

    /// Whether `change` can be applied now, was applied already, must wait for changes it
    /// depends on, or can never be applied here.
    public func readiness(of change: Change) -> Readiness {
        guard change.county == county else {
            // Answered as for a report the change's county does not hold: a device learns nothing
            // about other counties (a create learns only that the id is taken: ids are global).
            return .invalid(
                change.isCreate
                    ? FieldSyncError(
                        .reportExists,
                        "change \(change.dot) creates report \(id), an id already taken; generate a new report id (a UUID)"
                    )
                    : FieldSyncError.unknownReport(change))
        }
        if change.isCreate {
            return change.dot == created
                ? .duplicate
                : .invalid(
                    FieldSyncError(
                        .reportExists,
                        "change \(change.dot) creates report \(id), which \(created) already created; generate a new report id"
                    ))
        }
        let applied = version[change.dot.device]
        if applied >= change.dot.seq { return .duplicate }
        guard version.includes(change.context) else { return .waiting }
        guard applied <= change.context[change.dot.device] else {
            return .invalid(
                FieldSyncError(
                    .invalidContext,
                    "change \(change.dot) does not include its author's earlier change \(change.dot.device):\(applied) to report \(id); a device's changes to a report must each include the one before"
                ))
        }
        return .ready
    }

    /// Applies a change that `readiness(of:)` called ready. `lookup` finds earlier changes of
    /// this report by dot (only needed to describe the conflicts a change resolves).
    public mutating func apply(_ change: Change, lookup: (Dot) -> Change?) -> ApplyEffects {
        var effects = ApplyEffects()
        let before = version
        let lifecycleWasConflicted = lifecycleConflictCandidates() != nil
        version.add(change.dot)
        changeCount += 1
        if change.hlc > updatedAt { updatedAt = change.hlc }
        statusTimes.fold(change)
        var lifecycleTouched = applyOperations(change, &effects)
        if lifecycleTouched || !withdrawals.isEmpty {
            lifecycleTouched = watchWithdrawals(change, before: before, lookup: lookup) || lifecycleTouched
        }
        if lifecycleTouched && !lifecycleWasConflicted && lifecycleConflictCandidates() != nil {
            effects.openedCount += 1
        }
        effects.resolved = resolutions(by: change, lookup: lookup)
        return effects
    }

    /// Applies each operation to the registers, tags, notes and media; returns whether the
    /// lifecycle was written.
    private mutating func applyOperations(_ change: Change, _ effects: inout ApplyEffects) -> Bool {
        var lifecycleTouched = false
        for op in change.ops {
            switch op {
            case .create:
                lifecycle.write(
                    Candidate(dot: change.dot, hlc: change.hlc, value: Lifecycle.active), context: change.context)
                lifecycleTouched = true
            case .set(let field, let value):
                // One dictionary access: the register is written in place.
                if ReportHead.write(
                    Candidate(dot: change.dot, hlc: change.hlc, value: value), context: change.context,
                    into: &fields[field, default: Register()])
                {
                    effects.openedCount += 1
                }
            case .addTag(let tag):
                var adds = tags[tag] ?? []
                adds.removeAll { change.context.contains($0) }
                adds.append(change.dot)
                tags[tag] = adds
            case .removeTag(let tag):
                if var adds = tags[tag] {
                    adds.removeAll { change.context.contains($0) }
                    tags[tag] = adds.isEmpty ? nil : adds
                }
            case .appendNote(let text):
                effects.notes.append(Note(dot: change.dot, hlc: change.hlc, text: text))
            case .attachMedia(let media):
                effects.media.append(MediaAttachment(dot: change.dot, media: media))
            case .withdraw:
                lifecycle.write(
                    Candidate(dot: change.dot, hlc: change.hlc, value: Lifecycle.withdrawn), context: change.context)
                lifecycleTouched = true
            case .restore:
                lifecycle.write(
                    Candidate(dot: change.dot, hlc: change.hlc, value: Lifecycle.active), context: change.context)
                lifecycleTouched = true
            }
        }

        return lifecycleTouched
    }

    /// Withdrawals: keeps watching only those still standing (a change that did not see a
    /// standing withdrawal is concurrent with it), and starts watching a withdrawal `change`
    /// makes. Returns whether a watch changed.
    private mutating func watchWithdrawals(
        _ change: Change, before: VersionVector, lookup: (Dot) -> Change?
    ) -> Bool {
        var lifecycleTouched = false
        let standing = Set(lifecycle.candidates.lazy.filter { $0.value == Lifecycle.withdrawn }.map(\.dot))
        withdrawals.removeAll { !standing.contains($0.withdraw) }
        for i in withdrawals.indices where !change.context.contains(withdrawals[i].withdraw) {
            withdrawals[i].concurrent.removeAll { $0.dot.device == change.dot.device }
            withdrawals[i].concurrent.append(
                Candidate(dot: change.dot, hlc: change.hlc, value: change.lifecycleValue ?? Lifecycle.active))
            withdrawals[i].concurrent.sort { $0.dot < $1.dot }
            lifecycleTouched = true
        }
        if standing.contains(change.dot) {
            var concurrent: [Candidate] = []
            for entry in before.entries where entry.seq > change.context[entry.device] {
                let dot = Dot(device: entry.device, seq: entry.seq)
                let source = lookup(dot)
                concurrent.append(
                    Candidate(
                        dot: dot, hlc: source?.hlc ?? .zero,
                        value: source?.lifecycleValue ?? Lifecycle.active))
            }
            withdrawals.append(WithdrawalWatch(withdraw: change.dot, concurrent: concurrent))
            withdrawals.sort { $0.withdraw < $1.withdraw }
        }
        return lifecycleTouched
    }

    /// The conflicts `change` resolves, each with its candidates and the resolution.
    private func resolutions(by change: Change, lookup: (Dot) -> Change?) -> [Conflict] {
        var resolved: [Conflict] = []
        for (field, dots) in change.resolves.sorted(by: { $0.key < $1.key }) {
            let candidates = dots.map { dot -> Candidate in
                let source = lookup(dot)
                let value = source?.value(of: field) ?? (field == .lifecycle ? Lifecycle.active : .null)
                return Candidate(dot: dot, hlc: source?.hlc ?? .zero, value: value)
            }
            let value = change.value(of: field) ?? .null
            let resolution = Resolution(
                dot: change.dot, hlc: change.hlc, value: value,
                chosen: candidates.first { $0.value == value }?.dot)
            resolved.append(
                Conflict(report: id, county: county, field: field, candidates: candidates, resolution: resolution))
        }
        return resolved
    }

    /// Writes `candidate` into `register`; returns whether that put the register into conflict.
    private static func write(_ candidate: Candidate, context: VersionVector, into register: inout Register) -> Bool {
        let wasConflicted = register.isConflicted
        register.write(candidate, context: context)
        return !wasConflicted && register.isConflicted
    }

    /// The open conflict on `field`, if concurrent writes left it with different values.
    public func openConflict(_ field: FieldName) -> Conflict? {
        let candidates: [Candidate]?
        if field == .lifecycle {
            candidates = lifecycleConflictCandidates()
        } else if let register = fields[field], register.isConflicted {
            candidates = register.candidates
        } else {
            candidates = nil
        }
        return candidates.map { Conflict(report: id, county: county, field: field, candidates: $0) }
    }

    /// Every open conflict on this report, sorted by field.
    public var openConflicts: [Conflict] {
        var result = fields.keys.sorted().compactMap(openConflict)
        if let lifecycleConflict = openConflict(.lifecycle) { result.append(lifecycleConflict) }
        return result.sorted { $0.field < $1.field }
    }

    /// Whether the report is withdrawn. A withdrawal concurrent with edits leaves it visible
    /// (active) until someone settles the conflict.
    public var isWithdrawn: Bool {
        guard lifecycleConflictCandidates() == nil else { return false }
        return lifecycle.winner?.value == Lifecycle.withdrawn
    }

    /// The current value of every field (the display winner of each register).
    public var values: [FieldName: FieldValue] {
        fields.compactMapValues { $0.winner?.value }
    }

    /// The live tags, sorted.
    public var tagList: [String] { tags.keys.sorted() }

    /// The candidates of the lifecycle conflict: standing withdrawals and the changes concurrent
    /// with them. `nil` when no withdrawal is contested.
    func lifecycleConflictCandidates() -> [Candidate]? {
        guard lifecycle.candidates.contains(where: { $0.value == Lifecycle.withdrawn }) else { return nil }
        var byDot: [Dot: Candidate] = [:]
        for c in lifecycle.candidates { byDot[c.dot] = c }
        for watch in withdrawals { for c in watch.concurrent where byDot[c.dot] == nil { byDot[c.dot] = c } }
        guard byDot.values.contains(where: { $0.value != Lifecycle.withdrawn }) else { return nil }
        return byDot.values.sorted { $0.dot < $1.dot }
    }

    /// Whether a change can be applied to a report head.
    public enum Readiness: Sendable, Equatable {
        /// Every change it depends on is applied: apply it.
        case ready
        /// It is applied already.
        case duplicate
        /// Some change it depends on is missing: keep it until that arrives.
        case waiting
        /// It contradicts what is applied and must be refused.
        case invalid(FieldSyncError)
    }
}

/// What applying one change produced, for the caller to store.
public struct ApplyEffects: Sendable, Equatable {
    /// Notes appended.
    public var notes: [Note] = []
    /// Media attached.
    public var media: [MediaAttachment] = []
    /// How many fields went from no conflict to conflict.
    public var openedCount = 0
    /// Resolved-conflict records the change produced.
    public var resolved: [Conflict] = []

    /// No effects.
    public init() {}
}
