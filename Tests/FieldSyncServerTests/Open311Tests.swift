import FieldSyncClient
import FieldSyncCore
import FieldSyncServer
import FieldSyncSQLite
import FieldSyncStore
import FieldSyncTestSupport
import Foundation
import Testing

/// Open311 GeoReport v2 against a real daemon: PyPI's `georeport` reads it in JSON and XML; a
/// citizen's request filed with a key reaches the county's officers' devices and what they do is
/// what the citizen sees; every bad form is refused with GeoReport's errors and nothing stored;
/// nothing personal is served; citizens' text comes back escaped in both formats.
@Suite(.serialized) struct Open311Tests {
    static func start(_ configuration: ServerConfiguration = ServerConfiguration()) async throws -> (TestServer, String)
    {
        let server = try await TestServer.start(configuration: configuration)
        #expect(await CatalogueTests.publish(server, CatalogueTests.file)?.status == 200)
        let key = try await server.service.createOpen311Key(county: "kisumu", name: "app", by: .currentShell).key
        return (server, key)
    }

    static func form(_ fields: [(String, String)]) -> Data {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Data(
            fields.map {
                "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
            }.joined(separator: "&").utf8)
    }

    static func post(
        _ server: TestServer, _ fields: [(String, String)], format: String = "json"
    ) async -> RawHTTP.Reply? {
        await RawHTTP.send(
            port: server.port, "POST", "/open311/v2/requests.\(format)",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form(fields))
    }

    static func get(_ server: TestServer, _ path: String) async throws -> (Int, Any) {
        let reply = await RawHTTP.send(port: server.port, "GET", path)
        let body = reply?.body ?? Data()
        return (
            reply?.status ?? 0, (try? JSONSerialization.jsonObject(with: body)) ?? String(decoding: body, as: UTF8.self)
        )
    }

    static func filed(_ reply: RawHTTP.Reply?) throws -> String {
        let list = try #require(try JSONSerialization.jsonObject(with: reply?.body ?? Data()) as? [[String: Any]])
        return try #require(list.first?["service_request_id"] as? String)
    }

    static let pothole: [(String, String)] = [
        ("service_code", "pothole"), ("lat", "-0.0917"), ("long", "34.768"), ("attribute[depth_cm]", "12"),
        ("description", "Deep hole by the market"), ("first_name", "Akinyi"), ("last_name", "Otieno"),
        ("email", "akinyi@example.org"), ("phone", "+254700000001"),
    ]

    @Test func georeportReadsServicesDefinitionsAndRequestsInJSONAndXML() async throws {
        guard Binaries.pythonModule("georeport") else {
            #expect(
                ProcessInfo.processInfo.environment["CI"] != "true",
                "georeport is not installed (pip install georeport)")
            print("note: georeport is not installed; the third-party Open311 client test is skipped")
            return
        }
        let (server, key) = try await Self.start()
        let id = try Self.filed(await Self.post(server, [("api_key", key)] + Self.pothole))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/open311-check.py")
        let root = server.baseURL.appendingPathComponent("open311/v2").absoluteString
        let (status, out) = try await Binaries.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, root, "pothole", id])
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("ok"))
        await server.stop()
    }

    @Test func aCitizensRequestReachesTheOfficersAndTheirWorkIsWhatTheCitizenSees() async throws {
        let (server, key) = try await Self.start()
        let reply = await Self.post(server, [("api_key", key)] + Self.pothole)
        #expect(reply?.status == 201)
        let id = try Self.filed(reply)
        let officer = try await server.device("tab-o1")
        try await officer.sync()
        let report = try #require(try await officer.store.report(ReportID(rawValue: id)!))
        #expect(report.fields["attributes.depth_cm"] == .int(12) && report.fields["reporter_phone"] == "+254700000001")
        #expect(report.created.device.rawValue == server.service.serverID.rawValue, "signed by the server")
        try await officer.write(
            [.set(field: .status, value: "closed"), .set(field: .statusNotes, value: "Filled on 30 Nov")], to: id)
        try await officer.sync()
        let (status, one) = try await Self.get(server, "/open311/v2/requests/\(id).json")
        let request = try #require((one as? [[String: Any]])?.first)
        #expect(status == 200 && request["status"] as? String == "closed")
        #expect(request["status_notes"] as? String == "Filled on 30 Nov")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: one), as: UTF8.self)
        for personal in ["Akinyi", "Otieno", "akinyi@example.org", "254700000001"] {
            #expect(!text.contains(personal), "\(personal) is personal and never served")
        }
        let (_, updates) = try await Self.get(server, "/open311/v2/servicerequestupdates.json")
        let list = try #require(updates as? [[String: Any]])
        #expect(
            list.map { $0["status"] as? String } == ["closed"]
                && list[0]["description"] as? String == "Filled on 30 Nov")
        let (_, xml) = try await Self.get(server, "/open311/v2/servicerequestupdates.xml")
        #expect((xml as? String)?.contains("<status>closed</status>") == true)
        await server.stop()
    }

    @Test func everyBadFormIsRefusedWithGeoReportErrorsAndNothingStored() async throws {
        var configuration = ServerConfiguration()
        configuration.open311Burst = 100  // refused requests count against a key's rate too
        let (server, key) = try await Self.start(configuration)
        let other = try await server.service.createOpen311Key(county: "nakuru", name: "elsewhere", by: .currentShell)
        let revoked = try await server.service.createOpen311Key(county: "kisumu", name: "old", by: .currentShell)
        try await server.service.revokeOpen311Key(revoked.record.id, by: .currentShell)
        let before = try await server.fingerprint()
        func replace(_ name: String, _ value: String?) -> [(String, String)] {
            var f = Self.pothole.filter { $0.0 != name }
            if let value { f.append((name, value)) }
            return [("api_key", key)] + f
        }
        let cases: [(String, [(String, String)], Int)] = [
            ("no api_key", Self.pothole, 403),
            ("an unknown key", [("api_key", "fs311_nope")] + Self.pothole, 403),
            ("a revoked key", [("api_key", revoked.key)] + Self.pothole, 403),
            ("another county's key", [("api_key", other.key), ("jurisdiction_id", "kisumu")] + Self.pothole, 403),
            ("an unknown service", replace("service_code", "graffiti"), 404),
            ("no service", replace("service_code", nil), 400),
            ("a missing required attribute", replace("attribute[depth_cm]", nil), 400),
            ("a value not a number", replace("attribute[depth_cm]", "deep"), 400),
            ("an unknown attribute", replace("attribute[colour]", "red"), 400),
            ("a description over 4,000 characters", replace("description", String(repeating: "é", count: 4_001)), 400),
            ("control characters", replace("description", "ok\u{1B}[2Jgone"), 400),
            ("no location", replace("lat", nil).filter { $0.0 != "long" }, 400),
            ("a latitude of 91", replace("lat", "91"), 400),
            ("a javascript: media_url", replace("media_url", "javascript:alert(1)"), 400),
        ]
        for (name, fields, status) in cases {
            for format in ["json", "xml"] {
                let reply = await Self.post(server, fields, format: format)
                #expect(reply?.status == status, "\(name) (\(format))")
                let body = String(decoding: reply?.body ?? Data(), as: UTF8.self)
                #expect(
                    format == "json"
                        ? body.hasPrefix("[{\"code\":\(status),")
                        : body.contains("<errors><error><code>\(status)</code>"),
                    "\(name) (\(format)): \(body.prefix(120))")
            }
        }
        let raw = await RawHTTP.send(
            port: server.port, "POST", "/open311/v2/requests.json",
            headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data("api_key=\(key)&service_code=pothole&lat=1&long=1&attribute[depth_cm]=1&description=%FF%FE".utf8)
        )
        #expect(raw?.status == 400, "not UTF-8")
        #expect(try await server.fingerprint() == before, "a refused request stores nothing")
        await server.stop()
    }

    @Test func hostileTextComesBackEscapedInBothFormats() async throws {
        let (server, key) = try await Self.start()
        let hostile = "<script>alert('x')</script> & \"quotes\" ]]> </description><status>closed</status>"
        let id = try Self.filed(
            await Self.post(server, [("api_key", key)] + Self.pothole + [("address_string", hostile)]))
        let xml = String(
            decoding: await RawHTTP.send(port: server.port, "GET", "/open311/v2/requests/\(id).xml")?.body ?? Data(),
            as: UTF8.self)
        #expect(!xml.contains("<script>") && xml.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp;"))
        #expect(xml.components(separatedBy: "<status>").count == 2, "the text cannot add an element")
        let json = String(
            decoding: await RawHTTP.send(port: server.port, "GET", "/open311/v2/requests/\(id).json")?.body ?? Data(),
            as: UTF8.self)
        #expect(!json.contains("<script>") && json.contains("\\u003cscript\\u003e"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(parsed.first?["address"] as? String == hostile, "escaped, not altered")
        await server.stop()
    }

    @Test func jurisdictionsWindowsAndTheRateLimit() async throws {
        var configuration = ServerConfiguration()
        configuration.open311PerMinute = 1
        configuration.open311Burst = 2
        let (server, key) = try await Self.start(configuration)
        #expect(
            try await Self.get(server, "/open311/v2/services.json").0 == 200, "one county: jurisdiction_id optional")
        #expect(try await Self.get(server, "/open311/v2/services.json?jurisdiction_id=nakuru").0 == 404)
        let nakuru = CatalogueTests.file.replacingOccurrences(of: "\"kisumu\"", with: "\"nakuru\"")
        #expect(await CatalogueTests.publish(server, nakuru)?.status == 200)
        #expect(try await Self.get(server, "/open311/v2/services.json").0 == 400, "two counties: name one")
        #expect(try await Self.get(server, "/open311/v2/services.xml?jurisdiction_id=nakuru").0 == 200)
        let tooLong =
            "/open311/v2/requests.json?jurisdiction_id=kisumu&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
        #expect(try await Self.get(server, tooLong).0 == 400, "a window over 90 days")
        #expect(try await Self.get(server, "/open311/v2/requests.json?jurisdiction_id=kisumu&status=pending").0 == 400)
        #expect(try await Self.get(server, "/open311/v2/requests/nope.json?jurisdiction_id=kisumu").0 == 404)
        #expect(try await Self.get(server, "/open311/v2/services/pothole.csv?jurisdiction_id=kisumu").0 == 404)
        var statuses: [Int] = []
        for _ in 0..<3 { statuses.append(await Self.post(server, [("api_key", key)] + Self.pothole)?.status ?? 0) }
        #expect(statuses == [201, 201, 429], "bursts of 2, then one a minute")
        await server.stop()
    }
}
