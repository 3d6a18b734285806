import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation

/// Syncs one device store with a server until both are up to date: pushes what the server
/// lacks (in bounded batches, in the device's causal order), pulls what arrived since the last
/// cursor, and remembers both positions only after the server has answered — so a sync cut at
/// any point resumes on the next run without loss or duplicates.
public struct DeviceSync: Sendable {
    /// The device's store.
    public let store: SQLiteStore
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

    /// Creates a sync between a device store and a server; with `runSigner`, pushes carry one
    /// signature per run of the device's own consecutive changes.
    public init(store: SQLiteStore, api: FieldSyncAPI, runSigner: (@Sendable ([Change]) -> Data)? = nil) {
        self.store = store
        self.api = api
        self.runSigner = runSigner
    }

    /// What a sync did.
    public struct Summary: Sendable, Hashable, CustomStringConvertible {
        public var pushed = 0
        public var pulled = 0
        public var conflictsOpened = 0
        public var conflictsResolved = 0
        public var bytesSent = 0
        public var bytesReceived = 0
        public var roundTrips = 0
        public var seconds = 0.0

        public var description: String {
            "pushed \(pushed), pulled \(pulled), conflicts opened \(conflictsOpened) / resolved \(conflictsResolved), \(bytesSent + bytesReceived) bytes (\(bytesSent) up, \(bytesReceived) down), \(roundTrips) round trip\(roundTrips == 1 ? "" : "s"), \(String(format: "%.2f", seconds)) s"
        }
    }

    /// Syncs until up to date. `progress` is called after every round trip.
    @discardableResult
    public func run(progress: (@Sendable (Summary) -> Void)? = nil) async throws(FieldSyncError) -> Summary {
        let started = ContinuousClock.now
        guard let me = try await store.identity() else {
            throw FieldSyncError(.invalidIdentifier, "this store has no device identity; enroll the device first")
        }
        var summary = Summary()
        var state = try await loadState()
        var rounds = 0
        while true {
            rounds += 1
            if rounds > 100_000 { throw FieldSyncError(.internalError, "sync did not converge after 100,000 round trips") }
            let (pendingBatch, scanned, exhausted) = try await pending(after: state.pushCursor, positions: state.positions)
            let batch = runSigner.map { SignedChange.sealingRuns(pendingBatch, author: me, sign: $0) } ?? pendingBatch
            let request = SyncRequest(cursor: state.pullCursor, changes: batch.isEmpty ? nil : batch, limit: pullLimit,
                                      includeOwn: state.recovering ? true : nil)
            var traffic = FieldSyncAPI.Traffic()
            let response: SyncResponse
            do {
                response = try await api.sync(request, traffic: &traffic)
            } catch where error.code == .sequenceGap || error.code == .missingDependency {
                // The server lacks history we assumed it had (e.g. it was restored): relearn its
                // positions for every log we hold and push again from the start.
                summary.roundTrips += 1
                summary.bytesSent += traffic.sent
                summary.bytesReceived += traffic.received
                let heads = try await store.logHeads()
                var refresh = FieldSyncAPI.Traffic()
                let answer = try await api.sync(SyncRequest(cursor: state.pullCursor, offer: Dictionary(uniqueKeysWithValues: heads.map { ($0.key.rawValue, $0.value) }), limit: 0), traffic: &refresh)
                summary.roundTrips += 1
                summary.bytesSent += refresh.sent
                summary.bytesReceived += refresh.received
                state.positions = answer.logs.compactMapKeys { DeviceID(rawValue: $0) }
                state.pushCursor = 0
                try await save(state)
                continue
            }
            summary.roundTrips += 1
            summary.bytesSent += traffic.sent
            summary.bytesReceived += traffic.received
            if let accepted = response.accepted {
                summary.pushed += accepted.applied
                summary.conflictsOpened += accepted.conflictsOpened
                summary.conflictsResolved += accepted.conflictsResolved
            }
            if !response.changes.isEmpty {
                let r = try await store.ingest(signed: response.changes)
                summary.pulled += r.applied
                summary.conflictsOpened += r.conflictsOpened
                summary.conflictsResolved += r.conflictsResolved
                for c in response.changes where c.change.dot.seq > state.positions[c.change.dot.device] ?? 0 {
                    state.positions[c.change.dot.device] = c.change.dot.seq
                }
            }
            // A server that holds less of a log than it did (restored from a backup): push
            // everything it lacks again, from the start of the local log.
            var serverLostChanges = false
            for (log, pos) in response.logs {
                guard let d = DeviceID(rawValue: log) else { continue }
                if pos < state.positions[d] ?? 0 { serverLostChanges = true }
                state.positions[d] = pos
            }
            state.pushCursor = serverLostChanges ? 0 : scanned
            state.pullCursor = response.cursor
            if state.recovering && !response.more { state.recovering = false }
            // A server that holds more of our own log than we do: we were restored from an old
            // backup. Fetch our own changes before writing anything new.
            let ownHeld = try await store.highestSeq(of: me)
            if let serverOwn = response.logs[me.rawValue], serverOwn > ownHeld, !state.recovering {
                state.recovering = true
                state.pullCursor = nil
            }
            // Done when everything local was offered and nothing more waits on the server.
            let done = exhausted && !response.more && !state.recovering && !serverLostChanges
            if done { state.lastSyncMillis = UInt64(Date().timeIntervalSince1970 * 1000) }
            try await save(state)
            summary.seconds = (ContinuousClock.now - started).seconds
            progress?(summary)
            if done { break }
        }
        return summary
    }

    /// Changes to push after `cursor`: those the server is not known to hold, at most a batch;
    /// the local position scanned to; whether the scan reached the end of the local log.
    func pending(after cursor: Int64, positions: [DeviceID: UInt64]) async throws(FieldSyncError) -> ([SignedChange], Int64, Bool) {
        var batch: [SignedChange] = []
        var scanned = cursor
        while true {
            let page = try await store.changes(after: scanned, county: nil, limit: pushBatch)
            for (i, e) in page.changes.enumerated() {
                if batch.count == pushBatch { return (batch, scanned, false) }
                scanned = e.arrival
                if e.change.dot.seq > positions[e.change.dot.device] ?? 0 { batch.append(e.signed) }
                if batch.count == pushBatch { return (batch, scanned, i == page.changes.count - 1 && !page.hasMore) }
            }
            if !page.hasMore { return (batch, scanned, true) }
        }
    }

    struct State: Codable {
        var pullCursor: String?
        var pushCursor: Int64 = 0
        var positions: [DeviceID: UInt64] = [:]
        var recovering = false
        var lastSyncMillis: UInt64?
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
    }

    /// Where this device stands, without contacting the server.
    public func status() async throws(FieldSyncError) -> Status {
        let state = try await loadState()
        var pending = 0
        var cursor = state.pushCursor
        while true {
            let page = try await store.changes(after: cursor, county: nil, limit: 5_000)
            pending += page.changes.filter { $0.change.dot.seq > state.positions[$0.change.dot.device] ?? 0 }.count
            cursor = page.cursor
            if !page.hasMore { break }
        }
        var own: UInt64 = 0
        if let id = try await store.identity() { own = try await store.highestSeq(of: id) }
        return Status(ownChanges: own, pending: pending, lastSyncMillis: state.lastSyncMillis, pullCursor: state.pullCursor)
    }

    /// Syncs, retrying transient failures (no answer, timeouts, rate limits, server errors) with
    /// exponential backoff and jitter: 1 s, 2 s, 4 s … capped at 60 s. `sleep` waits (or, with a
    /// simulated link, advances simulated time).
    public func runWithRetries(maxAttempts: Int = 8, seed: UInt64 = 0, sleep: @Sendable (Double) async -> Void,
                               onRetry: (@Sendable (Int, FieldSyncError, Double) -> Void)? = nil,
                               progress: (@Sendable (Summary) -> Void)? = nil) async throws(FieldSyncError) -> (Summary, attempts: Int) {
        var rng = SplitMix64(seed: seed)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return (try await run(progress: progress), attempt)
            } catch {
                let transient: Set<FieldSyncError.Code> = [.timeout, .rateLimited, .internalError, .storage]
                guard transient.contains(error.code), attempt < maxAttempts else { throw error }
                let delay = min(60, pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1.0, using: &rng)
                onRetry?(attempt, error, delay)
                await sleep(delay)
            }
        }
    }

    func loadState() async throws(FieldSyncError) -> State {
        guard let raw = try await store.setting("sync:\(serverName)"),
              let state = try? JSONDecoder().decode(State.self, from: Data(raw.utf8)) else { return State() }
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

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
