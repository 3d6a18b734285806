import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncStore
import Foundation
import Testing
import FieldSyncTestSupport

/// Every administrative and operator action leaves an audit entry: who, when, from where, what
/// (issue 14, item 7); operators read only their counties'; a resolution names its operator.
@Suite(.serialized) struct AuditTests {
    struct Entries: Decodable { var entries: [AuditEntry] }

    func audit(_ server: TestServer, token: String, query: String = "") async throws -> [AuditEntry] {
        let reply = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/audit\(query)", headers: ["Authorization": "Bearer \(token)"]))
        #expect(reply.status == 200, "\(String(decoding: reply.body.prefix(300), as: UTF8.self))")
        return try JSONDecoder().decode(Entries.self, from: reply.body).entries
    }

    @Test func actionsAreRecordedWithWhoWhenAndWhere() async throws {
        let server = try await TestServer.start()
        let admin = server.adminToken
        let (a, _) = try await ContractTests().conflicted(server)
        let n = try await server.device("tab-n", county: "nairobi")
        let op = try await server.service.createOperator(
            OperatorRequest(name: "desk", role: "operator", counties: ["kisumu"]), by: .currentShell)
        let resolved = try #require(
            await RawHTTP.send(
                port: server.port, "POST", "/v1/conflicts/r1/status/resolve",
                headers: ["Authorization": "Bearer \(op.token)", "Content-Type": "application/json"],
                body: Data(#"{"value":"closed"}"#.utf8)))
        #expect(resolved.status == 201)
        let revoked = await RawHTTP.send(
            port: server.port, "POST", "/v1/admin/devices/\(n.id)/revoke", headers: ["Authorization": "Bearer \(admin)"]
        )
        #expect(revoked?.status == 200)

        let all = try await audit(server, token: admin)
        let resolve = try #require(all.first { $0.action == .resolve })
        #expect(
            resolve.actor == op.operatorID && resolve.role == "operator" && resolve.address == "127.0.0.1"
                && resolve.county == "kisumu")
        #expect(resolve.subject == "r1/status" && resolve.detail.contains("new value"))
        let revocation = try #require(all.first { $0.action == .revokeDevice })
        #expect(revocation.subject == "tab-n" && revocation.county == "nairobi" && revocation.role == "admin")
        #expect(all.contains { $0.action == .register && $0.actor == a.id.rawValue && $0.address == "127.0.0.1" })
        #expect(all.contains { $0.action == .enroll && $0.role == "shell" && $0.subject == "tab-n" })
        #expect(all.contains { $0.action == .createOperator && $0.subject == op.operatorID })
        #expect(!String(decoding: try JSONEncoder().encode(all), as: UTF8.self).contains("fso_"), "no token in the log")
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.id > $1.id }, "newest first")

        // An operator reads its counties' entries only, and no operator management.
        let mine = try await audit(server, token: op.token)
        #expect(!mine.isEmpty && mine.allSatisfy { $0.county == "kisumu" })
        #expect(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/audit?county=nairobi", headers: ["Authorization": "Bearer \(op.token)"])?
                .status == 403)
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/v1/audit", headers: ["Authorization": "Bearer \(a.token)"])?
                .status == 403)
        #expect(try await audit(server, token: admin, query: "?action=resolve").map(\.action) == [.resolve])

        // Sign-ins: an operator's first request from an address, not every request after it.
        let signIns = try await audit(server, token: admin, query: "?action=sign_in")
        #expect(signIns.filter { $0.actor == op.operatorID }.count == 1 && signIns.contains { $0.role == "admin" })
        #expect(signIns.allSatisfy { $0.address == "127.0.0.1" && !$0.detail.contains("fso_") })

        // The resolution names its operator in the report's history, for every device.
        let report = try #require(try await server.service.store.report(ReportID(rawValue: "r1")!))
        #expect(report.notes.contains { $0.text == "conflict on status resolved by operator \(op.operatorID)" })
        await server.stop()
    }

    @Test func theDatabaseRefusesToChangeTheLog() async throws {
        let server = try await TestServer.start()
        _ = try await server.device("tab-a")
        let path = server.dbPath
        await server.stop(keepingFiles: true)
        defer { try? FileManager.default.removeItem(at: server.dir) }
        for statement in ["DELETE FROM audit", "UPDATE audit SET actor = 'nobody'"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [
                "python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", path,
                statement,
            ]
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus != 0, "\(statement) was allowed")
        }
    }
}
