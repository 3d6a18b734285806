import FieldSyncClient
import FieldSyncCore
import FieldSyncPeerTCP
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization

/// Peer figures (issue 19): two devices that each hold the same history and differ by a few
/// changes meet over TCP on loopback; the same delta then goes through the server instead.
/// Bytes are frames (peer) and bodies as sent (server: gzip when larger than 512 bytes).
enum PeerBenchmark {
    /// A device of the bench: its store and key, enrolled on the server.
    struct Device {
        let id: DeviceID
        let key: DeviceKey
        let token: String
        let path: String
        var store: SQLiteStore
    }

    static func run(history: [Int], writers: Int, differ: Int, directory: URL) async throws {
        for size in history {
            try await measure(history: size, writers: writers, differ: differ, directory: directory)
        }
    }

    static func measure(history: Int, writers: Int, differ: Int, directory: URL) async throws {
        let dir = directory.appendingPathComponent("peer-\(history)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let server = try await EmbeddedServer.start(database: dir.appendingPathComponent("server.sqlite").path)
        let http = URLSessionTransport(baseURL: server.url)
        var authors: [Device] = []
        for i in 0..<writers { authors.append(try await enroll("w-\(i)", server, http, dir)) }
        var a = try await enroll("tab-a", server, http, dir), b = try await enroll("tab-b", server, http, dir)
        let clock = 1_795_000_000_000 as UInt64
        for (i, w) in authors.enumerated() {
            for j in 0..<(history / writers) {
                _ = try await write(w, report: "r-\(i)-\(j)", at: clock + UInt64(j))
            }
            try await sync(w, http)
        }
        try await sync(a, http)
        try await sync(b, http)
        for j in 0..<(differ / 2) {
            _ = try await write(a, report: "a-\(j)", at: clock + 10_000_000 + UInt64(j))
            _ = try await write(b, report: "b-\(j)", at: clock + 10_000_000 + UInt64(j))
        }
        let own = try await ownSize(a, prefix: "a-") + ownSize(b, prefix: "b-")
        let held = try await a.store.logExtents().values.reduce(0) { $0 + Int($1.count) }
        // The same two stores, twice: one pair meets, the other goes through the server.
        await a.store.close()
        await b.store.close()
        for d in [a, b] {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: d.path + suffix) {
                try FileManager.default.copyItem(atPath: d.path + suffix, toPath: d.path + ".peer" + suffix)
            }
        }
        a.store = try SQLiteStore(path: a.path + ".peer")
        b.store = try SQLiteStore(path: b.path + ".peer")
        let (meeting, summaryBytes) = try await meet(a, b)
        a.store = try SQLiteStore(path: a.path)
        b.store = try SQLiteStore(path: b.path)
        let viaServer = try await sync(a, http) + sync(b, http) + sync(a, http)
        print(
            "peer meeting, \(held) changes held by each (\(writers + 2) logs), differing by \(differ) (their own size \(own) B signed, binary):"
        )
        let total = meeting.bytesSent + meeting.bytesReceived
        print(
            String(
                format:
                    "  meeting over TCP: %d changes sent, %d received; %d B (%.2f × the changes' own size; summaries %d B), %d round trips, %.3f s",
                meeting.sent, meeting.applied, total, Double(total) / Double(own), summaryBytes, meeting.roundTrips,
                meeting.seconds))
        print(
            String(
                format:
                    "  the same delta through the server (A, B, A sync): %d B, %d round trips (%.2f × the meeting's bytes)",
                viaServer.bytes, viaServer.roundTrips, Double(viaServer.bytes) / Double(total)))
        await a.store.close()
        await b.store.close()
        for w in authors { await w.store.close() }
        await server.stop()
    }

    static func enroll(
        _ name: String, _ server: EmbeddedServer, _ http: URLSessionTransport, _ dir: URL
    ) async throws
        -> Device
    {
        let enrollment = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: name), by: .currentShell)
        let key = DeviceKey()
        let registered = try await FieldSyncAPI(transport: http).register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
        let path = dir.appendingPathComponent("\(name).sqlite").path
        let store = try SQLiteStore(path: path)
        let id = DeviceID(rawValue: name)!
        try await store.setIdentity(id)
        try await PeerCertificates.keep(registration: registered, in: store)
        return Device(id: id, key: key, token: registered.token, path: path, store: store)
    }

    static func write(_ d: Device, report: String, at millis: UInt64) async throws -> Change {
        let key = d.key
        return try await d.store.write(
            [
                .create(county: "kisumu"), .set(field: .serviceCode, value: "pothole"),
                .set(field: .status, value: "open"),
                .set(field: .description, value: .string("hole by the market \(report)")),
            ], to: ReportID(rawValue: report)!, county: "kisumu", wallMillis: millis, signer: { key.sign($0) })
    }

    struct Traffic {
        var bytes = 0
        var roundTrips = 0
        static func + (a: Traffic, b: Traffic) -> Traffic {
            Traffic(bytes: a.bytes + b.bytes, roundTrips: a.roundTrips + b.roundTrips)
        }
    }

    @discardableResult
    static func sync(_ d: Device, _ http: URLSessionTransport) async throws -> Traffic {
        let key = d.key
        let s = try await DeviceSync(
            store: d.store, api: FieldSyncAPI(transport: http, token: d.token), runSigner: { key.signRun($0) },
            signer: { key.sign($0) }
        ).run()
        return Traffic(bytes: s.bytesSent + s.bytesReceived, roundTrips: s.roundTrips)
    }

    /// The signed binary size of a device's own changes to reports named with `prefix`.
    static func ownSize(_ d: Device, prefix: String) async throws -> Int {
        try await d.store.ownLog(from: 1).filter { $0.change.report.rawValue.hasPrefix(prefix) }
            .reduce(0) { $0 + ChangeCodec.encode($1.change).count + 64 }
    }

    /// A meets B over TCP on loopback; returns A's outcome and the bytes of both summaries.
    static func meet(_ a: Device, _ b: Device) async throws -> (PeerMeeting.Outcome, Int) {
        let summary = Mutex(0)
        var ma = PeerMeeting(store: a.store, key: a.key)
        ma.record = { t in if t.message == "summary" { summary.withLock { $0 += t.bytes } } }
        let mb = PeerMeeting(store: b.store, key: b.key)
        let listener = try await TCPPeerListener.bind(host: "127.0.0.1", port: 0)
        async let listening: Void = listener.serve { link in
            _ = try? await mb.run(over: link)
            return false
        }
        let link = try await TCPPeerLink.connect(host: "127.0.0.1", port: listener.port)
        let outcome = try await ma.run(over: link)
        try await listening
        return (outcome, summary.withLock { $0 })
    }
}
