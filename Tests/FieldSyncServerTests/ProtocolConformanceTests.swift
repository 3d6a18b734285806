import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncServer
import FieldSyncSigning
import Foundation
import Testing
import FieldSyncTestSupport

/// The protocol documents are the contract: every route in the OpenAPI document exists and vice
/// versa, and the test vectors replay against a live daemon.
@Suite(.serialized) struct ProtocolConformanceTests {
    static let protocolDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol")

    static func openAPIRoutes() throws -> Set<String> {
        let data = try Data(contentsOf: protocolDir.appendingPathComponent("openapi.json"))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var routes = Set<String>()
        for (path, ops) in paths { for method in ops.keys { routes.insert("\(method.uppercased()) \(path)") } }
        return routes
    }

    @Test func everyDocumentedRouteExistsAndEveryRouteIsDocumented() async throws {
        let documented = try Self.openAPIRoutes()
        #expect(
            documented == Set(HTTPAPI.routes),
            "documented but not served: \(documented.subtracting(HTTPAPI.routes)); served but not documented: \(Set(HTTPAPI.routes).subtracting(documented))"
        )
        // And the live router answers each one (anything but "no such endpoint").
        let server = try await TestServer.start()
        for route in HTTPAPI.routes {
            let parts = route.split(separator: " ")
            let path = parts[1].replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
            let reply = try #require(
                await RawHTTP.send(
                    port: server.port, String(parts[0]), path,
                    headers: ["Authorization": "Bearer \(server.adminToken)"], body: Data("{}".utf8)))
            let error = try? JSONDecoder().decode(ErrorBody.self, from: reply.body)
            #expect(!(error?.message.hasPrefix("no such endpoint") ?? false), "\(route) is not served")
            #expect(reply.status < 500, "\(route) answered \(reply.status)")
        }
        await server.stop()
    }

    @Test func testVectorsReplayAgainstTheDaemon() async throws {
        let server = try await TestServer.start()
        let dir = Self.protocolDir.appendingPathComponent("vectors")
        let fixture = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("fixture.json")))
                as? [String: Any])
        let key = try DeviceKey(rawRepresentation: try #require(Data(base64Encoded: fixture["private_key"] as! String)))
        let enrollment = try await server.service.enroll(
            EnrollmentRequest(county: fixture["county"] as! String, deviceID: fixture["device_id"] as? String),
            by: .currentShell)
        let device = try await server.api().register(
            enrollmentToken: enrollment.enrollmentToken, publicKey: key.publicKey)
        let operatorToken = try await server.operatorToken(fixture["operator_counties"] as! [String])

        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".json") && $0 != "fixture.json"
        }.sorted()
        #expect(files.count >= 10)
        for file in files {
            let vector = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(file)))
                    as? [String: Any])
            let request = vector["request"] as! [String: Any]
            let expected = vector["response"] as! [String: Any]
            var headers = ["Content-Type": "application/json"]
            switch vector["auth"] as? String {
            case "device": headers["Authorization"] = "Bearer \(device.token)"
            case "operator": headers["Authorization"] = "Bearer \(operatorToken)"
            case "admin": headers["Authorization"] = "Bearer \(server.adminToken)"
            default: break
            }
            var body = Data()
            if let text = request["body_text"] as? String { body = Data(text.utf8) }
            if let object = request["body"] { body = try JSONSerialization.data(withJSONObject: object) }
            let reply = try #require(
                await RawHTTP.send(
                    port: server.port, request["method"] as! String, request["path"] as! String, headers: headers,
                    body: body), "\(file): no reply")
            #expect(
                reply.status == expected["status"] as! Int,
                "\(file): status \(reply.status): \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
            let actual = try JSONSerialization.jsonObject(with: reply.body)
            if let mismatch = Self.mismatch(expected: expected["body_includes"] as Any, actual: actual, path: "$") {
                Issue.record("\(file): \(mismatch)")
            }
        }
        await server.stop()
    }

    /// Where `actual` fails to include `expected` (objects: every expected key; arrays: same
    /// length, element by element; scalars: equal), or nil.
    static func mismatch(expected: Any, actual: Any, path: String) -> String? {
        switch (expected, actual) {
        case (let e as [String: Any], let a as [String: Any]):
            for (k, v) in e {
                guard let av = a[k] else { return "\(path).\(k) is missing" }
                if let m = mismatch(expected: v, actual: av, path: "\(path).\(k)") { return m }
            }
            return nil
        case (let e as [Any], let a as [Any]):
            guard e.count == a.count else { return "\(path) has \(a.count) elements, expected \(e.count)" }
            for (i, pair) in zip(e, a).enumerated() {
                if let m = mismatch(expected: pair.0, actual: pair.1, path: "\(path)[\(i)]") { return m }
            }
            return nil
        case (let e as NSObject, let a as NSObject):
            return e.isEqual(a) ? nil : "\(path) is \(a), expected \(e)"
        default:
            return "\(path) has the wrong type"
        }
    }
}
