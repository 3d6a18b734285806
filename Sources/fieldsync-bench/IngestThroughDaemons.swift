import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncScenario
import FieldSyncSigning
import Foundation

/// Persisted ingest through running daemons (`scripts/bench-scaleout`): the standard scenario's
/// devices enroll, sign their logs (signed runs, 500-change pushes, as `fieldsync sync` sends),
/// and push all at once — each device's requests going to every daemon in turn, as behind a
/// load balancer. Measures changes/s from the first push to the last answer; the daemons' store
/// (SQLite or PostgreSQL) is whatever they were started on.
enum IngestThroughDaemons {
    static func run(
        servers: [URL], adminToken: String, scenario: StandardScenario
    ) async throws -> (changes: Int, seconds: Double) {
        let generated = scenario.generate()
        let admin = FieldSyncAPI(transport: URLSessionTransport(baseURL: servers[0], timeout: 300), token: adminToken)
        // Enroll every author; sign every push before the clock starts.
        var pushes: [(token: String, batches: [[SignedChange]])] = []
        var authors: [(DeviceID, [Change])] = [(DeviceID(rawValue: "county-desk")!, generated.seedChanges)]
        for log in generated.deviceLogs where !log.isEmpty { authors.append((log[0].dot.device, log)) }
        for (id, log) in authors {
            let enrollment = try await admin.enroll(EnrollmentRequest(county: scenario.county, deviceID: id.rawValue))
            let key = DeviceKey()
            let registered = try await FieldSyncAPI(transport: URLSessionTransport(baseURL: servers[0])).register(
                enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
            var batches: [[SignedChange]] = []
            for start in stride(from: 0, to: log.count, by: 500) {
                let changes = Array(log[start..<min(start + 500, log.count)])
                batches.append(
                    SignedChange.sealingRuns(
                        changes.map { SignedChange(change: $0, signature: nil) }, author: id, sign: { key.signRun($0) })
                )
            }
            pushes.append((registered.token, batches))
        }
        // The shared reports first (every device's log depends on them), untimed.
        let desk = pushes.removeFirst()
        let deskAPI = FieldSyncAPI(transport: URLSessionTransport(baseURL: servers[0], timeout: 300), token: desk.token)
        for b in desk.batches {
            var t = FieldSyncAPI.Traffic()
            _ = try await deskAPI.sync(SyncRequest(changes: b, limit: 0), traffic: &t)
        }
        let start = DispatchTime.now()
        let applied = try await withThrowingTaskGroup(of: Int.self) { group in
            for (i, push) in pushes.enumerated() {
                group.addTask {
                    let transport = SpreadTransport(
                        servers.map { URLSessionTransport(baseURL: $0, timeout: 300) }, offset: i)
                    let api = FieldSyncAPI(transport: transport, token: push.token)
                    var applied = 0
                    for b in push.batches {
                        var t = FieldSyncAPI.Traffic()
                        let r = try await api.sync(SyncRequest(changes: b, limit: 0), traffic: &t)
                        applied += r.accepted?.applied ?? 0
                    }
                    return applied
                }
            }
            return try await group.reduce(0, +)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let expected = generated.deviceLogs.reduce(0) { $0 + $1.count }
        guard applied == expected else {
            throw FieldSyncError(.storage, "the daemons applied \(applied) changes of \(expected) pushed")
        }
        return (applied, seconds)
    }
}
