import FieldSyncServer
import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// What the tools say is what happened (issue 14, item 9).
@Suite(.serialized) struct SmallLiesTests {
    @Test func aSyncCountsEachConflictOnce() async throws {
        let server = try await TestServer.start()
        let a = try await server.device("tab-a"), b = try await server.device("tab-b")
        try await a.create("r1")
        try await a.sync()
        try await b.sync()
        try await a.write([.set(field: .status, value: "in_progress")], to: "r1")
        try await a.write([.set(field: .priority, value: 2)], to: "r1")
        try await a.sync()
        try await b.write([.set(field: .status, value: "closed")], to: "r1")
        try await b.write([.set(field: .priority, value: 3)], to: "r1")
        // b's push opens two conflicts on the server, and its pull opens the same two here.
        let summary = try await b.sync()
        #expect(summary.conflictsOpened == 2, "\(summary)")
        #expect(try await server.service.store.conflicts(ConflictFilter(open: true, limit: 10)).count == 2)
        await server.stop()
    }

    @Test func theCommandLineTellsTheTruth() async throws {
        let server = try await TestServer.start()
        let dir = server.dir
        let s = server.baseURL.absoluteString
        func run(_ args: [String]) async throws -> Binaries.Run { try await Binaries.cli(args, in: dir) }
        let e = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "cli-a"), by: .currentShell
        )
        .enrollmentToken
        #expect(try await run(["device", "enroll", "--store", "a.sqlite", "--server", s, "--token", e]).status == 0)
        // A negative number after an option is its value.
        let long = String(repeating: "x", count: 60) + "-1"
        let created = try await run([
            "report", "new", "--store", "a.sqlite", "--id", long, "--category", "pothole", "--description", "Hole",
            "--lat", "-0.09", "--long", "34.77",
        ])
        #expect(created.status == 0, "\(created.out)")
        // Ids are never cut in tables.
        let list = try await run(["report", "list", "--store", "a.sqlite"])
        #expect(list.out.contains(long), "\(list.out)")
        // Editing a report that is not there says so.
        let edit = try await run(["report", "edit", "no-such-report", "--store", "a.sqlite", "--set", "status=closed"])
        #expect(edit.status != 0 && edit.out.contains("there is no report no-such-report"), "\(edit.out)")
        // A generated day of work ends now: the device's clock is not pushed ahead.
        #expect(try await run(["report", "generate", "--store", "a.sqlite", "--count", "500"]).status == 0)
        let log = try JSONDecoder().decode(
            [Change].self, from: Data(try await run(["log", "--store", "a.sqlite", "--json"]).out.utf8))
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(
            log.count == 501 && (log.map(\.hlc.millis).max() ?? 0) <= now + 2_000,
            "the last edit is stamped \((log.map(\.hlc.millis).max() ?? 0) - now) ms ahead")
        await server.stop()
    }
}
