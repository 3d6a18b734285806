import FieldSyncCore
import FieldSyncSigning
import FieldSyncTestSupport
import Foundation
import Testing

/// A third-party tus client uploads to the daemon: PyPI's `tuspy` (scripts/tus-check.py), in
/// chunks with sha1 checksums, cut after the first chunk and resumed by a fresh uploader.
/// `.ci/run` installs tuspy; under `CI=true` its absence is a failure, elsewhere a skip.
@Suite(.serialized) struct TusClientTests {
    @Test func tuspyUploadsResumesAndFindsAHeldFileComplete() async throws {
        guard Binaries.pythonModule("tusclient") else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "tuspy is not installed (pip install tuspy)")
            print("note: tuspy is not installed; the third-party tus client test is skipped")
            return
        }
        let server = try await TestServer.start()
        var rng = SplitMix64(seed: 16)
        let file = Data((0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let device = try await MediaUploadTests.attach(file, on: server, device: "tus-1")
        let path = server.dir.appendingPathComponent("photo.jpg")
        try file.write(to: path)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/tus-check.py")
        let (status, out) = try await Binaries.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", script.path, server.baseURL.absoluteString, device.token, path.path, "65536"])
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("ok "))
        await server.stop()
    }
}
