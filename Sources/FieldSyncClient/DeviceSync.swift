public import FieldSyncCore
import FieldSyncProtocol
public import FieldSyncStore
public import Foundation

/// Syncs one device store with a server until both are up to date: pushes what the server
/// lacks (in bounded batches, in the device's causal order), pulls what arrived since the last
/// cursor, and remembers both positions only after the server has answered — so a sync cut at
/// any point resumes on the next run without loss or duplicates.
///
/// Nothing blocks a device: the server answers each pushed change on its own, and a refused
/// change is set aside (kept, with its reason, never pushed again) while everything else flows.
/// Before its first push of its own changes in a run, the device learns how far the server holds
/// its log: a device restored from an older backup, or a copy of another phone's store, takes
/// back the server's changes and moves its own diverging work above them (`LogFork`). Changes not
/// yet pushed that were written under a clock far ahead of the server's are re-timed first.
public struct DeviceSync: Sendable {
    /// The device's store.
    public let store: any DeviceStore
    /// The server API, with the device's token.
    public var api: FieldSyncAPI
    /// Name of the server in the store's settings (one store may sync with several).
    public var serverName = "server"
    /// Changes pushed per request.
    public var pushBatch = 500
    /// Changes pulled per response.
    public var pullLimit = 1_000
    /// Signs a run of this device's own consecutive changes at once (its key's `signRun`). When
    /// set, each push carries one signature per run of the device's own changes instead of one
    /// per change; when `nil`, every change travels with the signature it was written with.
    public var runSigner: (@Sendable ([Change]) -> Data)?
    /// Signs one change of this device (its key's `sign`): changes moved or re-timed are signed
    /// again with it (without it they travel unsigned until sealed in a run).
    public var signer: (@Sendable (Change) -> Data)?
    /// Changes not yet pushed timestamped further than this ahead of the server's clock are
    /// re-timed to the server's clock before they are pushed.
    public var clockSlackMillis: UInt64 = 10 * 60_000
    /// How old the county's revocation list held here may grow before a sync asks for it again.
    public var revocationsMaxAgeMillis: UInt64 = 3_600_000
    /// The device's media area: when set, each sync asks for the files of the county purged
    /// since the last, and removes their bytes here (`DeviceMedia.forget`).
    public var media: DeviceMedia?

    /// Creates a sync between a device store and a server; with `runSigner`, pushes carry one
    /// signature per run of the device's own consecutive changes; with `signer`, changes the
    /// device moves or re-times are signed again.
    public init(
        store: any DeviceStore, api: FieldSyncAPI, runSigner: (@Sendable ([Change]) -> Data)? = nil,
        signer: (@Sendable (Change) -> Data)? = nil
    ) {
        self.store = store
        self.api = api
        self.runSigner = runSigner
        self.signer = signer
    }

    /// What a sync did (over every attempt, when retried).
    public struct Summary: Sendable, Hashable, Codable, CustomStringConvertible {
        public var pushed = 0
        public var pulled = 0
        /// Conflicts the changes pulled in this sync opened on this device.
        public var conflictsOpened = 0
        /// Conflicts the changes pulled in this sync settled on this device.
        public var conflictsResolved = 0
        public var bytesSent = 0
        public var bytesReceived = 0
        public var roundTrips = 0
        public var seconds = 0.0
        /// Changes set aside: refused by the server, with their reasons (`fieldsync status`).
        public var setAside = 0
        /// This device's changes moved above the server's head after its log forked.
        public var moved = 0
        /// Changes not yet pushed whose timestamps were corrected (a clock that ran ahead).
        public var retimed = 0
        /// Files whose bytes left this device because the county purged them.
        public var purged = 0
        /// The version of the county's service catalogue received in this sync, if one was.
        public var catalogueVersion: Int?

        public var description: String {
            var text =
                "pushed \(pushed), pulled \(pulled), conflicts opened \(conflictsOpened) / resolved \(conflictsResolved), \(bytesSent + bytesReceived) bytes (\(bytesSent) up, \(bytesReceived) down), \(roundTrips) round trip\(roundTrips == 1 ? "" : "s"), \(String(format: "%.2f", seconds)) s"
            if setAside > 0 { text += "; \(setAside) set aside (fieldsync status)" }
            if moved > 0 { text += "; \(moved) moved after a forked log" }
            if retimed > 0 { text += "; \(retimed) re-timed" }
            if purged > 0 { text += "; \(purged) purged file\(purged == 1 ? "" : "s") removed" }
            if let catalogueVersion { text += "; service catalogue v\(catalogueVersion) received" }
            return text
        }

        /// Adds another attempt's figures.
        public mutating func add(_ other: Summary) {
            pushed += other.pushed; pulled += other.pulled
            conflictsOpened += other.conflictsOpened; conflictsResolved += other.conflictsResolved
            bytesSent += other.bytesSent; bytesReceived += other.bytesReceived
            roundTrips += other.roundTrips; seconds += other.seconds
            setAside += other.setAside; moved += other.moved; retimed += other.retimed
            purged += other.purged
            catalogueVersion = other.catalogueVersion ?? catalogueVersion
        }
    }

    /// Syncs until up to date. `progress` is called after every round trip.
    @discardableResult
    public func run(progress: (@Sendable (Summary) -> Void)? = nil) async throws(FieldSyncError) -> Summary {
        var summary = Summary()
        try await run(into: &summary, progress: progress)
        return summary
    }

    /// Syncs until up to date, counting into `summary` (which keeps what was done when a round
    /// trip fails).
    public func run(
        into summary: inout Summary, progress: (@Sendable (Summary) -> Void)? = nil
    ) async throws(FieldSyncError) {
        let started = ContinuousClock.now
        let base = summary.seconds
        defer { summary.seconds = base + (ContinuousClock.now - started).seconds }
        guard let me = try await store.identity() else {
            throw FieldSyncError(.invalidIdentifier, "this store has no device identity; enroll the device first")
        }
        var state = try await loadState()
        var probed = false
        var relearned = Set<Dot>()
        var askRevocations = try await revocationsAreStale()
        var askPurges = media != nil
        var askCatalogue = true
        var askCertificatesOf = try await PeerCertificates.missing(store)
        var backlog = try await backlog(
            after: state.pushCursor, positions: state.positions, aside: try await store.setAsideBodies())
        var rounds = 0
        while true {
            rounds += 1
            if rounds > 100_000 {
                throw FieldSyncError(.internalError, "sync did not converge after 100,000 round trips")
            }
            let aside = try await store.setAsideBodies()
            let (pendingBatch, scanned, exhausted) = try await pending(
                after: state.pushCursor, positions: state.positions, aside: aside)
            if !probed, pendingBatch.contains(where: { $0.change.dot.device == me }) {
                probed = true
                try await probe(me, &state, &summary)
                try await save(state)
                continue
            }
            let batch = runSigner.map { SignedChange.sealingRuns(pendingBatch, author: me, sign: $0) } ?? pendingBatch
            // What is left after this batch, told to the server for the IT desk (an estimate:
            // changes written during the sync are counted at the next one).
            backlog = exhausted ? 0 : max(backlog - pendingBatch.count, 1)
            let request = SyncRequest(
                cursor: state.pullCursor, changes: batch.isEmpty ? nil : batch, limit: pullLimit,
                includeOwn: state.recovering ? true : nil, verdicts: true, revocations: askRevocations ? true : nil,
                fork: state.fork, pending: UInt64(backlog),
                purgedAfter: askPurges ? try await store.setting(Self.purgedCursorKey) ?? "" : nil,
                catalogueVersion: askCatalogue ? try await DeviceCatalogue.version(store) : nil, certificates: true,
                renewCertificate: try await PeerCertificates.needsRenewal(store) ? true : nil,
                certificatesOf: askCertificatesOf.isEmpty ? nil : askCertificatesOf)
            var traffic = FieldSyncAPI.Traffic()
            let response: SyncResponse
            do {
                defer { summary.count(traffic) }
                response = try await api.sync(request, traffic: &traffic)
            } catch  where error.code == .sequenceGap || error.code == .missingDependency {
                // A server of protocol v1.0 lacks history we assumed it had: relearn its positions.
                try await relearn(&state, &summary)
                continue
            }
            state.fork = nil
            askRevocations = false
            if let catalogue = response.catalogue, try await DeviceCatalogue.take(catalogue, into: store) {
                summary.catalogueVersion = catalogue.catalogue.version
            }
            askCatalogue = false
            if !askCertificatesOf.isEmpty {
                askCertificatesOf = []
                try await PeerCertificates.checkedMissing(store)
            }
            if askPurges {
                try await takePurges(response, &summary)
                askPurges = response.purgedMore == true
            }
            let serverLostChanges: Bool
            switch try await take(response, pushed: batch, me: me, &state, &relearned, &summary) {
            case .retry: continue
            case .applied(let lost): serverLostChanges = lost
            }
            state.pushCursor = serverLostChanges ? 0 : scanned
            // Done when everything local was offered and nothing more waits on the server.
            let done = exhausted && !response.more && !state.recovering && !serverLostChanges && !askPurges
            if done { state.lastSyncMillis = WallClock.millis() }
            try await save(state)
            summary.seconds = base + (ContinuousClock.now - started).seconds
            progress?(summary)
            if done { break }
        }
    }

    static let purgedCursorKey = "media.purged_cursor"

    /// Forgets the files the answer says the county purged, then keeps its purge cursor.
    private func takePurges(_ response: SyncResponse, _ summary: inout Summary) async throws(FieldSyncError) {
        if let media, let hashes = response.purgedMedia {
            summary.purged += try await media.forget(Array(hashes.prefix(10_000)), in: store)
        }
        if let cursor = response.purgedCursor, cursor.utf8.count <= 100 {
            try await store.setSettings([Self.purgedCursorKey: cursor])
        }
    }

    /// What a round trip's answer leads to.
    enum RoundOutcome {
        /// The state changed under the loop (a fork recovered, positions relearned, the log
        /// rewritten): go round again from the saved state.
        case retry
        /// The answer was taken in; `serverLostChanges` when the server holds less than it
        /// confirmed (restored from a backup): push everything again.
        case applied(serverLostChanges: Bool)
    }

    /// Takes in one answer: counts what was accepted, settles the refusals, takes back this
    /// device's own changes the server holds beyond what it confirmed, applies the pulled
    /// changes, and recovers a fork or a rewrite the verdicts call for.
    private func take(
        _ response: SyncResponse, pushed batch: [SignedChange], me: DeviceID, _ state: inout State,
        _ relearned: inout Set<Dot>, _ summary: inout Summary
    ) async throws(FieldSyncError) -> RoundOutcome {
        // Conflicts are counted once, where the officer sees them: on this device, as the
        // pulled changes open or settle them (the server's count for the same conflict
        // would count it twice).
        if let accepted = response.accepted { summary.pushed += accepted.applied }
        let confirmedBefore = state.positions[me] ?? 0
        let verdicts = try await settle(response.refused ?? [], me: me, &state, &relearned, &summary)
        // The server holds more of this device's log than it confirmed or just pushed: a copy
        // of this store (or the phone before a restore) wrote it. Take it back before taking
        // the pulled changes, which may depend on it.
        let confirmedOwn = max(
            state.positions[me] ?? 0, batch.filter { $0.change.dot.device == me }.map(\.change.dot.seq).max() ?? 0)
        if let serverOwn = response.logs[me.rawValue], serverOwn > confirmedOwn {
            try await recoverFork(me, held: serverOwn, from: confirmedBefore + 1, &state, &summary)
            try await save(state)
            return .retry
        }
        let serverLostChanges = try await absorb(response, me: me, &state, &summary)
        if verdicts.forked {
            try await recoverFork(
                me, held: response.logs[me.rawValue] ?? 0, from: confirmedBefore + 1, &state, &summary)
            try await save(state)
            return .retry
        }
        if verdicts.relearn {
            try await relearn(&state, &summary)
            return .retry
        }
        if verdicts.rewrote {
            // Refused changes left the log and later own work moved: push what is left; a
            // relayed copy dropped for a reused dot is pulled again as the server holds it.
            if response.refused?.contains(where: { $0.code == .dotReuse && $0.dot.device != me }) == true {
                state.pullCursor = nil
            }
            state.pushCursor = 0
            try await save(state)
            return .retry
        }
        return .applied(serverLostChanges: serverLostChanges)
    }

    /// Sets aside the finally refused changes and what depends on them here, and takes them out
    /// of the log (their bodies stay with the records), so the device shows what the server
    /// shows; when one is this device's own, moves its later own work down so that its log stays
    /// dense (a change refused only because an earlier one of its author was is moved, not set
    /// aside). A relayed copy refused as a reused dot is dropped and the server's copy pulled.
    /// Says whether the device's own log forked, and whether the server lacks history (gaps,
    /// missing dependencies) — unless it said so before for the same changes, then set aside.
    private func settle(
        _ refused: [RefusedChange], me: DeviceID, _ state: inout State, _ relearned: inout Set<Dot>,
        _ summary: inout Summary
    ) async throws(FieldSyncError) -> (forked: Bool, relearn: Bool, rewrote: Bool) {
        var forked = false, relearn = false
        var final: [RefusedChange] = []
        for v in refused {
            if v.code == .logForked || (v.code == .dotReuse && v.dot.device == me) {
                forked = true
            } else if v.code == .dependencyRefused, v.dependsOn?.device == v.dot.device, v.dot.device == me {
                continue  // only the log's density: moved down below
            } else if !v.isFinal && !relearned.contains(v.dot) {
                relearn = true
                relearned.insert(v.dot)
            } else {
                final.append(v)
            }
        }
        guard !final.isEmpty else { return (forked, relearn, false) }
        _ = try await setAside(final, me: me, &state, &summary)
        return (forked, relearn, true)
    }

    /// Sets `final` aside with what depends on them here, takes them out of the log, and moves
    /// this device's later own work down if one was its own. Says whether changes of other
    /// devices left the log only because they depended on these (they come back in a pull).
    private func setAside(
        _ final: [RefusedChange], me: DeviceID, _ state: inout State,
        _ summary: inout Summary
    ) async throws(FieldSyncError) -> Bool {
        let roots = Set(final.map(\.dot))
        let dependents = try await store.dependents(of: roots)
        try await store.setAside(final)
        try await store.setAside(
            dependents.map { c, root in
                RefusedChange(
                    dot: c.dot, error: .dependencyRefused(c, on: root, code: .dependencyRefused), dependsOn: root)
            }, by: "device")
        summary.setAside += final.count + dependents.count
        let removed = roots.union(dependents.map(\.0.dot))
        var later: [Change] = [], moved: [Change] = []
        if let first = removed.filter({ $0.device == me }).map(\.seq).min() {
            later = try await store.ownLog(from: first).map(\.change).filter { !removed.contains($0.dot) }
            moved = LogFork.moved(later, from: first, above: first - 1, lineage: [])
        }
        let sign = signer
        try await store.rewrite(
            removing: removed.union(later.map(\.dot)),
            adding: moved.map { SignedChange(change: $0, signature: sign?($0)) })
        summary.moved += moved.count
        state.pushCursor = 0
        return dependents.contains { $0.0.dot.device != me }
    }

    /// Takes a response's pulled changes and log positions into the store and the state; says
    /// whether the server holds less of a log than it did (it was restored: push again).
    private func absorb(
        _ response: SyncResponse, me: DeviceID, _ state: inout State,
        _ summary: inout Summary
    ) async throws(FieldSyncError) -> Bool {
        var repull = false
        if !response.changes.isEmpty {
            var r = try await store.ingest(signed: response.changes, preRefused: [:], atomic: false, via: nil)
            // This device holds another change under a dot the server holds (it relayed a copy
            // from a forked phone): the server's is the one; the copy is set aside and replaced.
            let reused = r.refusals.filter { $0.code == .dotReuse && $0.dot.device != me }
            if !reused.isEmpty {
                let verdicts = reused.map { RefusedChange(dot: $0.dot, error: .dotReuse($0.dot)) }
                repull = try await setAside(verdicts, me: me, &state, &summary)
                let dots = Set(reused.map(\.dot))
                let again = try await store.ingest(
                    signed: response.changes.filter { dots.contains($0.change.dot) }, preRefused: [:],
                    atomic: false, via: nil)
                r.applied += again.applied
            }
            summary.pulled += r.applied
            summary.conflictsOpened += r.conflictsOpened
            summary.conflictsResolved += r.conflictsResolved
            for c in response.changes where c.change.dot.seq > state.positions[c.change.dot.device] ?? 0 {
                state.positions[c.change.dot.device] = c.change.dot.seq
            }
        }
        if let revoked = response.revoked {
            var settings = ["revoked": revoked.prefix(100_000).joined(separator: ",")]
            settings[PeerRevocations.atKey] = response.revokedAtMillis.map(String.init) ?? "0"
            settings[PeerRevocations.signatureKey] = response.revokedSignature ?? ""
            // The server's key as it signs now (it follows a rotation; registration gave the first).
            if let key = response.serverPublicKey, Data(base64Encoded: key)?.count == 32 {
                settings["device.server_key"] = key
            }
            try await store.setSettings(settings)
        }
        try await PeerCertificates.keep(base64: response.certificates, in: store)
        var serverLostChanges = false
        for (log, pos) in response.logs {
            guard let d = DeviceID(rawValue: log) else { continue }
            if pos < state.positions[d] ?? 0 { serverLostChanges = true }
            state.positions[d] = pos
        }
        // Changes of others that left the log with a replaced copy come back in a pull from the start.
        state.pullCursor = repull ? nil : response.cursor
        if state.recovering && !response.more { state.recovering = false }
        return serverLostChanges
    }

    /// One round trip before the first push of this device's own changes: how far the server
    /// holds its log (and the county's revocations, and the server's clock), with a page of
    /// pulled changes. Recovers a forked log and re-times changes written under a clock ahead.
    private func probe(_ me: DeviceID, _ state: inout State, _ summary: inout Summary) async throws(FieldSyncError) {
        let ownHeld = try await store.highestSeq(of: me)
        let request = SyncRequest(
            cursor: state.pullCursor, offer: [me.rawValue: ownHeld], limit: pullLimit, verdicts: true,
            revocations: try await revocationsAreStale() ? true : nil, certificates: true,
            renewCertificate: try await PeerCertificates.needsRenewal(store) ? true : nil)
        var traffic = FieldSyncAPI.Traffic()
        defer { summary.count(traffic) }
        var response = try await api.sync(request, traffic: &traffic)
        let confirmed = state.positions[me] ?? 0
        let serverOwn = response.logs[me.rawValue] ?? 0
        if serverOwn > confirmed {
            // The pulled page may depend on changes of this log the device lacks: leave it (the
            // cursor stays) and take the log back first.
            response.changes = []
        }
        let cursor = state.pullCursor
        if try await absorb(response, me: me, &state, &summary) { state.pushCursor = 0 }
        if serverOwn > confirmed { state.pullCursor = cursor }
        if serverOwn > confirmed { try await recoverFork(me, held: serverOwn, from: confirmed + 1, &state, &summary) }
        if let serverTime = response.serverTimeMillis { try await retime(me, serverTime: serverTime, &state, &summary) }
    }

    /// Whether the county's revocation list held here is missing or older than
    /// `revocationsMaxAgeMillis` (a sync asks for it again then, once).
    private func revocationsAreStale() async throws(FieldSyncError) -> Bool {
        guard let at = try await store.setting(PeerRevocations.atKey).flatMap(UInt64.init) else { return true }
        return WallClock.millis() > at &+ revocationsMaxAgeMillis
    }

    /// The server holds this device's log up to `held`, more than the device confirmed: fetch it
    /// from `from`, compare, take back what the device lacks, and move diverging work above it.
    private func recoverFork(
        _ me: DeviceID, held: UInt64, from: UInt64, _ state: inout State,
        _ summary: inout Summary
    ) async throws(FieldSyncError) {
        let start = max(1, from)
        guard held >= start else { return }
        var lineage: [Change] = []
        var next = start
        while next <= held {
            var traffic = FieldSyncAPI.Traffic()
            defer { summary.count(traffic) }
            let response = try await api.sync(
                SyncRequest(cursor: state.pullCursor, limit: 0, ownLogFrom: next), traffic: &traffic)
            let page = (response.ownLog ?? []).map(\.change).filter { $0.dot.device == me && $0.dot.seq >= next }
            guard let last = page.last?.dot.seq else { break }
            lineage += page
            next = last + 1
            if response.ownLogMore != true { break }
        }
        let local = try await store.ownLog(from: start).map(\.change)
        let localHeld = local.last?.dot.seq ?? (start - 1)
        let sign = signer
        let resign = { (c: Change) -> SignedChange in SignedChange(change: c, signature: sign?(c)) }
        if let fork = LogFork.divergence(local: local, server: lineage) {
            var serverCopy: [UInt64: Change] = [:]
            for c in lineage { serverCopy[c.dot.seq] = c }
            // Changes the server holds as they are stay where they are; the others move.
            let moving = local.filter { $0.dot.seq >= fork && serverCopy[$0.dot.seq] != $0 }
            let theirs = lineage.filter { $0.dot.seq >= fork && local.contains($0) == false }
            let moved = LogFork.moved(moving, from: fork, above: held, lineage: theirs)
            let rewrite = try await store.rewrite(
                removing: Set(moving.map(\.dot)), adding: (theirs + moved).map(resign))
            if !rewrite.dependents.isEmpty { state.pullCursor = nil }
            state.fork = ForkNotice(from: fork, held: held, local: localHeld)
            summary.moved += moved.count
        } else {
            let missing = lineage.filter { $0.dot.seq > localHeld }
            if !missing.isEmpty {
                _ = try await store.ingest(signed: missing.map(resign), preRefused: [:], atomic: false, via: nil)
            }
        }
        state.positions[me] = held
        state.pushCursor = 0
    }

    /// The earliest plausible timestamp (2020-01-01): a change stamped before it was written by a
    /// clock that was never set.
    static let clockFloorMillis: UInt64 = 1_577_836_800_000

    /// Re-times this device's changes not yet pushed that are stamped further ahead of the
    /// server's clock than `clockSlackMillis` (the clock ran ahead, and was corrected or not), or
    /// before 2020 (the clock was never set).
    private func retime(
        _ me: DeviceID, serverTime: UInt64, _ state: inout State, _ summary: inout Summary
    ) async throws(FieldSyncError) {
        let limit = serverTime &+ clockSlackMillis
        let unsynced = try await store.ownLog(from: (state.positions[me] ?? 0) + 1).map(\.change)
        let floor = Self.clockFloorMillis
        guard unsynced.contains(where: { $0.hlc.millis > limit || $0.hlc.millis < floor }) else { return }
        let fixed = LogFork.clamped(unsynced, above: limit, below: floor, to: serverTime).filter {
            $0.hlc.millis == serverTime
        }
        let changed = fixed.filter { f in unsynced.first { $0.dot == f.dot } != f }
        guard !changed.isEmpty else { return }
        let sign = signer
        let rewrite = try await store.rewrite(
            removing: Set(changed.map(\.dot)),
            adding: changed.map { SignedChange(change: $0, signature: sign?($0)) })
        if !rewrite.dependents.isEmpty { state.pullCursor = nil }
        state.pushCursor = 0
        summary.retimed += changed.count
    }

    /// Relearns how far the server holds every log this device holds, and pushes again from the
    /// start (the server lacks history it once had).
    private func relearn(_ state: inout State, _ summary: inout Summary) async throws(FieldSyncError) {
        let heads = try await store.logHeads()
        var traffic = FieldSyncAPI.Traffic()
        defer { summary.count(traffic) }
        let answer = try await api.sync(
            SyncRequest(
                cursor: state.pullCursor,
                offer: Dictionary(uniqueKeysWithValues: heads.map { ($0.key.rawValue, $0.value) }), limit: 0),
            traffic: &traffic)
        state.positions = answer.logs.compactMapKeys { DeviceID(rawValue: $0) }
        state.pushCursor = 0
        try await save(state)
    }

    /// Changes to push after `cursor`: those the server is not known to hold, at most a batch;
    /// the local position scanned to; whether the scan reached the end of the local log.
    func pending(
        after cursor: Int64, positions: [DeviceID: UInt64], aside: [Dot: Data] = [:]
    ) async throws(FieldSyncError) -> ([SignedChange], Int64, Bool) {
        var batch: [SignedChange] = []
        var scanned = cursor
        while true {
            let page = try await store.changes(after: scanned, county: nil, limit: pushBatch)
            for (i, e) in page.changes.enumerated() {
                if batch.count == pushBatch { return (batch, scanned, false) }
                scanned = e.arrival
                if e.change.dot.seq > positions[e.change.dot.device] ?? 0, !Self.isAside(e.change, aside) {
                    batch.append(e.signed)
                }
                if batch.count == pushBatch { return (batch, scanned, i == page.changes.count - 1 && !page.hasMore) }
            }
            if !page.hasMore { return (batch, scanned, true) }
        }
    }

    /// How many held changes after `cursor` the server is not known to hold (set-aside ones excepted).
    func backlog(
        after start: Int64, positions: [DeviceID: UInt64], aside: [Dot: Data]
    ) async throws(FieldSyncError) -> Int {
        var count = 0
        var cursor = start
        while true {
            let page = try await store.changes(after: cursor, county: nil, limit: 5_000)
            count +=
                page.changes.filter {
                    $0.change.dot.seq > positions[$0.change.dot.device] ?? 0 && !Self.isAside($0.change, aside)
                }.count
            cursor = page.cursor
            if !page.hasMore { return count }
        }
    }

    /// Whether a held change is one set aside (same dot, and the same body when one was kept).
    public static func isAside(_ c: Change, _ aside: [Dot: Data]) -> Bool {
        guard let body = aside[c.dot] else { return false }
        return body.isEmpty || body == ChangeCodec.encodeData(c)
    }

    struct State: Codable {
        var pullCursor: String?
        var pushCursor: Int64 = 0
        var positions: [DeviceID: UInt64] = [:]
        var recovering = false
        var lastSyncMillis: UInt64?
        /// A forked log recovered and not yet reported to the server.
        var fork: ForkNotice?
    }

    /// Where a device stands with its server.
    public struct Status: Sendable, Codable, Hashable {
        /// Changes this device wrote.
        public var ownChanges: UInt64
        /// Changes the server is not known to hold.
        public var pending: Int
        /// When the last sync completed (ms since epoch).
        public var lastSyncMillis: UInt64?
        /// The pull cursor.
        public var pullCursor: String?
        /// Changes set aside (refused, with their reasons): listed by `fieldsync status`.
        public var setAside: Int = 0
        /// Why the last sync failed (`code: message`), if it did; cleared by a sync that completes.
        public var lastError: String?
        /// When the last sync failed (ms since epoch).
        public var lastErrorMillis: UInt64?
        /// Whether the server has revoked this device (its last sync answered `device_revoked`).
        public var revoked: Bool = false
        /// Media files waiting for the server.
        public var mediaWaiting: Int = 0
        /// Their bytes.
        public var mediaWaitingBytes: UInt64 = 0
    }

    static let lastErrorKey = "sync.last_error"
    static let lastErrorAtKey = "sync.last_error_ms"
    static let revokedKey = "device.revoked"

    /// Keeps why a sync failed (nil: it completed), for `fieldsync status`.
    func recordOutcome(_ error: FieldSyncError?) async {
        let now = WallClock.millis()
        var settings = [
            Self.lastErrorKey: error.map { "\($0.code.rawValue): \($0.message)" } ?? "",
            Self.lastErrorAtKey: error == nil ? "" : String(now),
        ]
        if error?.code == .deviceRevoked { settings[Self.revokedKey] = String(now) }
        try? await store.setSettings(settings)
    }

    /// Where this device stands, without contacting the server.
    public func status() async throws(FieldSyncError) -> Status {
        let state = try await loadState()
        let pending = try await backlog(
            after: state.pushCursor, positions: state.positions, aside: try await store.setAsideBodies())
        var own: UInt64 = 0
        if let id = try await store.identity() { own = try await store.highestSeq(of: id) }
        let lastError = try await store.setting(Self.lastErrorKey).flatMap { $0.isEmpty ? nil : $0 }
        let media = try await DeviceMedia.queue(store)
        var status = Status(
            ownChanges: own, pending: pending, lastSyncMillis: state.lastSyncMillis, pullCursor: state.pullCursor,
            setAside: try await store.setAsideCount(), lastError: lastError,
            lastErrorMillis: try await store.setting(Self.lastErrorAtKey).flatMap(UInt64.init),
            revoked: try await store.setting(Self.revokedKey).map { !$0.isEmpty } ?? false)
        status.mediaWaiting = media.count
        status.mediaWaitingBytes = media.reduce(0) { $0 + $1.size }
        return status
    }

    /// Syncs, retrying transient failures (no answer, timeouts, rate limits, server errors) with
    /// exponential backoff and jitter: 1 s, 2 s, 4 s … capped at 60 s. `sleep` waits (or, with a
    /// simulated link, advances simulated time).
    public func runWithRetries(
        maxAttempts: Int = 8, seed: UInt64 = 0, sleep: @Sendable (Double) async -> Void,
        onRetry: (@Sendable (Int, FieldSyncError, Double) -> Void)? = nil,
        progress: (@Sendable (Summary) -> Void)? = nil
    ) async throws(FieldSyncError) -> (Summary, attempts: Int) {
        var rng = SplitMix64(seed: seed)
        var attempt = 0
        var summary = Summary()
        while true {
            attempt += 1
            do {
                try await run(into: &summary, progress: progress)
                await recordOutcome(nil)
                return (summary, attempt)
            } catch {
                let transient: Set<FieldSyncError.Code> = [
                    .timeout, .overloaded, .rateLimited, .internalError, .storage,
                ]
                guard transient.contains(error.code), attempt < maxAttempts else {
                    await recordOutcome(error)
                    throw error
                }
                let delay = min(60, pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1.0, using: &rng)
                onRetry?(attempt, error, delay)
                await sleep(delay)
                summary.seconds += delay
            }
        }
    }

    func loadState() async throws(FieldSyncError) -> State {
        guard let raw = try await store.setting("sync:\(serverName)"),
            let state = try? JSONDecoder().decode(State.self, from: Data(raw.utf8))
        else { return State() }
        return state
    }

    func save(_ state: State) async throws(FieldSyncError) {
        guard let data = try? JSONEncoder().encode(state) else { return }
        try await store.setSettings(["sync:\(serverName)": String(decoding: data, as: UTF8.self)])
    }
}

extension Dictionary {
    func compactMapKeys<K: Hashable>(_ transform: (Key) -> K?) -> [K: Value] {
        var result: [K: Value] = [:]
        for (k, v) in self { if let nk = transform(k) { result[nk] = v } }
        return result
    }
}

extension DeviceSync.Summary {
    /// Counts one round trip's traffic.
    mutating func count(_ traffic: FieldSyncAPI.Traffic) {
        roundTrips += 1
        bytesSent += traffic.sent
        bytesReceived += traffic.received
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
