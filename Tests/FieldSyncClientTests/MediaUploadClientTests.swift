import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncTestSupport
import Foundation
import Synchronization
import Testing

/// The device side of media against a real daemon: a photo attached offline reaches the server
/// over a link with cuts, resumes after a restart with at most one piece sent twice, and a file
/// the server holds costs one round trip and no body bytes.
@Suite(.serialized) struct MediaUploadClientTests {
    /// A transport that stops answering after `limit` requests (a phone switched off mid-upload).
    final class Failing: SyncTransport {
        let inner: any SyncTransport
        let limit: Int
        let count = Mutex(0)
        init(_ inner: any SyncTransport, after limit: Int) {
            self.inner = inner
            self.limit = limit
        }
        func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
            let n = count.withLock { c in
                c += 1
                return c
            }
            if n > limit { throw FieldSyncError(.timeout, "switched off") }
            return try await inner.send(request)
        }
    }

    static func attach(
        _ device: TestDevice, _ bytes: Data, dir: URL, untilUploaded: Bool = false
    ) async throws
        -> (DeviceMedia, MediaRef)
    {
        let media = try DeviceMedia(directory: dir.appendingPathComponent("\(device.id)-media"))
        let file = dir.appendingPathComponent("\(device.id).jpg")
        try bytes.write(to: file)
        let ref = try media.add(file, contentType: "image/jpeg")
        try await device.create("r-\(device.id)")
        try await device.write([.attachMedia(ref)], to: "r-\(device.id)")
        try await DeviceMedia.enqueue(
            DeviceMedia.Entry(
                sha256: ref.sha256, size: ref.size, contentType: "image/jpeg", untilUploaded: untilUploaded),
            in: device.store)
        return (media, ref)
    }

    static func download(_ server: TestServer, _ sha: String) async throws -> Data? {
        let desk = try await server.operatorToken(["kisumu"])
        let reply = await RawHTTP.send(
            port: server.port, "GET", "/v1/media/\(sha)", headers: ["Authorization": "Bearer \(desk)"])
        return reply?.status == 200 ? reply?.body : nil
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func aPhotoCrossesALinkWithCuts(seed: UInt64) async throws {
        let server = try await TestServer.start()
        let device = try await server.device("cam-\(seed)")
        var rng = SplitMix64(seed: seed)
        let photo = Data((0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let (media, ref) = try await Self.attach(device, photo, dir: server.dir)
        try await device.sync()
        let link = SimulatedLink(URLSessionTransport(baseURL: server.baseURL), profile: .flaky, seed: seed)
        var upload = MediaUpload(store: device.store, media: media, transport: link, token: device.token)
        upload.maxFailuresInARow = 50
        let summary = try await upload.run()
        #expect(summary.uploaded == 1 && summary.waiting == 0, "seed \(seed): \(summary)")
        #expect(
            summary.bytesSent <= photo.count + summary.cuts * upload.maxPiece,
            "seed \(seed): at most one piece sent again per cut: \(summary)")
        #expect(try await Self.download(server, ref.sha256) == photo, "seed \(seed)")
        #expect(try await DeviceMedia.queue(device.store).isEmpty)
        #expect(media.holds(ref.sha256), "kept on the device unless asked otherwise")
        await server.stop()
    }

    @Test func aRestartResumesFromTheServersOffset() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("cam-restart")
        let photo = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let (media, ref) = try await Self.attach(device, photo, dir: server.dir, untilUploaded: true)
        try await device.sync()
        var first = MediaUpload(
            store: device.store, media: media,
            transport: Failing(URLSessionTransport(baseURL: server.baseURL), after: 5),
            token: device.token)
        first.maxFailuresInARow = 2
        let stopped = try await first.run()
        #expect(stopped.waiting == 1 && stopped.bytesSent > 0)
        let queued = try await DeviceMedia.queue(device.store)
        #expect(queued.first?.location != nil, "the upload's location survives the restart")
        let second = MediaUpload(
            store: device.store, media: media, transport: URLSessionTransport(baseURL: server.baseURL),
            token: device.token)
        let done = try await second.run()
        #expect(done.uploaded == 1 && done.waiting == 0)
        #expect(
            stopped.bytesSent + done.bytesSent <= photo.count + second.maxPiece,
            "no more than the piece lost at the cut is sent again")
        #expect(try await Self.download(server, ref.sha256) == photo)
        #expect(!media.holds(ref.sha256), "--until-uploaded: the bytes left the device once the server had them")
        await server.stop()
    }

    @Test func aFileTheServerHoldsCostsOneRoundTripAndNoBody() async throws {
        let server = try await TestServer.start()
        let photo = Data(repeating: 7, count: 50_000)
        let a = try await server.device("cam-a")
        let (mediaA, _) = try await Self.attach(a, photo, dir: server.dir)
        try await a.sync()
        _ = try await MediaUpload(
            store: a.store, media: mediaA, transport: URLSessionTransport(baseURL: server.baseURL), token: a.token
        ).run()
        let b = try await server.device("cam-b")
        let (mediaB, _) = try await Self.attach(b, photo, dir: server.dir)
        try await b.sync()
        let counted = Failing(URLSessionTransport(baseURL: server.baseURL), after: 1_000)
        let summary = try await MediaUpload(store: b.store, media: mediaB, transport: counted, token: b.token).run()
        #expect(summary.alreadyHeld == 1 && summary.bytesSent == 0 && summary.uploaded == 0)
        #expect(counted.count.withLock { $0 } == 1, "one round trip")
        await server.stop()
    }

    @Test func aFileWhoseChangeHasNotSyncedWaits() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("cam-early")
        let (media, _) = try await Self.attach(device, Data(repeating: 1, count: 1_000), dir: server.dir)
        let summary = try await MediaUpload(
            store: device.store, media: media, transport: URLSessionTransport(baseURL: server.baseURL),
            token: device.token
        ).run()
        #expect(summary.waiting == 1 && summary.bytesSent == 0)
        await server.stop()
    }

    @Test func aPurgedPhotoLeavesADeviceThatStillWaitedToSendIt() async throws {
        let server = try await TestServer.start()
        let photo = Data(repeating: 9, count: 20_000)
        let a = try await server.device("cam-p1")
        let (mediaA, ref) = try await Self.attach(a, photo, dir: server.dir)
        try await a.sync()
        _ = try await MediaUpload(
            store: a.store, media: mediaA, transport: URLSessionTransport(baseURL: server.baseURL), token: a.token
        ).run()
        _ = try await server.service.purgeMedia(ref.sha256, reason: "a face", by: .currentShell)
        let b = try await server.device("cam-p2")
        let (mediaB, _) = try await Self.attach(b, photo, dir: server.dir)
        try await b.sync()
        let summary = try await MediaUpload(
            store: b.store, media: mediaB, transport: URLSessionTransport(baseURL: server.baseURL), token: b.token
        ).run()
        #expect(summary.refused.count == 1 && summary.refused[0].contains("media_purged"))
        #expect(!mediaB.holds(ref.sha256), "the purged bytes left the device")
        #expect(try await DeviceMedia.queue(b.store).isEmpty)
        await server.stop()
    }

    static func upload(
        _ device: TestDevice, _ media: DeviceMedia, _ server: TestServer
    ) async throws
        -> MediaUpload.Summary
    {
        try await MediaUpload(
            store: device.store, media: media, transport: URLSessionTransport(baseURL: server.baseURL),
            token: device.token
        ).run()
    }

    @Test func aPurgeReachesEveryDeviceOfTheCountyThatHoldsTheFileAndPeersPassItOn() async throws {
        let server = try await TestServer.start()
        let photo = Data(repeating: 4, count: 30_000)
        // A uploaded the photo and kept it; C holds a copy carried from A before the purge.
        let a = try await server.device("cam-k1")
        let (mediaA, ref) = try await Self.attach(a, photo, dir: server.dir)
        try await a.sync(media: mediaA)
        #expect(try await Self.upload(a, mediaA, server).uploaded == 1)
        let c = try await server.device("cam-k3")
        let mediaC = try DeviceMedia(directory: server.dir.appendingPathComponent("cam-k3-media"))
        _ = try mediaC.add(mediaA.path(ref.sha256), contentType: "image/jpeg")
        try await DeviceMedia.enqueue(
            DeviceMedia.Entry(sha256: ref.sha256, size: ref.size, contentType: "image/jpeg"), in: c.store)
        // Another county's device with a photo of its own that stays.
        let other = try await server.device("cam-n1", county: "nakuru")
        let (mediaN, refN) = try await Self.attach(other, Data(repeating: 5, count: 900), dir: server.dir)
        try await other.sync(media: mediaN)

        _ = try await server.service.purgeMedia(ref.sha256, reason: "a child's face", by: .currentShell)
        let summary = try await a.sync(media: mediaA)
        #expect(summary.purged == 1 && !mediaA.holds(ref.sha256) && mediaA.isPurged(ref.sha256))
        #expect(try await a.sync(media: mediaA).purged == 0, "told once")
        #expect(try await other.sync(media: mediaN).purged == 0 && mediaN.holds(refN.sha256))
        #expect(throws: FieldSyncError.self, "the purged file is not attached again") {
            try mediaA.add(mediaC.path(ref.sha256), contentType: "image/jpeg")
        }
        // C has not synced: meeting A, it learns of the purge and does not carry the file back.
        let carried = try await DeviceMedia.carry(from: c.store, mediaC, to: a.store, mediaA, budget: 1 << 30)
        #expect(carried.files == 0 && !mediaA.holds(ref.sha256))
        _ = try await DeviceMedia.carry(from: a.store, mediaA, to: c.store, mediaC, budget: 1 << 30)
        #expect(!mediaC.holds(ref.sha256) && mediaC.isPurged(ref.sha256))
        #expect(try await DeviceMedia.queue(c.store).isEmpty)
        await server.stop()
    }

    @Test func aFileAttachedButNeverUploadedCanBePurgedAndIsDroppedBeforeItTravels() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("cam-u1")
        let (media, ref) = try await Self.attach(a, Data(repeating: 6, count: 5_000), dir: server.dir)
        try await a.sync(media: media)
        let status = try await server.service.purgeMedia(ref.sha256, reason: "a name on a sign", by: .currentShell)
        #expect(status.state == "purged" && status.size == 5_000)
        #expect(try await a.sync(media: media).purged == 1)
        #expect(try await DeviceMedia.queue(a.store).isEmpty && !media.holds(ref.sha256))
        #expect(try await Self.upload(a, media, server).bytesSent == 0)
        let unknown = String(repeating: "c", count: 64)
        await #expect(throws: FieldSyncError.self, "neither stored nor attached") {
            try await server.service.purgeMedia(unknown, reason: "x", by: .currentShell)
        }
        await server.stop()
    }

    @Test func aDeviceHearsOfPurgesPastAFullPageAndABadCursorIsRefused() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("cam-m1")
        let n = 205
        var refs: [MediaRef] = []
        try await a.create("r-many")
        for i in 0..<n {
            let ref = MediaRef(sha256: Digest.sha256Hex(Data("photo \(i)".utf8)), contentType: "image/jpeg", size: 10)
            refs.append(ref)
            try await a.write([.attachMedia(ref)], to: "r-many")
        }
        try await a.sync()
        for ref in refs { _ = try await server.service.purgeMedia(ref.sha256, reason: "r", by: .currentShell) }
        let media = try DeviceMedia(directory: server.dir.appendingPathComponent("cam-m1-media"))
        for ref in refs {
            try await DeviceMedia.enqueue(
                DeviceMedia.Entry(sha256: ref.sha256, size: 10, contentType: "image/jpeg"), in: a.store)
        }
        #expect(try await a.sync(media: media).purged == n, "two pages in one sync")
        #expect(Set(media.purged()).symmetricDifference(refs.map(\.sha256)).isEmpty)
        let bad = await RawHTTP.send(
            port: server.port, "POST", "/v1/sync", headers: ["Authorization": "Bearer \(a.token)"],
            body: Data(#"{"purged_after": "not-a-cursor"}"#.utf8))
        #expect(bad?.status == 400)
        await server.stop()
    }
}
