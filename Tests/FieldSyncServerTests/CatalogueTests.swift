import FieldSyncClient
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncTestSupport
import Foundation
import Testing

/// The service catalogue against a real daemon: admins publish versions (every one kept, a bad
/// one refused with nothing stored), operators and devices read their county's, devices receive
/// it signed with their sync and keep only what the server signed, and reports that do not match
/// it are flagged, never refused.
@Suite(.serialized) struct CatalogueTests {
    static let file = #"""
        {"county": "kisumu", "services": [
          {"service_code": "pothole", "service_name": "Pothole", "description": "A hole in a road", "group": "Roads",
           "keywords": ["road", "hole"],
           "attributes": [
             {"code": "depth_cm", "datatype": "number", "required": true, "order": 1, "description": "How deep?"},
             {"code": "lane", "datatype": "singlevaluelist", "required": false, "order": 2, "description": "Which lane?",
              "values": [{"key": "left", "name": "Left"}, {"key": "right", "name": "Right"}]}],
           "targets": {"acknowledge_hours": 24, "resolve_hours": 240}},
          {"service_code": "water_point", "service_name": "Broken water point", "group": "Water"}]}
        """#

    static func publish(_ server: TestServer, _ body: String, token: String? = nil) async -> RawHTTP.Reply? {
        await RawHTTP.send(
            port: server.port, "POST", "/v1/admin/catalogue",
            headers: ["Authorization": "Bearer \(token ?? server.adminToken)", "Content-Type": "application/json"],
            body: Data(body.utf8))
    }

    static func get(_ server: TestServer, _ path: String, _ token: String) async -> RawHTTP.Reply? {
        await RawHTTP.send(port: server.port, "GET", path, headers: ["Authorization": "Bearer \(token)"])
    }

    @Test func adminsPublishVersionsAndABadCatalogueChangesNothing() async throws {
        let server = try await TestServer.start()
        #expect(await Self.publish(server, Self.file)?.status == 200)
        let second = Self.file.replacingOccurrences(of: "\"Pothole\"", with: "\"Pothole or rut\"")
        let reply = await Self.publish(server, second)
        #expect(reply?.status == 200)
        let published = try JSONDecoder().decode(ServiceCatalogue.self, from: reply?.body ?? Data())
        #expect(published.version == 2)
        let broken = [
            Self.file.replacingOccurrences(of: "\"water_point\"", with: "\"pothole\""),
            Self.file.replacingOccurrences(of: "\"number\"", with: "\"colour\""),
            Self.file.replacingOccurrences(of: "\"singlevaluelist\"", with: "\"string\""),  // values on a string
            Self.file.replacingOccurrences(of: "\"acknowledge_hours\": 24", with: "\"acknowledge_hours\": 0"),
            Self.file.replacingOccurrences(of: "\"Pothole\"", with: "\"\(String(repeating: "x", count: 201))\""),
            Self.file.replacingOccurrences(of: "\"order\": 1", with: "\"order\": 99999999999999999999999"),
            #"{"county": "kisumu", "services": []}"#,
        ]
        for body in broken {
            let refused = await Self.publish(server, body)
            #expect(refused?.status == 400, "\(body.prefix(60))")
        }
        let desk = try await server.operatorToken(["kisumu"])
        #expect(await Self.publish(server, Self.file, token: desk)?.status == 403, "operators do not publish")
        let versions = await Self.get(server, "/v1/catalogue/versions?county=kisumu", desk)
        let list = try JSONDecoder().decode(CatalogueVersionList.self, from: versions?.body ?? Data())
        #expect(list.versions.map(\.version) == [2, 1])
        let first = await Self.get(server, "/v1/catalogue?county=kisumu&version=1", desk)
        let signed = try JSONDecoder().decode(SignedCatalogue.self, from: first?.body ?? Data())
        #expect(signed.catalogue.service("pothole")?.serviceName == "Pothole", "every version is kept")
        let elsewhere = try await server.operatorToken(["nakuru"])
        #expect(await Self.get(server, "/v1/catalogue?county=kisumu", elsewhere)?.status == 403)
        #expect(await Self.get(server, "/v1/catalogue?county=nakuru", elsewhere)?.status == 404)
        await server.stop()
    }

    @Test func devicesReceiveTheSignedCatalogueAndKeepOnlyWhatTheServerSigned() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-c1")
        #expect(try await device.sync().catalogueVersion == nil, "nothing published yet")
        #expect(await Self.publish(server, Self.file)?.status == 200)
        #expect(try await device.sync().catalogueVersion == 1)
        #expect(try await device.sync().catalogueVersion == nil, "sent once")
        let held = try #require(try await DeviceCatalogue.held(device.store))
        #expect(held.service("pothole")?.targets?.resolveHours == 240)
        // A catalogue altered on the way (or signed by anyone else) is not kept.
        var forged = SignedCatalogue(catalogue: held, signature: "")
        forged.catalogue.version = 9
        forged.catalogue.services.removeLast()
        let reply = await Self.get(server, "/v1/catalogue", device.token)
        forged.signature = try JSONDecoder().decode(SignedCatalogue.self, from: reply?.body ?? Data()).signature
        #expect(try await DeviceCatalogue.take(forged, into: device.store) == false)
        #expect(try await DeviceCatalogue.version(device.store) == 1)
        let other = try await server.device("tab-n1", county: "nakuru")
        #expect(try await other.sync().catalogueVersion == nil, "another county's catalogue is not sent")
        await server.stop()
    }

    @Test func reportsThatDoNotMatchTheCatalogueAreFlaggedNotRefused() async throws {
        let server = try await TestServer.start()
        #expect(await Self.publish(server, Self.file)?.status == 200)
        let device = try await server.device("tab-c2")
        try await device.create("r-old", category: "pothole")  // filed without depth_cm
        try await device.create("r-odd", category: "graffiti")
        try await device.create("r-good", category: "pothole")
        try await device.write(
            [.set(field: FieldName(rawValue: "attributes.depth_cm")!, value: .int(12))], to: "r-good")
        #expect(try await device.sync().pushed == 4)
        let desk = try await server.operatorToken(["kisumu"])
        func issues(_ id: String) async throws -> [String]? {
            let reply = await Self.get(server, "/v1/reports/\(id)", desk)
            return try JSONDecoder().decode(ReportDetail.self, from: reply?.body ?? Data()).catalogueIssues
        }
        #expect(try await issues("r-old") == ["required attribute 'depth_cm' is missing"])
        #expect(try await issues("r-odd") == ["service_code 'graffiti' is not in catalogue version 1"])
        #expect(try await issues("r-good") == nil)
        await server.stop()
    }
}
