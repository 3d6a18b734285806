import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
public import FieldSyncSQLite
public import Foundation

/// Runs a `FleetScenario` against a server: enrolls every device, lets them work offline, meet
/// as peers and sync over simulated links, then brings everyone up to date and checks that every
/// device holds exactly its county's state on the server.
public struct FleetSimulator: Sendable {
    /// The scenario.
    public let scenario: FleetScenario
    /// The server.
    public let server: URL
    /// Further daemons on the same database: each device's requests go to every one in turn.
    public var moreServers: [URL] = []
    /// An admin token there (to enroll the devices).
    public let adminToken: String
    /// Where the device stores go.
    public let directory: URL
    /// Write each device's exchanges to `<recordDirectory>/<device>.jsonl`.
    public var recordDirectory: URL?
    /// For testing the check itself: one device keeps one change to itself.
    public var withholdOneChange = false

    /// Creates a simulator.
    public init(scenario: FleetScenario, server: URL, adminToken: String, directory: URL) {
        self.scenario = scenario
        self.server = server
        self.adminToken = adminToken
        self.directory = directory
    }

    /// One simulated device.
    struct Device: Sendable {
        let id: DeviceID
        let county: String
        let key: DeviceKey
        let store: any DeviceStore
        let sync: DeviceSync
        let link: SimulatedLink
        let disconnected: Bool
    }

    /// What a simulation did.
    public struct Summary: Sendable, Codable, Hashable {
        public var scenario = ""
        public var devices = 0
        public var changesWritten = 0
        public var changesOnServer = 0
        public var conflictsOpen = 0
        public var conflictsResolved = 0
        public var syncs = 0
        public var failedSyncAttempts = 0
        public var roundTrips = 0
        public var bytesUp = 0
        public var bytesDown = 0
        public var peerMeetings = 0
        /// Meetings refused or broken (their work waits for the next meeting or sync).
        public var peerMeetingsFailed = 0
        public var syncP50Millis = 0.0
        public var syncP99Millis = 0.0
        public var simulatedLinkSeconds = 0.0
        public var wallSeconds = 0.0
        public var diverged: [String] = []

        /// Human-readable lines.
        public var lines: [String] {
            [
                "scenario \(scenario): \(devices) devices",
                "changes: \(changesWritten) written, \(changesOnServer) on the server",
                "conflicts: \(conflictsOpen) open, \(conflictsResolved) resolved",
                "syncs: \(syncs) (\(failedSyncAttempts) attempts cut and retried), \(roundTrips) round trips, \(peerMeetings) peer meetings (\(peerMeetingsFailed) failed)",
                "bytes: \(bytesUp) up, \(bytesDown) down (\(changesWritten > 0 ? (bytesUp + bytesDown) / changesWritten : 0) per change)",
                String(
                    format:
                        "sync latency: p50 %.0f ms, p99 %.0f ms (loopback wall clock); simulated link time %.0f s in all",
                    syncP50Millis, syncP99Millis, simulatedLinkSeconds),
                String(format: "wall time: %.1f s", wallSeconds),
                diverged.isEmpty
                    ? "converged: every device holds its county's state exactly as the server does"
                    : "DIVERGED: \(diverged.count) device(s): \(diverged.prefix(10).joined(separator: ", "))",
            ]
        }
    }

    /// The first day's clock (milliseconds); round `r` is day `r`.
    static let clockBase: UInt64 = 1_795_000_000_000

    /// Runs the scenario: enroll, create the shared reports, play the rounds (edits, peer
    /// meetings, syncs of the devices online), bring everyone up to date, and check.
    public func run(log: @Sendable (String) -> Void = { _ in }) async throws -> Summary {
        let started = ContinuousClock.now
        var rng = SplitMix64(seed: scenario.seed)
        var summary = Summary()
        summary.scenario = scenario.name
        let runID = String(UUID().uuidString.prefix(6)).lowercased()
        let devices = try await enroll(runID: runID, rng: &rng)
        summary.devices = devices.count
        log("enrolled \(devices.count) devices")
        let shared = try await createShared(devices, runID: runID, summary: &summary)
        // Everyone starts at the office, with the shared reports: creators push, then all pull.
        let creators = scenario.counties.compactMap { c in devices.first { $0.county == c.name } }
        try await syncAll(creators, &summary)
        try await syncAll(devices, &summary)
        var own: [DeviceID: [ReportID]] = [:]
        for round in 0..<scenario.rounds {
            try await writeEdits(round: round, devices, shared: shared, own: &own, rng: &rng, summary: &summary)
            try await holdPeerMeetings(devices, rng: &rng, summary: &summary)
            let online = devices.filter { !$0.disconnected && !rng.chance(scenario.offlineProbability) }
            try await syncAll(online, &summary)
            log("round \(round + 1)/\(scenario.rounds): \(online.count) devices synced")
        }
        // Connectivity returns for everyone: two passes bring every device up to date.
        try await syncAll(devices, &summary)
        try await syncAll(devices, &summary)
        if withholdOneChange, let d = devices.first, let id = own[d.id]?.first ?? shared[d.county]?.first {
            _ = try await write(
                d, [.appendNote(text: "kept on the device on purpose")], id, Self.clockBase + 999_999_999)
            summary.changesWritten += 1
        }
        let ours = Set(own.values.joined()).union(shared.values.joined())
        try await check(devices, ours: ours, summary: &summary)
        summary.simulatedLinkSeconds = devices.reduce(0) { $0 + $1.link.simulatedSeconds }
        summary.wallSeconds = (ContinuousClock.now - started).seconds
        for d in devices { await d.store.close() }
        return summary
    }

    /// The transport to the server; with several daemons, each device's requests go to every one
    /// in turn (from its own offset).
    func serverTransport(offset: Int) -> any SyncTransport {
        moreServers.isEmpty
            ? URLSessionTransport(baseURL: server, timeout: 120)
            : SpreadTransport(
                ([server] + moreServers).map { URLSessionTransport(baseURL: $0, timeout: 120) }, offset: offset)
    }

    /// Enrolls every device of every county, each with its own store file, key and link.
    func enroll(runID: String, rng: inout SplitMix64) async throws -> [Device] {
        let profile = try LinkProfile.parse(scenario.link)
        let http = serverTransport(offset: 0)
        let admin = FieldSyncAPI(transport: http, token: adminToken)
        var devices: [Device] = []
        for county in scenario.counties {
            for i in 0..<county.devices {
                let id = "\(county.name)-\(runID)-\(i)"
                let enrollment = try await admin.enroll(EnrollmentRequest(county: county.name, deviceID: id))
                let key = DeviceKey()
                let registered = try await FieldSyncAPI(transport: http).register(
                    enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
                let store = try SQLiteStore(
                    path: directory.appendingPathComponent("\(id).sqlite").path,
                    options: SQLiteStore.Options.deviceBatch)
                try await store.setIdentity(DeviceID(validating: id))
                try await PeerCertificates.keep(registration: registered, in: store)
                let deviceHTTP = moreServers.isEmpty ? http : serverTransport(offset: devices.count)
                let link = SimulatedLink(deviceHTTP, profile: profile, seed: rng.next())
                var transport: any SyncTransport = link
                if let recordDirectory {
                    transport = try RecordingTransport(
                        link, path: recordDirectory.appendingPathComponent("\(id).jsonl").path,
                        header: Recording.Header(
                            deviceID: id, county: county.name, publicKey: key.publicKey.base64EncodedString(),
                            server: server.absoluteString,
                            startedAtMillis: UInt64(Date().timeIntervalSince1970 * 1000), link: scenario.link),
                        link: link)
                }
                devices.append(
                    Device(
                        id: try DeviceID(validating: id), county: county.name, key: key, store: store,
                        sync: DeviceSync(
                            store: store, api: FieldSyncAPI(transport: transport, token: registered.token),
                            runSigner: { key.signRun($0) }, signer: { key.sign($0) }),
                        link: link, disconnected: rng.chance(scenario.disconnectedFraction)))
            }
        }
        return devices
    }

    /// Shared reports, created by each county's first device and known to all before they go offline.
    func createShared(
        _ devices: [Device], runID: String, summary: inout Summary
    ) async throws -> [String: [ReportID]] {
        let clockBase = Self.clockBase
        var shared: [String: [ReportID]] = [:]
        for county in scenario.counties {
            guard let first = devices.first(where: { $0.county == county.name }) else { continue }
            for s in 0..<scenario.sharedReports {
                let id = try ReportID(validating: "\(county.name)-\(runID)-shared-\(s)")
                _ = try await write(
                    first,
                    [
                        .create(county: county.name), .set(field: .serviceCode, value: "water_point"),
                        .set(field: .status, value: "open"),
                    ], id, clockBase)
                summary.changesWritten += 1
                shared[county.name, default: []].append(id)
            }
        }
        return shared
    }

    /// One round's edits: each device edits shared reports, its own, or files new ones.
    func writeEdits(
        round: Int, _ devices: [Device], shared: [String: [ReportID]], own: inout [DeviceID: [ReportID]],
        rng: inout SplitMix64, summary: inout Summary
    ) async throws {
        let clockBase = Self.clockBase
        for d in devices {
            for e in 0..<scenario.editsPerRound {
                let wall = clockBase + UInt64(round) * 86_400_000 + UInt64(e) * 60_000
                if rng.chance(scenario.sharedFraction), let ids = shared[d.county], !ids.isEmpty {
                    _ = try await write(d, Self.edit(&rng), ids[Int.random(in: 0..<ids.count, using: &rng)], wall)
                } else if let mine = own[d.id], !mine.isEmpty, !rng.chance(0.3) {
                    _ = try await write(d, Self.edit(&rng), mine[Int.random(in: 0..<mine.count, using: &rng)], wall)
                } else {
                    let id = try ReportID(validating: "\(d.id)-r\(own[d.id]?.count ?? 0)")
                    _ = try await write(
                        d,
                        [
                            .create(county: d.county), .set(field: .serviceCode, value: "pothole"),
                            .set(field: .description, value: .string("reported in round \(round)")),
                            .set(field: .status, value: "open"),
                        ], id, wall)
                    own[d.id, default: []].append(id)
                }
                summary.changesWritten += 1
            }
        }
    }

    /// One round's peer meetings between two devices of a county.
    func holdPeerMeetings(_ devices: [Device], rng: inout SplitMix64, summary: inout Summary) async throws {
        for _ in 0..<scenario.peerMeetingsPerRound {
            let a = devices[Int.random(in: 0..<devices.count, using: &rng)]
            let peers = devices.filter { $0.county == a.county && $0.id != a.id }
            guard let b = peers.randomElement(using: &rng) else { continue }
            if try await !meet(a, b) { summary.peerMeetingsFailed += 1 }
            summary.peerMeetings += 1
        }
        let online = devices.filter { !$0.disconnected && !rng.chance(scenario.offlineProbability) }
        try await syncAll(online, &summary)
    }

    /// The check: every device holds its county's state exactly as the server does; this run's
    /// conflicts counted (a server given with --server may hold conflicts of its own).
    func check(_ devices: [Device], ours: Set<ReportID>, summary: inout Summary) async throws {
        let http = serverTransport(offset: 0)
        let check = FieldSyncAPI(transport: http, token: adminToken)
        var serverStates: [String: Data] = [:]
        for county in scenario.counties {
            let (state, changes) = try await Self.serverState(check, county: county.name)
            serverStates[county.name] = state
            summary.changesOnServer += changes
        }
        for d in devices {
            let local = try await d.store.canonicalState(county: d.county)
            if local != serverStates[d.county] { summary.diverged.append(d.id.rawValue) }
        }
        var offset = 0
        while true {
            let page = try await check.conflicts(query: ["state": "all", "limit": "500", "offset": "\(offset)"])
            let mine = page.conflicts.filter { ours.contains($0.report) }
            summary.conflictsOpen += mine.filter(\.isOpen).count
            summary.conflictsResolved += mine.filter { !$0.isOpen }.count
            guard let next = page.nextOffset else { break }
            offset = next
        }
    }

    /// Syncs devices, `concurrency` at a time, retrying cuts.
    func syncAll(_ devices: [Device], _ summary: inout Summary) async throws {
        var latencies: [Double] = []
        try await withThrowingTaskGroup(of: (DeviceSync.Summary, Int, Double).self) { group in
            var next = 0
            func start(_ d: Device) {
                group.addTask {
                    let begin = ContinuousClock.now
                    let (s, attempts) = try await d.sync.runWithRetries(maxAttempts: 50, seed: 0, sleep: { _ in })
                    return (s, attempts - 1, (ContinuousClock.now - begin).seconds * 1000)
                }
            }
            while next < min(scenario.concurrency, devices.count) { start(devices[next]); next += 1 }
            while let (s, failed, ms) = try await group.next() {
                summary.syncs += 1
                summary.failedSyncAttempts += failed
                summary.roundTrips += s.roundTrips
                summary.bytesUp += s.bytesSent
                summary.bytesDown += s.bytesReceived
                latencies.append(ms)
                if next < devices.count { start(devices[next]); next += 1 }
            }
        }
        latencies.sort()
        if !latencies.isEmpty {
            summary.syncP50Millis = max(summary.syncP50Millis, latencies[latencies.count / 2])
            summary.syncP99Millis = max(
                summary.syncP99Millis, latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))])
        }
    }

    func write(_ d: Device, _ ops: [ReportOperation], _ report: ReportID, _ wall: UInt64) async throws -> Change {
        let key = d.key
        return try await d.store.write(ops, to: report, county: d.county, wallMillis: wall, signer: { key.sign($0) })
    }

    static func edit(_ rng: inout SplitMix64) -> [ReportOperation] {
        let fields: [FieldName] = [.status, .priority, .assignee, .statusNotes]
        return fields.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)).sorted().map { f in
            switch f {
            case .status:
                return .set(
                    field: f,
                    value: ["open", "acknowledged", "in_progress", "closed"].randomElement(using: &rng).map(
                        FieldValue.string)!)
            case .priority: return .set(field: f, value: .int(Int64.random(in: 1...4, using: &rng)))
            default: return .set(field: f, value: .string("v\(UInt16.random(in: 0...999, using: &rng))"))
            }
        }
    }

    /// The server's state of one county, built from the operator API exactly as a device store
    /// would hold it.
    static func serverState(_ api: FieldSyncAPI, county: String) async throws -> (Data, Int) {
        var reports: [Report] = []
        var offset = 0
        while true {
            let page = try await api.reports(query: ["county": county, "limit": "500", "offset": "\(offset)"])
            reports += page.reports
            guard let next = page.nextOffset else { break }
            offset = next
        }
        var conflicts: [Conflict] = []
        offset = 0
        while true {
            let page = try await api.conflicts(query: [
                "county": county, "state": "all", "limit": "500", "offset": "\(offset)",
            ])
            conflicts += page.conflicts
            guard let next = page.nextOffset else { break }
            offset = next
        }
        let state = MergedState(
            reports: reports, open: conflicts.filter(\.isOpen), resolved: conflicts.filter { !$0.isOpen }
        ).canonicalJSON()
        return (state, reports.reduce(0) { $0 + $1.changeCount })
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension SQLiteStore.Options {
    /// A simulated device's store: no fsync (the simulation measures the server, not phones' flash).
    public static var deviceBatch: SQLiteStore.Options {
        var o = SQLiteStore.Options()
        o.fullSync = false
        return o
    }
}
