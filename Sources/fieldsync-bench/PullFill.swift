import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import FieldSyncStore
import Foundation

/// Fills a server database with `count` signed changes (one device creating reports), and
/// prepares an enrollment for a reader device: the set-up of the 1M-change pull benchmark.
enum PullFill {
    static func run(database: String, count: Int, tokenFile: String) async throws {
        let server = try await EmbeddedServer.start(database: database)
        let writer = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "filler"), by: .currentShell)
        let key = DeviceKey()
        _ = try await FieldSyncAPI(transport: URLSessionTransport(baseURL: server.url)).register(
            enrollmentToken: writer.enrollmentToken, publicKey: key.publicKey)
        var device = LocalDevice(id: DeviceID(rawValue: "filler")!)
        var written = 0
        while written < count {
            var batch: [SignedChange] = []
            for _ in 0..<min(5_000, count - written) {
                let id = ReportID(rawValue: "fill-\(written)")!
                let change = try device.makeChange(
                    report: id, county: "kisumu", head: nil,
                    ops: [
                        .create(county: "kisumu"), .set(field: .serviceCode, value: "pothole"),
                        .set(field: .description, value: .string("Report \(written) for the pull benchmark")),
                        .set(field: .status, value: "open"),
                    ],
                    wallMillis: 1_795_000_000_000 + UInt64(written))
                batch.append(key.signed(change))
                written += 1
            }
            _ = try await server.service.store.ingest(signed: batch)
        }
        let reader = try await server.service.enroll(
            EnrollmentRequest(county: "kisumu", deviceID: "reader"), by: .currentShell)
        try reader.enrollmentToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        await server.stop()
        print("filled \(database) with \(count) changes; reader enrollment token in \(tokenFile)")
    }
}
