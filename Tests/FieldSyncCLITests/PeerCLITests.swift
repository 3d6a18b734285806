import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Synchronization
import Testing

/// `fieldsync peer listen` and `fieldsync peer sync` as two processes over TCP on loopback.
@Suite(.serialized) struct PeerCLITests {
    /// A `fieldsync peer listen` process and the port it printed.
    final class Listener: Sendable {
        let process: Process
        let port: Int
        let output = TextBox()

        init(args: [String], in dir: URL) throws {
            let executable = try #require(Binaries.binary("fieldsync"), "build fieldsync first (swift build)")
            process = Process()
            process.executableURL = executable
            process.arguments = ["peer", "listen", "--host", "127.0.0.1", "--port", "0"] + args
            process.currentDirectoryURL = dir
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            var text = ""
            let handle = pipe.fileHandleForReading
            while !text.contains("\n") {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            let line = text.split(separator: "\n").first.map(String.init) ?? ""
            port = Int(line.split(separator: ":").last ?? "") ?? 0
            output.append(text)
            let output = self.output
            handle.readabilityHandler = { h in output.append(String(decoding: h.availableData, as: UTF8.self)) }
        }

        /// Waits for the process to end (after `--once`), or stops it; returns its status and output.
        func finish(stop: Bool = false) -> (Int32, String) {
            if stop { process.terminate() }
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.1)
            return (process.terminationStatus, output.text)
        }
    }

    /// A server and enrolled devices driven through the CLI in one directory.
    struct Field {
        let server: TestServer
        var dir: URL { server.dir }

        static func start() async throws -> Field { Field(server: try await TestServer.start()) }

        func ok(_ args: [String]) async throws -> String {
            let r = try await Binaries.cli(args, in: dir)
            #expect(r.status == 0, "fieldsync \(args.joined(separator: " ")) failed: \(r.out)")
            return r.out
        }

        func enroll(_ id: String, county: String = "kisumu") async throws {
            let token = try await server.service.enroll(
                EnrollmentRequest(county: county, deviceID: id), by: .currentShell
            )
            .enrollmentToken
            _ = try await ok([
                "device", "enroll", "--store", "\(id).sqlite", "--server", server.baseURL.absoluteString, "--token",
                token,
            ])
        }

        func report(_ id: String, on device: String) async throws {
            _ = try await ok([
                "report", "new", "--store", "\(device).sqlite", "--category", "pothole", "--description",
                "hole \(id)", "--id", id,
            ])
        }

        /// What a store holds (its merged state and log extents), read after its processes ended.
        func holding(_ device: String) async throws -> String {
            let store = try SQLiteStore(path: dir.appendingPathComponent("\(device).sqlite").path)
            let state = try await store.canonicalState()
            let extents = try await store.logExtents().sorted { $0.key < $1.key }
            await store.close()
            return "\(state.hashValue) \(extents)"
        }
    }

    static func outcome(_ text: String) throws -> PeerMeeting.Outcome {
        let line = try #require(text.split(separator: "\n").last { $0.hasPrefix("{\"") }, "no JSON outcome in \(text)")
        return try JSONDecoder().decode(PeerMeeting.Outcome.self, from: Data(line.utf8))
    }

    @Test func twoDevicesMeetOverTCPAndEitherCarriesBothToTheServer() async throws {
        let f = try await Field.start()
        try await f.enroll("tab-a")
        try await f.enroll("tab-b")
        for i in 0..<6 { try await f.report("a-\(i)", on: "tab-a") }
        for i in 0..<4 { try await f.report("b-\(i)", on: "tab-b") }
        let photo = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try photo.write(to: f.dir.appendingPathComponent("pothole.jpg"))
        _ = try await f.ok(["report", "attach", "a-0", "--store", "tab-a.sqlite", "--file", "pothole.jpg"])
        let rec = f.dir.appendingPathComponent("meeting.jsonl").path
        let listener = try Listener(args: ["--store", "tab-a.sqlite", "--once", "--json"], in: f.dir)
        #expect(listener.port > 0)
        let out = try await f.ok([
            "peer", "sync", "--store", "tab-b.sqlite", "--with", "127.0.0.1:\(listener.port)", "--json", "--record",
            rec,
        ])
        let (status, listened) = listener.finish()
        #expect(status == 0, "\(listened)")
        let b = try Self.outcome(out), a = try Self.outcome(listened)
        #expect(b.peer == "tab-a" && b.applied == 7 && b.sent == 4 && b.peerApplied == 4)
        #expect(a.peer == "tab-b" && a.applied == 4 && a.sent == 7)
        #expect(b.bytesSent == a.bytesReceived && b.bytesReceived == a.bytesSent)
        #expect(b.photosReceived == 1 && b.photoBytesReceived == photo.count && a.photosSent == 1)
        #expect(try await f.holding("tab-a") == f.holding("tab-b"))
        let recorded = try String(contentsOfFile: rec, encoding: .utf8).split(separator: "\n")
        #expect(
            recorded.first?.contains(#""message":"hello""#) == true
                && recorded.count == b.messagesSent + b.messagesReceived)
        let mode = try FileManager.default.attributesOfItem(atPath: rec)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Only b reaches a mast: a's work arrives at the server, checked against a's signatures.
        _ = try await f.ok(["sync", "--store", "tab-b.sqlite"])
        #expect(try await f.server.service.store.highestSeq(of: DeviceID(rawValue: "tab-a")!) == 7)
        let desk = try await f.server.operatorToken(["kisumu"])
        let reply = await RawHTTP.send(
            port: f.server.port, "GET", "/v1/media/\(Digest.sha256Hex(photo))",
            headers: ["Authorization": "Bearer \(desk)"])
        #expect(reply?.status == 200 && reply?.body == photo, "the photo went to the server with b's sync")
        await f.server.stop()
    }

    @Test func aPeerThatConnectsAndSaysNothingDoesNotHoldTheListener() async throws {
        let f = try await Field.start()
        try await f.enroll("tab-a")
        try await f.enroll("tab-b")
        try await f.report("b-1", on: "tab-b")
        let listener = try Listener(args: ["--store", "tab-a.sqlite", "--greeting-timeout", "1"], in: f.dir)
        let silent = try #require(RawSocket(port: listener.port))
        let out = try await f.ok([
            "peer", "sync", "--store", "tab-b.sqlite", "--with", "127.0.0.1:\(listener.port)", "--json",
        ])
        #expect(try Self.outcome(out).sent == 1)
        #expect(silent.closedByPeer(within: 5), "the silent connection was closed")
        let (_, listened) = listener.finish(stop: true)
        #expect(listened.contains("timeout"), "\(listened)")
        await f.server.stop()
    }

    @Test(arguments: [101, 202, 303] as [UInt64])
    func aMeetingCutAtRandomMomentsResumesAndLosesNothing(seed: UInt64) async throws {
        let f = try await Field.start()
        try await f.enroll("tab-a")
        try await f.enroll("tab-b")
        for i in 0..<30 { try await f.report("a-\(i)", on: "tab-a") }
        for i in 0..<20 { try await f.report("b-\(i)", on: "tab-b") }
        let listener = try Listener(args: ["--store", "tab-a.sqlite", "--batch", "3"], in: f.dir)
        var attempts = 0
        var cut = 0
        while attempts < 40 {
            attempts += 1
            let r = try await Binaries.cli(
                [
                    "peer", "sync", "--store", "tab-b.sqlite", "--with", "127.0.0.1:\(listener.port)", "--batch", "3",
                    "--link", "custom:bw=100000,rtt=2,cut=0.12", "--seed", "\(seed &+ UInt64(attempts))",
                ], in: f.dir)
            if r.status == 0 { break }
            #expect(r.out.contains("timeout"), "seed \(seed): \(r.out)")
            cut += 1
        }
        _ = listener.finish(stop: true)
        #expect(attempts < 40 && cut > 0, "seed \(seed): \(cut) cuts in \(attempts) meetings")
        #expect(try await f.holding("tab-a") == f.holding("tab-b"), "seed \(seed)")
        await f.server.stop()
    }

    @Test func peersOfAnotherCountyRevokedOrForgingAreRefusedWithNothingStored() async throws {
        let f = try await Field.start()
        try await f.enroll("tab-a")
        try await f.enroll("tab-b")
        try await f.enroll("tab-x", county: "nakuru")
        try await f.enroll("tab-r")
        try await f.report("b-1", on: "tab-b")
        try await f.report("x-1", on: "tab-x")
        try await f.report("r-1", on: "tab-r")
        func meet(_ store: String) async throws -> (Binaries.Run, Int32, String) {
            let listener = try Listener(args: ["--store", "tab-a.sqlite", "--once"], in: f.dir)
            let r = try await Binaries.cli(
                ["peer", "sync", "--store", "\(store).sqlite", "--with", "127.0.0.1:\(listener.port)"], in: f.dir)
            let (status, out) = listener.finish()
            return (r, status, out)
        }
        let before = try await f.holding("tab-a")
        defer { _ = before }
        let (x, xs, xl) = try await meet("tab-x")
        #expect(x.status != 0 && x.out.contains("wrong_county") && xs != 0 && xl.contains("wrong_county"))
        #expect(try await f.holding("tab-a") == before)
        // The server revokes tab-r; a learns it at its next sync.
        _ = try await f.server.service.revoke("tab-r", by: .currentShell)
        _ = try await f.ok(["sync", "--store", "tab-a.sqlite"])
        let synced = try await f.holding("tab-a")
        let (r, rs, rl) = try await meet("tab-r")
        #expect(
            r.status != 0 && r.out.contains("device_revoked") && rs != 0 && rl.contains("device_revoked"),
            "\(r.out) \(rl)")
        #expect(try await f.holding("tab-a") == synced)
        // c syncs its work; b takes it from the server with c's certificate, then carries a second
        // change "by tab-c" that tab-c never signed.
        try await f.enroll("tab-c")
        try await f.report("c-1", on: "tab-c")
        _ = try await f.ok(["sync", "--store", "tab-c.sqlite"])
        _ = try await f.ok(["sync", "--store", "tab-b.sqlite"])
        let bStore = try SQLiteStore(path: f.dir.appendingPathComponent("tab-b.sqlite").path)
        let c1 = try #require(try await bStore.storedChange(Dot(device: DeviceID(rawValue: "tab-c")!, seq: 1)))
        let forged = Change(
            dot: Dot(device: c1.dot.device, seq: 2), report: c1.report, county: "kisumu",
            context: VersionVector([c1.dot.device: 1]), hlc: HybridTimestamp(millis: c1.hlc.millis + 1),
            ops: [.set(field: .status, value: "closed")])
        let took = try await bStore.ingest(
            signed: [SignedChange(change: forged, signature: Data(repeating: 1, count: 64))], preRefused: [:],
            atomic: false, via: nil)
        #expect(took.applied == 1, "\(took)")
        await bStore.close()
        let (b, bs, bl) = try await meet("tab-b")
        #expect(b.status != 0 && b.out.contains("bad_signature") && bs != 0 && bl.contains("bad_signature"), "\(b.out)")
        #expect(try await f.holding("tab-a") == synced, "the batch with the forged change was not stored")
        await f.server.stop()
    }
}

/// Text appended from another thread.
final class TextBox: Sendable {
    private let value = Mutex("")
    func append(_ s: String) { value.withLock { $0 += s } }
    var text: String { value.withLock { $0 } }
}
