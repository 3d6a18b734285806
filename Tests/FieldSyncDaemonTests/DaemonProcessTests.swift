import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import FieldSyncSQLite
import Foundation
import Testing
import FieldSyncTestSupport

/// The real `fieldsyncd` binary: bootstrap from the shell, serve, SIGTERM.
@Suite struct DaemonProcessTests {
    @Test func bootstrapServeAndStopCleanlyOnSIGTERM() async throws {
        let binary = try #require(Binaries.binary("fieldsyncd"), "build fieldsyncd first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fieldsyncd-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("county.sqlite").path
        let (status, adminOut) = try await Binaries.run(binary, ["admin", "create-admin", "--db", db])
        #expect(status == 0)
        let admin = adminOut.split(separator: "\n").last.map(String.init) ?? ""  // (stderr notes come first)
        #expect(admin.hasPrefix("fsa_"), "admin tokens have their own prefix")
        let (enrollStatus, enrollOut) = try await Binaries.run(
            binary, ["admin", "enroll", "--db", db, "--county", "kisumu", "--device", "tab-1"])
        #expect(enrollStatus == 0)
        #expect(enrollOut.contains("fse_"))

        let (server, log, bound) = try await Self.serve(binary, db: db, dir: dir, logLevel: "info")
        let api = FieldSyncAPI(
            transport: URLSessionTransport(baseURL: URL(string: "http://127.0.0.1:\(bound)")!), token: admin)
        let reports = try await api.reports()
        #expect(reports.reports.isEmpty)
        let enrollment = try await api.enroll(EnrollmentRequest(county: "nairobi"))
        #expect(enrollment.enrollmentToken.hasPrefix("fse_"))

        server.terminate()  // SIGTERM
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

    /// Starts `fieldsyncd serve` on `db`; returns the process, its output pipe and its port.
    static func serve(
        _ binary: URL, db: String, dir: URL, logLevel: String = "warning"
    ) async throws -> (Process, Pipe, Int) {
        let portFile = dir.appendingPathComponent("port-\(UUID().uuidString)").path
        let server = Process()
        server.executableURL = binary
        server.arguments = ["serve", "--db", db, "--port", "0", "--port-file", portFile, "--log-level", logLevel]
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        try server.run()
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(50))
            if let port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap({
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }) {
                return (server, log, port)
            }
        }
        server.terminate()
        throw FieldSyncError(.timeout, "the daemon did not start")
    }

    @Test func theDatabaseFileIsGuarded() async throws {
        let binary = try #require(Binaries.binary("fieldsyncd"), "build fieldsyncd first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fieldsyncd-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("county.sqlite").path
        // A typo creates nothing: every command but serve and create-admin wants an existing file.
        let typo = dir.appendingPathComponent("cuonty.sqlite").path
        let (missing, missingOut) = try await Binaries.run(binary, ["admin", "devices", "--db", typo])
        #expect(missing != 0 && missingOut.contains("no database at"), "\(missingOut)")
        #expect(!FileManager.default.fileExists(atPath: typo))
        // No --db: the command says which file it uses.
        let (_, defaultOut) = try await Binaries.run(binary, ["admin", "devices"], cwd: dir)
        #expect(defaultOut.contains("fieldsync.sqlite"), "\(defaultOut)")

        #expect(try await Binaries.run(binary, ["admin", "create-admin", "--db", db]).0 == 0)
        let (checked, checkOut) = try await Binaries.run(binary, ["admin", "check", "--db", db])
        #expect(
            checked == 0 && checkOut.contains("database: ok") && checkOut.contains("signing key: ok"), "\(checkOut)")
        let (server, log, _) = try await Self.serve(binary, db: db, dir: dir)
        defer { server.terminate() }
        // A second daemon on the same file refuses, naming the first.
        let (second, secondOut) = try await Binaries.run(binary, ["serve", "--db", db, "--port", "0"])
        #expect(
            second != 0 && secondOut.contains("in use by fieldsyncd serve (pid \(server.processIdentifier)"),
            "\(secondOut)")
        // Directory commands are safe on a live database; verify is refused unless forced.
        let (enroll, enrollOut) = try await Binaries.run(
            binary, ["admin", "enroll", "--db", db, "--county", "kisumu", "--device", "tab-9"])
        #expect(enroll == 0 && enrollOut.contains("fse_"), "\(enrollOut)")
        let (verify, verifyOut) = try await Binaries.run(binary, ["admin", "verify", "--db", db])
        #expect(verify != 0 && verifyOut.contains("stop the daemon first"), "\(verifyOut)")
        server.terminate()
        server.waitUntilExit()
        _ = log.fileHandleForReading.readDataToEndOfFile()
        // Once it has stopped, the file is free again.
        let (after, afterOut) = try await Binaries.run(binary, ["admin", "verify", "--db", db])
        #expect(after == 0, "\(afterOut)")
    }
}
