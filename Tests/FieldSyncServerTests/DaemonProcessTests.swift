import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import Testing

/// The real `fieldsyncd` binary: bootstrap from the shell, serve, SIGTERM.
@Suite struct DaemonProcessTests {
    /// Runs a command to completion on a thread of its own; returns status and output.
    static func run(_ binary: URL, _ arguments: [String], cwd: URL? = nil) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    let p = Process()
                    p.executableURL = binary
                    p.arguments = arguments
                    if let cwd { p.currentDirectoryURL = cwd }
                    let out = Pipe()
                    p.standardOutput = out
                    p.standardError = out
                    try p.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    continuation.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch { continuation.resume(throwing: error) }
            }.start()
        }
    }

    @Test func bootstrapServeAndStopCleanlyOnSIGTERM() async throws {
        let binary = try #require(CLITests.binary("fieldsyncd"), "build fieldsyncd first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fieldsyncd-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("county.sqlite").path
        let (status, adminOut) = try await Self.run(binary, ["admin", "create-admin", "--db", db])
        #expect(status == 0)
        let admin = adminOut.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(admin.hasPrefix("fsa_"), "admin tokens have their own prefix")
        let (enrollStatus, enrollOut) = try await Self.run(binary, ["admin", "enroll", "--db", db, "--county", "kisumu", "--device", "tab-1"])
        #expect(enrollStatus == 0)
        #expect(enrollOut.contains("fse_"))

        let portFile = dir.appendingPathComponent("port").path
        let server = Process()
        server.executableURL = binary
        server.arguments = ["serve", "--db", db, "--port", "0", "--port-file", portFile, "--log-level", "info"]
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        try server.run()
        var port: Int?
        for _ in 0..<200 where port == nil {
            try await Task.sleep(for: .milliseconds(50))
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let bound = try #require(port, "the daemon did not start")
        let api = FieldSyncAPI(transport: URLSessionTransport(baseURL: URL(string: "http://127.0.0.1:\(bound)")!), token: admin)
        let reports = try await api.reports()
        #expect(reports.reports.isEmpty)
        let enrollment = try await api.enroll(EnrollmentRequest(county: "nairobi"))
        #expect(enrollment.enrollmentToken.hasPrefix("fse_"))

        server.terminate()   // SIGTERM
        let output: String = await withCheckedContinuation { continuation in
            Thread {
                let data = log.fileHandleForReading.readDataToEndOfFile()
                server.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }.start()
        }
        #expect(server.terminationStatus == 0, "exit \(server.terminationStatus): \(output.suffix(500))")
        #expect(output.contains("database closed"))
        #expect(output.contains("others may enter or change it"), "a directory others may enter is warned about")
        #expect(!output.contains(admin), "a token appeared in the log")
        let store = try SQLiteStore(path: db, options: .server)
        #expect(try await store.integrityCheck() == ["ok"])
    }
}
