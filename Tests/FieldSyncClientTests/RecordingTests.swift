import FieldSyncSigning
import FieldSyncClient
import FieldSyncCore
import FieldSyncTestSupport
import Foundation
import Testing

/// The recording and replay path directly: a device syncs through `RecordingTransport` to a
/// real server on loopback; the file holds every exchange without the device's token, parses
/// back, and replays against the same server with no divergence.
@Suite(.serialized) struct RecordingTests {
    @Test func aRecordedSessionParsesWithoutTheTokenAndReplays() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("rec-1")
        try await device.create("r-rec-1")
        try await device.write([.set(field: .status, value: "in_progress")], to: "r-rec-1")
        let path = server.dir.appendingPathComponent("rec-1.jsonl").path
        let header = Recording.Header(
            deviceID: "rec-1", county: "kisumu", publicKey: device.key.publicKey.base64EncodedString(),
            server: server.baseURL.absoluteString, startedAtMillis: 0, link: nil)
        let recorder = try RecordingTransport(URLSessionTransport(baseURL: server.baseURL), path: path, header: header)
        let summary = try await device.sync(transport: recorder)
        #expect(summary.pushed == 2)

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.range(of: Data(device.token.utf8)) == nil, "the recording must not hold the device token")
        let recording = try Recording.read(path)
        #expect(recording.header.deviceID == "rec-1")
        #expect(!recording.exchanges.isEmpty)
        #expect(recording.exchanges.map(\.index) == Array(1...recording.exchanges.count))
        #expect(recording.exchanges.allSatisfy { $0.response?.status == 200 && $0.error == nil })
        #expect(recording.exchanges.allSatisfy { $0.request.headers["Authorization"] == nil })

        let report = try await Replayer(transport: URLSessionTransport(baseURL: server.baseURL), token: device.token)
            .replay(recording)
        #expect(report.replayed == recording.exchanges.count)
        #expect(report.divergences.isEmpty, "\(report.divergences)")
        await server.stop()
    }

    @Test func aTruncatedOrForeignFileIsRefusedWithAReason() throws {
        #expect(throws: FieldSyncError.self) { try Recording.parse(Data("not a recording\n".utf8)) }
        #expect(throws: FieldSyncError.self) { try Recording.parse(Data()) }
        #expect(throws: FieldSyncError.self) { try Recording.read("/nonexistent/recording.jsonl") }
    }
}
