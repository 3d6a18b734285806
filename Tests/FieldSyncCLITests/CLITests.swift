import FieldSyncServer
import FieldSyncClient
import FieldSyncCore
import FieldSyncSigning
import FieldSyncFleet
import FieldSyncProtocol
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// The `fieldsync` binary end to end against a live daemon: device commands, sync, peer sync,
/// operator tools, record and replay.
@Suite(.serialized) struct CLITests {
    @Test func deviceAndOperatorCommandsEndToEnd() async throws {
        let server = try await TestServer.start()
        let dir = server.dir
        let s = server.baseURL.absoluteString
        func ok(_ args: [String]) async throws -> String {
            let r = try await Binaries.cli(args, in: dir)
            #expect(r.status == 0, "fieldsync \(args.joined(separator: " ")) failed: \(r.out)")
            return r.out
        }
        let e1 = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "cli-a"), by: .currentShell
        )
        .enrollmentToken
        let e2 = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "cli-b"), by: .currentShell
        )
        .enrollmentToken
        _ = try await ok(["device", "enroll", "--store", "a.sqlite", "--server", s, "--token", e1])
        _ = try await ok(["device", "enroll", "--store", "b.sqlite", "--server", s, "--token", e2])
        let reused = try await Binaries.cli(
            ["device", "enroll", "--store", "c.sqlite", "--server", s, "--token", e1], in: dir)
        #expect(reused.status != 0 && reused.out.contains("invalid_enrollment"))

        let id = try await ok([
            "report", "new", "--store", "a.sqlite", "--category", "pothole", "--description", "Hole at Kondele",
            "--lat=-0.09", "--long", "34.77", "--reporter-phone", "+254700000001", "--attr", "depth_cm=30", "--id",
            "pot-1",
        ])
        #expect(id.trimmingCharacters(in: .whitespacesAndNewlines) == "pot-1")
        _ = try await ok(["report", "tag", "pot-1", "--store", "a.sqlite", "--add", "urgent"])
        _ = try await ok(["report", "note", "pot-1", "--store", "a.sqlite", "Seen by the roads team"])
        let shown = try await ok(["report", "show", "pot-1", "--store", "a.sqlite"])
        #expect(shown.contains("(personal — use --personal)") && !shown.contains("+254700000001"))
        let json = try await ok(["report", "show", "pot-1", "--store", "a.sqlite", "--json"])
        let report = try JSONDecoder().decode(Report.self, from: Data(json.utf8))
        #expect(report.tags == ["urgent"])
        #expect(report.fields["attributes.depth_cm"] == .int(30))
        #expect(report.notes.map(\.text) == ["Seen by the roads team"])
        let statusBefore = try await ok(["status", "--store", "a.sqlite", "--json"])
        #expect(try JSONDecoder().decode(DeviceSync.Status.self, from: Data(statusBefore.utf8)).pending == 3)

        let synced = try await ok([
            "sync", "--store", "a.sqlite", "--link", "2g", "--seed", "4", "--record", "a.jsonl", "--json",
        ])
        #expect(synced.contains("\"pushed\" : 3"))
        _ = try await ok(["sync", "--store", "b.sqlite"])
        _ = try await ok([
            "report", "edit", "pot-1", "--store", "a.sqlite", "--set", "status=closed", "--set",
            "reporter_phone=+254700000002",
        ])
        _ = try await ok([
            "report", "edit", "pot-1", "--store", "b.sqlite", "--set", "status=in_progress", "--set",
            "reporter_phone=+254700000003",
        ])
        let peer = try await ok(["peer", "sync", "--store", "a.sqlite", "--with", "b.sqlite"])
        #expect(peer.contains("met cli-b: sent 1 changes (1 new there)"), "\(peer)")
        _ = try await ok(["sync", "--store", "b.sqlite", "--link", "flaky", "--seed", "9"])
        let log = try await ok(["log", "--store", "a.sqlite", "--json"])
        #expect(try JSONDecoder().decode([Change].self, from: Data(log.utf8)).count == 4)

        let op = try await server.operatorToken(["kisumu"])
        let conflicts = try await ok(["conflicts", "list", "--server", s, "--token", op, "--json"])
        let list = try JSONDecoder().decode(ConflictList.self, from: Data(conflicts.utf8))
        #expect(list.conflicts.map(\.id).sorted() == ["pot-1/reporter_phone", "pot-1/status"])
        // Reporters' phone numbers appear only with --personal, in tables and JSON alike.
        for args in [
            ["conflicts", "list"], ["conflicts", "list", "--json"], ["conflicts", "show", "pot-1/reporter_phone"],
            ["reports", "history", "pot-1", "--json"], ["reports", "list", "--json"],
            ["reports", "show", "pot-1", "--json"],
        ] {
            let out = try await ok(args + ["--server", s, "--token", op])
            #expect(!out.contains("+2547000000"), "\(args.joined(separator: " ")) printed a phone number")
        }
        let personal = try await ok(["conflicts", "list", "--personal", "--server", s, "--token", op])
        #expect(personal.contains("+254700000002") && personal.contains("+254700000003"))
        let chosen = try #require(
            list.conflicts.first { $0.field == .status }?.candidates.first { $0.value == "closed" }?.dot)
        _ = try await ok([
            "conflicts", "resolve", "pot-1/status", "--choose", chosen.description, "--server", s, "--token", op,
        ])
        let table = try await ok(["conflicts", "list", "--state", "resolved", "--server", s, "--token", op])
        #expect(table.contains("pot-1/status/fieldsyncd:1"))
        _ = try await ok([
            "conflicts", "resolve", "pot-1/reporter_phone", "--value", "+254700000004", "--server", s, "--token", op,
        ])
        let history = try await ok(["reports", "history", "pot-1", "--server", s, "--token", op])
        #expect(
            history.contains("fieldsyncd:1") && history.contains("resolves status") && !history.contains("+2547000000"))
        _ = try await ok(["sync", "--store", "a.sqlite"])
        let after = try await ok(["report", "show", "pot-1", "--store", "a.sqlite", "--json"])
        #expect(try JSONDecoder().decode(Report.self, from: Data(after.utf8)).conflicted.isEmpty)

        // Replay a's first session: against the same server it changes nothing...
        let before = try await server.fingerprint()
        let token = try #require(
            try await SQLiteStore(path: dir.appendingPathComponent("a.sqlite").path).setting("device.token"))
        let sameServer = try await Binaries.cli(["replay", "a.jsonl", "--server", s, "--token", token], in: dir)
        #expect(try await server.fingerprint() == before, "replaying against the original server changed it")
        #expect(sameServer.out.contains("replayed"))
        // ...and against a fresh server it rebuilds the same state for that session.
        let fresh = try await TestServer.start()
        let replay = try await Binaries.cli(
            ["replay", "a.jsonl", "--server", fresh.baseURL.absoluteString, "--admin-token", fresh.adminToken], in: dir)
        #expect(replay.status == 0, "replay diverged: \(replay.out)")
        #expect(replay.out.contains("no divergence"))
        #expect(try await fresh.service.store.highestSeq(of: DeviceID(rawValue: "cli-a")!) == 3)
        let recorded = try Recording.read(dir.appendingPathComponent("a.jsonl").path)
        #expect(recorded.header.deviceID == "cli-a" && !recorded.exchanges.isEmpty)
        #expect(recorded.exchanges.allSatisfy { $0.request.headers["Authorization"] == nil }, "a token was recorded")
        await fresh.stop()
        await server.stop()
    }

    @Test func simulatedLinksAreReproducibleAndCutSyncsConverge() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("link-a")
        for i in 0..<40 { try await a.create("l\(i)") }
        func run(_ seed: UInt64) async throws -> (Double, Int) {
            let link = SimulatedLink(URLSessionTransport(baseURL: server.baseURL), profile: .flaky, seed: seed)
            var sync = DeviceSync(store: a.store, api: FieldSyncAPI(transport: link, token: a.token))
            sync.serverName = "link-\(seed)-\(UUID().uuidString)"
            sync.pushBatch = 5
            let (_, attempts) = try await sync.runWithRetries(maxAttempts: 100, seed: seed, sleep: { _ in })
            return (link.simulatedSeconds, attempts)
        }
        _ = try await run(42)
        // Same seed, same requests: the same cuts, losses and simulated time.
        func probe(_ seed: UInt64) async -> (Double, [Bool]) {
            let link = SimulatedLink(URLSessionTransport(baseURL: server.baseURL), profile: .flaky, seed: seed)
            var outcomes: [Bool] = []
            for _ in 0..<60 {
                let ok = (try? await link.send(TransportRequest(method: "GET", path: "/healthz"))) != nil
                outcomes.append(ok)
            }
            return (link.simulatedSeconds, outcomes)
        }
        let p1 = await probe(7), p2 = await probe(7), p3 = await probe(8)
        #expect(p1.0 == p2.0 && p1.1 == p2.1, "same seed, different behaviour")
        #expect(p1.1 != p3.1 || p1.0 != p3.0, "different seeds behaved identically")
        #expect(p1.1.contains(false) && p1.1.contains(true), "a flaky link should both cut and deliver")
        #expect(try await server.service.store.changeCount() == 40)
        #expect(try await a.store.canonicalState() == server.service.store.canonicalState())
        // A 2G link costs about bytes ÷ bandwidth plus round trips.
        let twoG = SimulatedLink(
            URLSessionTransport(baseURL: server.baseURL), profile: try LinkProfile.parse("custom:bw=20,up=18,rtt=1300"),
            seed: 1)
        var traffic = FieldSyncAPI.Traffic()
        _ = try await FieldSyncAPI(transport: twoG, token: a.token).sync(
            SyncRequest(cursor: nil, limit: 0), traffic: &traffic)
        #expect(twoG.simulatedSeconds >= 1.3)
        #expect(throws: FieldSyncError.self) { try LinkProfile.parse("5g") }
        #expect(try LinkProfile.parse("custom:bw=240,rtt=840,loss=0.01,cut=0.1").cut == 0.1)
        await server.stop()
    }

    @Test func aPhotoAttachedOfflineReachesTheDeskOverTwoG() async throws {
        let server = try await TestServer.start()
        let dir = server.dir
        func ok(_ args: [String]) async throws -> String {
            let r = try await Binaries.cli(args, in: dir)
            #expect(r.status == 0, "fieldsync \(args.joined(separator: " ")) failed: \(r.out)")
            return r.out
        }
        let token = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "cli-cam"), by: .currentShell
        ).enrollmentToken
        _ = try await ok([
            "device", "enroll", "--store", "cam.sqlite", "--server", server.baseURL.absoluteString, "--token", token,
        ])
        _ = try await ok([
            "report", "new", "--store", "cam.sqlite", "--category", "water_point", "--description", "Pump", "--id",
            "pump-1",
        ])
        var rng = SplitMix64(seed: 9)
        let photo = Data((0..<120_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        try photo.write(to: dir.appendingPathComponent("pump.jpg"))
        let attached = try await ok(["report", "attach", "pump-1", "--store", "cam.sqlite", "--file", "pump.jpg"])
        let sha = Digest.sha256Hex(photo)
        #expect(attached.contains(sha))
        let waiting = try await ok(["status", "--store", "cam.sqlite"])
        #expect(waiting.contains("media waiting for the server: 1 file, 120000 bytes") && waiting.contains(sha))
        let json = try await ok(["status", "--store", "cam.sqlite", "--json"])
        let status = try JSONDecoder().decode(DeviceSync.Status.self, from: Data(json.utf8))
        #expect(status.mediaWaiting == 1 && status.mediaWaitingBytes == 120_000)
        let synced = try await Binaries.cli(["sync", "--store", "cam.sqlite", "--link", "2g", "--json"], in: dir)
        #expect(synced.status == 0, "\(synced.out)")
        #expect(synced.out.contains(#""event":"media""#), "JSON progress events")
        #expect(synced.out.contains(#""uploaded" : 1"#))
        let after = try await ok(["status", "--store", "cam.sqlite"])
        #expect(!after.contains("media waiting"))
        let desk = try await server.operatorToken(["kisumu"])
        let reply = await RawHTTP.send(
            port: server.port, "GET", "/v1/media/\(sha)", headers: ["Authorization": "Bearer \(desk)"])
        #expect(reply?.status == 200 && reply?.body == photo)
        let noType = try await Binaries.cli(
            ["report", "attach", "pump-1", "--store", "cam.sqlite", "--file", "cam.sqlite"], in: dir)
        #expect(noType.status != 0 && noType.out.contains("--type"))
        await server.stop()
    }

    @Test func aPeerCarriesAPhotoToTheServer() async throws {
        let server = try await TestServer.start()
        let dir = server.dir
        func ok(_ args: [String]) async throws -> String {
            let r = try await Binaries.cli(args, in: dir)
            #expect(r.status == 0, "fieldsync \(args.joined(separator: " ")) failed: \(r.out)")
            return r.out
        }
        for name in ["village", "town"] {
            let token = try await server.service.enroll(
                EnrollmentRequest(county: "kisumu", deviceID: "cli-\(name)"), by: .currentShell
            ).enrollmentToken
            _ = try await ok([
                "device", "enroll", "--store", "\(name).sqlite", "--server", server.baseURL.absoluteString, "--token",
                token,
            ])
        }
        _ = try await ok([
            "report", "new", "--store", "village.sqlite", "--category", "drainage", "--description", "Flooded", "--id",
            "flood-1",
        ])
        var rng = SplitMix64(seed: 11)
        let photo = Data((0..<40_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        try photo.write(to: dir.appendingPathComponent("flood.jpg"))
        _ = try await ok(["report", "attach", "flood-1", "--store", "village.sqlite", "--file", "flood.jpg"])
        // No signal in the village: the officers meet; the one going to town carries the photo.
        let met = try await ok(["peer", "sync", "--store", "village.sqlite", "--with", "town.sqlite"])
        #expect(met.contains("photos sent 1 (40000 bytes)"), "\(met)")
        let tooSmall = try await ok([
            "peer", "sync", "--store", "village.sqlite", "--with", "town.sqlite", "--media-budget-mib", "0",
        ])
        #expect(!tooSmall.contains("photos sent"))
        _ = try await ok(["sync", "--store", "town.sqlite"])
        let desk = try await server.operatorToken(["kisumu"])
        let reply = await RawHTTP.send(
            port: server.port, "GET", "/v1/media/\(Digest.sha256Hex(photo))",
            headers: ["Authorization": "Bearer \(desk)"])
        #expect(reply?.status == 200 && reply?.body == photo)
        let town = try await ok(["status", "--store", "town.sqlite"])
        #expect(!town.contains("media waiting"), "the carrier's copy went with the upload")
        #expect(
            !FileManager.default.fileExists(
                atPath: dir.appendingPathComponent("town.sqlite-media/\(Digest.sha256Hex(photo))").path))
        await server.stop()
    }

    @Test func simulateFailsLoudlyOnDivergence() async throws {
        let server = try await TestServer.start()
        var scenario = FleetScenario(name: "tiny")
        scenario.counties = [.init(name: "kisumu", devices: 3)]
        scenario.rounds = 1
        scenario.editsPerRound = 3
        // The binary exits non-zero on divergence.
        let file = server.dir.appendingPathComponent("tiny.json")
        try JSONEncoder().encode(scenario).write(to: file)
        let run = try await Binaries.cli(
            ["simulate", "--scenario", file.path, "--withhold-one-change"], in: server.dir)
        #expect(run.status == 2, "simulate must fail loudly on divergence: \(run.out.suffix(300))")
        #expect(run.out.contains("DIVERGED"))
        await server.stop()
    }
}
