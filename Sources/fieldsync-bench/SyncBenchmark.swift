import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncSQLite
import Foundation

/// Sync over real HTTP on loopback: a daemon, devices pushing at once, and an up-to-date sync.
enum SyncBenchmark {
    struct Result {
        var pushSeconds: Double
        var changes: Int
        var upToDateBytes: Int
        var upToDateRoundTrips: Int
    }

    /// `devices` devices each create `perDevice` reports offline, then all sync at once.
    static func run(devices: Int, perDevice: Int, directory: URL, quiet: Bool = false) async throws -> Result {
        let server = try await EmbeddedServer.start(
            database: directory.appendingPathComponent("server-\(UUID().uuidString.prefix(6)).sqlite").path)
        let service = server.service
        let url = server.url

        var stores: [(SQLiteStore, String)] = []
        for d in 0..<devices {
            let id = "bench-\(d)"
            let enrollment = try await service.enroll(
                EnrollmentRequest(county: "nairobi", deviceID: id), by: .currentShell)
            let key = DeviceKey()
            let registered = try await FieldSyncAPI(transport: URLSessionTransport(baseURL: url)).register(
                enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
            let deviceStore = try SQLiteStore(
                path: directory.appendingPathComponent("\(id)-\(UUID().uuidString.prefix(6)).sqlite").path)
            try await deviceStore.setIdentity(DeviceID(rawValue: id)!)
            for r in 0..<perDevice {
                _ = try await deviceStore.write(
                    [
                        .create(county: "nairobi"), .set(field: .serviceCode, value: "pothole"),
                        .set(field: .description, value: .string("report \(r) from \(id)")),
                        .set(field: .status, value: "open"),
                    ],
                    to: ReportID(rawValue: "\(id)-\(r)")!, county: "nairobi", wallMillis: 1_795_000_000_000 + UInt64(r),
                    signer: { key.sign($0) })
            }
            stores.append((deviceStore, registered.token))
        }
        // Push only (pulls would add every other device's changes to the measure).
        let start = DispatchTime.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (deviceStore, token) in stores {
                group.addTask {
                    let api = FieldSyncAPI(transport: URLSessionTransport(baseURL: url), token: token)
                    var cursor: Int64 = 0
                    while true {
                        let page = try await deviceStore.changes(after: cursor, county: nil, limit: 500)
                        if page.changes.isEmpty { break }
                        var traffic = FieldSyncAPI.Traffic()
                        _ = try await api.sync(
                            SyncRequest(changes: page.changes.map(\.signed), limit: 0), traffic: &traffic)
                        cursor = page.cursor
                        if !page.hasMore { break }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        // Bring device 0 up to date, then measure one more sync.
        let (first, token) = stores[0]
        let sync = DeviceSync(
            store: first, api: FieldSyncAPI(transport: URLSessionTransport(baseURL: url), token: token))
        let catchUp = try await sync.run()
        let upToDate = try await sync.run()
        if !quiet {
            print("  device 0 catch-up sync: \(catchUp)")
            print("  device 0 up-to-date sync: \(upToDate)")
        }
        await server.stop()
        for (s, _) in stores { await s.close() }
        return Result(
            pushSeconds: seconds, changes: devices * perDevice,
            upToDateBytes: upToDate.bytesSent + upToDate.bytesReceived,
            upToDateRoundTrips: upToDate.roundTrips)
    }
}

/// Bytes on the wire per edit, and a 1,000-report sync over an Edge-Lossy link.
enum WireBenchmark {
    /// Bytes per edit of one device's whole log in 500-change requests, gzip-compressed, by
    /// encoding: JSON and the canonical binary form (protocol/binary.md), each with a signature
    /// per change, one per signed run, or none — what separates FieldSync from an
    /// unauthenticated CRDT update stream. `rawSignedRuns` is the uncompressed JSON of the form
    /// `fieldsync sync` sends (signed runs).
    static func bytesPerEditByEncoding(
        _ log: [Change]
    ) throws -> (encodings: [(encoding: String, bytes: Double)], rawSignedRuns: Double) {
        let key = DeviceKey()
        var json = [0, 0, 0], binary = [0, 0, 0], raw = 0
        for start in stride(from: 0, to: log.count, by: 500) {
            let changes = Array(log[start..<min(start + 500, log.count)])
            let perChange = changes.map { key.signed($0) }
            let runs = SignedChange.sealingRuns(perChange, author: changes[0].dot.device, sign: { key.signRun($0) })
            let bare = changes.map { SignedChange(change: $0, signature: nil) }
            for (i, batch) in [perChange, runs, bare].enumerated() {
                let body = try JSONWireCodec().encode(SyncRequest(changes: batch))
                if i == 1 { raw += body.count }
                json[i] += BodyCompression.gzip.compress(body).count
                var w = BinaryWriter(capacity: 128 * batch.count)
                for s in batch {
                    w.blob(ChangeCodec.encode(s.change))
                    w.blob(s.signature ?? Data())
                    w.varint(UInt64(s.run))
                }
                binary[i] += BodyCompression.gzip.compress(Data(w.bytes)).count
            }
        }
        let n = Double(log.count)
        return (
            [
                ("JSON, a signature per change", Double(json[0]) / n),
                ("JSON, one per signed run", Double(json[1]) / n),
                ("JSON, unsigned", Double(json[2]) / n), ("binary, a signature per change", Double(binary[0]) / n),
                ("binary, one per signed run", Double(binary[1]) / n), ("binary, unsigned", Double(binary[2]) / n),
            ],
            Double(raw) / n
        )
    }

    /// One device creates 1,000 reports and syncs them over Edge-Lossy (240/200 kbit/s, 840 ms
    /// RTT, 1% loss); returns the simulated seconds and the bound 1.3 × bytes ÷ bandwidth + 4 RTT.
    static func edgeLossy(directory: URL) async throws -> (seconds: Double, bound: Double, bytes: Int) {
        try await linkSync(
            profile: try LinkProfile.parse("custom:bw=240,up=200,rtt=840,loss=0.01"), directory: directory)
    }

    /// One device creates 1,000 reports and syncs them over `profile`; returns the simulated
    /// seconds and the bound 1.3 × bytes ÷ bandwidth + 4 RTT.
    static func linkSync(
        profile: LinkProfile, directory: URL
    ) async throws -> (seconds: Double, bound: Double, bytes: Int) {
        let server = try await EmbeddedServer.start(
            database: directory.appendingPathComponent("edge-\(UUID().uuidString.prefix(6)).sqlite").path)
        let enrollment = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "edge-tab"), by: .currentShell)
        let key = DeviceKey()
        let http = URLSessionTransport(baseURL: server.url)
        let registered = try await FieldSyncAPI(transport: http).register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
        let store = try SQLiteStore(
            path: directory.appendingPathComponent("edge-tab-\(UUID().uuidString.prefix(6)).sqlite").path)
        try await store.setIdentity(DeviceID(rawValue: "edge-tab")!)
        for r in 0..<1_000 {
            _ = try await store.write(
                [
                    .create(county: "kisumu"), .set(field: .serviceCode, value: "pothole"),
                    .set(field: .description, value: .string("Pothole \(r) on the Kisumu–Kakamega road")),
                    .set(field: .lat, value: .double(-0.09 - Double(r) / 10_000)),
                    .set(field: .long, value: .double(34.77)),
                    .set(field: .status, value: "open"),
                ],
                to: ReportID(rawValue: "edge-\(r)")!, county: "kisumu", wallMillis: 1_795_000_000_000 + UInt64(r),
                signer: { key.sign($0) })
        }
        let link = SimulatedLink(http, profile: profile, seed: 1)
        var sync = DeviceSync(store: store, api: FieldSyncAPI(transport: link, token: registered.token))
        sync.runSigner = { key.signRun($0) }  // as `fieldsync sync` does
        let summary = try await sync.run()
        await store.close()
        await server.stop()
        let rtt = 2 * profile.latencyMillis / 1000
        let bound =
            1.3
            * (Double(summary.bytesSent * 8) / profile.upBitsPerSecond + Double(summary.bytesReceived * 8)
                / profile.downBitsPerSecond) + 4 * rtt
        return (link.simulatedSeconds, bound, summary.bytesSent + summary.bytesReceived)
    }
}
