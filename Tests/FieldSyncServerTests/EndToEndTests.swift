import FieldSyncSQLite
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncScenario
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

@Suite(.serialized) struct EndToEndTests {
    @Test func twoDevicesConvergeThroughTheServer() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        // Concurrent offline edits of the same field.
        try await a.write([.set(field: .status, value: "closed")], to: "r1")
        try await b.write([.set(field: .status, value: "in_progress"), .appendNote(text: "crew sent")], to: "r1")
        let pa = try await a.sync()
        let pb = try await b.sync()
        try await a.sync()
        #expect(pa.pushed == 1 && pb.pushed == 1)
        let sa = try await a.store.canonicalState(), sb = try await b.store.canonicalState()
        #expect(sa == sb)
        #expect(try await server.service.store.canonicalState() == sa)
        #expect(try await server.service.store.conflicts(ConflictFilter(open: true)).map(\.id) == ["r1/status"])
        await server.stop()
    }

    @Test func tenDevicesConverge() async throws {
        let server = try await TestServer.start()
        var devices: [TestDevice] = []
        for i in 0..<10 { devices.append(try await server.device("dev-\(i)")) }
        try await devices[0].create("shared")
        try await devices[0].sync()
        var rng = SplitMix64(seed: 10)
        for round in 0..<3 {
            for d in devices {
                try await d.sync()
                for e in 0..<5 {
                    if rng.chance(0.3) {
                        try await d.write(
                            [.set(field: .priority, value: .int(Int64.random(in: 1...4, using: &rng)))], to: "shared")
                    } else {
                        let id = "\(d.id)-\(round)-\(e)"
                        try await d.create(id)
                    }
                }
            }
        }
        for d in devices { try await d.sync() }
        for d in devices { try await d.sync() }
        let reference = try await server.service.store.canonicalState()
        for d in devices {
            #expect(try await d.store.canonicalState() == reference, "device \(d.id) diverged")
        }
        #expect(try await server.service.store.changeCount() == 1 + 10 * 3 * 5)
        await server.stop()
    }

    @Test func rePushingIsIdempotentAndUpToDateSyncIsOneSmallRoundTrip() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a")
        for i in 0..<20 { try await a.create("r\(i)") }
        let first = try await a.sync()
        #expect(first.pushed == 20)
        let before = try await server.fingerprint()
        // Push the same changes again, directly.
        let all = try await a.store.changes(after: 0, county: nil, limit: 1_000).changes.map(\.signed)
        var traffic = FieldSyncAPI.Traffic()
        let again = try await a.api.sync(SyncRequest(changes: all), traffic: &traffic)
        #expect(again.accepted?.applied == 0)
        #expect(again.accepted?.duplicates == 20)
        #expect(try await server.fingerprint() == before)
        // Up to date: one round trip, a few hundred bytes.
        let upToDate = try await a.sync()
        #expect(upToDate.roundTrips == 1)
        #expect(upToDate.pushed == 0 && upToDate.pulled == 0)
        #expect(
            upToDate.bytesSent + upToDate.bytesReceived < 300,
            "up-to-date sync cost \(upToDate.bytesSent + upToDate.bytesReceived) bytes")
        print(
            "up-to-date sync: \(upToDate.roundTrips) round trip, \(upToDate.bytesSent) bytes up + \(upToDate.bytesReceived) bytes down"
        )
        await server.stop()
    }

    @Test func operatorResolutionFlowsBackToDevices() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        let ca = try await a.write([.set(field: .status, value: "closed")], to: "r1")
        try await b.write([.set(field: .status, value: "in_progress")], to: "r1")
        try await a.sync()
        try await b.sync()
        let op = server.api(token: try await server.operatorToken(["kisumu"]))
        let open = try await op.conflicts(query: ["state": "open"])
        #expect(open.conflicts.map(\.id) == ["r1/status"])
        let resolved = try await op.resolve("r1/status", ResolveRequest(choose: ca.dot.description))
        #expect(resolved.conflict?.resolution?.value == "closed")
        #expect(resolved.conflict?.resolution?.chosen == ca.dot)
        #expect(resolved.change.dot.device.rawValue == "fieldsyncd")
        try await a.sync()
        try await b.sync()
        for d in [a, b] {
            #expect(try await d.store.conflicts(ConflictFilter(open: true)).isEmpty)
            #expect(try await d.store.report(ReportID(rawValue: "r1")!)?[.status] == "closed")
            #expect(
                try await d.store.conflicts(ConflictFilter(open: false)).first?.resolution?.device.rawValue
                    == "fieldsyncd")
        }
        #expect(try await a.store.canonicalState() == server.service.store.canonicalState())
        // Reports and history for operators.
        let detail = try await op.report("r1")
        #expect(detail.history.count == 4)
        let list = try await op.reports(query: ["status": "closed"])
        #expect(list.reports.map(\.id.rawValue) == ["r1"])
        await server.stop()
    }

    /// Regression: a number with an integral value (lat = -1.0) is one value on the wire and in
    /// every signature, so the server verifies it and every replica shows the same.
    @Test func integralNumbersSurviveTheWireAndTheSignature() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.write(
            [
                .create(county: "kisumu"), .set(field: .lat, value: .double(-1.0)),
                .set(field: .long, value: .double(34.5)),
                .set(field: FieldName(rawValue: "attributes.depth")!, value: .array([.double(2.0), .double(2.5)])),
            ], to: "r-int")
        #expect(try await a.sync().pushed == 1)
        try await b.sync()
        let report = try #require(try await b.store.report(ReportID(rawValue: "r-int")!))
        #expect(report[.lat] == .int(-1))
        #expect(report[.long] == .double(34.5))
        #expect(try await a.store.canonicalState() == b.store.canonicalState())
        await server.stop()
    }

    @Test func relayedChangesArriveWithVerifiedSignatures() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("village-1")
        try await a.write([.appendNote(text: "no signal here")], to: "village-1")
        // A meets B in the village; only B later reaches the server.
        _ = try await b.meet(a).0.get()
        let summary = try await b.sync()
        #expect(summary.pushed == 2)
        #expect(try await server.service.store.highestSeq(of: a.id) == 2)
        // A syncs later: nothing to push, nothing lost.
        let later = try await a.sync()
        #expect(later.pushed == 0)
        #expect(try await a.store.canonicalState() == server.service.store.canonicalState())
        await server.stop()
    }
}
