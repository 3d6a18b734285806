import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Synchronization

/// Media figures (issue 16): a photo over a simulated link against its bound, a file the server
/// already holds, and many devices uploading at once on loopback beside a raw file write.
enum MediaBenchmark {
    /// Counts requests and body bytes through a transport.
    final class Counting: SyncTransport {
        let inner: any SyncTransport
        let counts = Mutex((requests: 0, body: 0))
        init(_ inner: any SyncTransport) { self.inner = inner }
        func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
            counts.withLock {
                $0.requests += 1
                $0.body += request.body.count
            }
            return try await inner.send(request)
        }
    }

    /// A device of `server` with one report attaching `size` random bytes, its change synced.
    static func device(
        _ name: String, on server: EmbeddedServer, size: Int, seed: UInt64, directory: URL
    ) async throws -> (store: SQLiteStore, media: DeviceMedia, token: String) {
        let enrollment = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: name), by: .currentShell)
        let key = DeviceKey()
        let http = URLSessionTransport(baseURL: server.url)
        let registered = try await FieldSyncAPI(transport: http).register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
        let store = try SQLiteStore(path: directory.appendingPathComponent("\(name).sqlite").path)
        try await store.setIdentity(DeviceID(rawValue: name)!)
        let media = try DeviceMedia(directory: directory.appendingPathComponent("\(name)-media"))
        var rng = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 8) {
            withUnsafeBytes(of: rng.next()) { raw in
                for j in 0..<min(8, size - i) { bytes[i + j] = raw[j] }
            }
        }
        let file = directory.appendingPathComponent("\(name).jpg")
        try Data(bytes).write(to: file)
        let ref = try media.add(file, contentType: "image/jpeg")
        let report = ReportID(rawValue: "r-\(name)")!
        _ = try await store.write(
            [.create(county: "kisumu"), .attachMedia(ref)], to: report, county: "kisumu",
            wallMillis: 1_795_000_000_000, signer: { key.sign($0) })
        try await DeviceMedia.enqueue(
            DeviceMedia.Entry(sha256: ref.sha256, size: ref.size, contentType: "image/jpeg"), in: store)
        _ = try await DeviceSync(store: store, api: FieldSyncAPI(transport: http, token: registered.token)).run()
        return (store, media, registered.token)
    }

    /// One photo of `size` bytes over `profile`: simulated seconds, the bound 1.3 × size ÷ upload
    /// bandwidth + 4 RTT, body bytes sent, cuts, requests.
    static func photoOverLink(
        profile: LinkProfile, size: Int, seed: UInt64, directory: URL
    ) async throws -> (seconds: Double, bound: Double, body: Int, cuts: Int, requests: Int) {
        let server = try await EmbeddedServer.start(
            database: directory.appendingPathComponent("media-\(UUID().uuidString.prefix(6)).sqlite").path)
        let d = try await device(
            "cam-\(UUID().uuidString.prefix(6))", on: server, size: size, seed: seed, directory: directory)
        let counting = Counting(SimulatedLink(URLSessionTransport(baseURL: server.url), profile: profile, seed: seed))
        let link = counting.inner as! SimulatedLink
        var upload = MediaUpload(store: d.store, media: d.media, transport: counting, token: d.token)
        upload.maxFailuresInARow = 100
        let summary = try await upload.run()
        guard summary.waiting == 0 else { throw FieldSyncError(.internalError, "the photo did not arrive: \(summary)") }
        await d.store.close()
        await server.stop()
        let rtt = 2 * profile.latencyMillis / 1000
        let bound = 1.3 * Double(size * 8) / profile.upBitsPerSecond + 4 * rtt
        return (link.simulatedSeconds, bound, summary.bytesSent, summary.cuts, counting.counts.withLock { $0.requests })
    }

    /// A second device attaching a photo the server holds: requests and body bytes.
    static func heldPhoto(directory: URL) async throws -> (requests: Int, body: Int) {
        let server = try await EmbeddedServer.start(
            database: directory.appendingPathComponent("held-\(UUID().uuidString.prefix(6)).sqlite").path)
        let first = try await device("held-a", on: server, size: 500_000, seed: 7, directory: directory)
        _ = try await MediaUpload(
            store: first.store, media: first.media, transport: URLSessionTransport(baseURL: server.url),
            token: first.token
        ).run()
        let second = try await device("held-b", on: server, size: 500_000, seed: 7, directory: directory)
        let counting = Counting(URLSessionTransport(baseURL: server.url))
        _ = try await MediaUpload(store: second.store, media: second.media, transport: counting, token: second.token)
            .run()
        await first.store.close()
        await second.store.close()
        await server.stop()
        return counting.counts.withLock { ($0.requests, $0.body) }
    }

    /// `devices` devices upload `size` bytes each at once on loopback: MB/s, a raw write of the
    /// same bytes to files (fsync each) in the same run, and the growth of the process's peak RSS.
    static func concurrent(
        devices: Int, size: Int, directory: URL
    ) async throws -> (
        mbPerSecond: Double, rawMBPerSecond: Double, peakGrowthMiB: Double
    ) {
        let server = try await EmbeddedServer.start(
            database: directory.appendingPathComponent("fleet-media-\(UUID().uuidString.prefix(6)).sqlite").path)
        var fleet: [(store: SQLiteStore, media: DeviceMedia, token: String)] = []
        let run = UUID().uuidString.prefix(6).lowercased()
        for i in 0..<devices {
            fleet.append(
                try await device(
                    "fleet-\(run)-\(i)", on: server, size: size, seed: UInt64(100 + i), directory: directory))
        }
        resetPeak()
        let before = residentMiB()
        let start = DispatchTime.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for d in fleet {
                group.addTask {
                    let s = try await MediaUpload(
                        store: d.store, media: d.media, transport: URLSessionTransport(baseURL: server.url),
                        token: d.token
                    ).run()
                    guard s.waiting == 0 else { throw FieldSyncError(.internalError, "an upload did not finish: \(s)") }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let peak = peakMiB()
        for d in fleet { await d.store.close() }
        await server.stop()
        let raw = try rawWrite(files: devices, size: size, directory: directory)
        let mb = Double(devices * size) / 1_000_000
        return (mb / seconds, mb / raw, max(0, peak - before))
    }

    /// Seconds to write `files` files of `size` bytes, fsync each.
    static func rawWrite(files: Int, size: Int, directory: URL) throws -> Double {
        let bytes = Data(repeating: 0x5A, count: size)
        let start = DispatchTime.now()
        for i in 0..<files {
            let url = directory.appendingPathComponent("raw-media-\(i)")
            FileManager.default.createFile(atPath: url.path, contents: nil)
            let h = try FileHandle(forWritingTo: url)
            var at = 0
            while at < size {
                try h.write(contentsOf: bytes[at..<min(size, at + 1 << 20)])
                at += 1 << 20
            }
            try h.synchronize()
            try h.close()
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func residentMiB() -> Double { statusMiB("VmRSS:") }

    /// Resets the process's peak RSS (Linux: `5` to `/proc/self/clear_refs`).
    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
    static func peakMiB() -> Double { statusMiB("VmHWM:") }

    static func statusMiB(_ key: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kb = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kb / 1024
    }
}
