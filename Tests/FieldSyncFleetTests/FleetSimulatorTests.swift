import FieldSyncClient
import FieldSyncCore
import FieldSyncFleet
import FieldSyncTestSupport
import Foundation
import Testing

/// The fleet simulator as a library: many devices against a real server on loopback, offline
/// rounds, peer meetings and a flaky link; its convergence check must catch a lost change.
@Suite(.serialized) struct FleetSimulatorTests {
    @Test func fleetSimulationConvergesAndTheCheckCatchesAWithheldChange() async throws {
        let server = try await TestServer.start()
        var scenario = FleetScenario(name: "tiny")
        scenario.counties = [.init(name: "kisumu", devices: 4), .init(name: "nairobi", devices: 3)]
        scenario.rounds = 2
        scenario.editsPerRound = 4
        scenario.peerMeetingsPerRound = 2
        scenario.sharedReports = 2
        scenario.link = "flaky"
        let dir = server.dir.appendingPathComponent("fleet")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let good = try await FleetSimulator(
            scenario: scenario, server: server.baseURL, adminToken: server.adminToken, directory: dir
        ).run()
        #expect(good.diverged.isEmpty)
        #expect(good.changesOnServer == good.changesWritten)
        let dir2 = server.dir.appendingPathComponent("fleet2")
        try FileManager.default.createDirectory(at: dir2, withIntermediateDirectories: true)
        var bad = FleetSimulator(
            scenario: scenario, server: server.baseURL, adminToken: server.adminToken, directory: dir2)
        bad.withholdOneChange = true
        let caught = try await bad.run()
        #expect(caught.diverged.count == 1, "the check must notice a change that never reached the server")
        await server.stop()
    }
}
