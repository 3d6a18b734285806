import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSQLite
import FieldSyncStore
import Foundation
import Testing

@testable import FieldSyncServer
import FieldSyncTestSupport

/// The console's session rules over real HTTP: a token is exchanged for an HttpOnly, SameSite=Strict
/// cookie and never put in an address; a form without the session's CSRF token changes nothing;
/// revoking the token or signing out ends the session; every page forbids inline script and framing.
/// (The pages in a real browser: scripts/console_check.py.)
@Suite(.serialized) struct ConsoleTests {
    static func form(_ pairs: [(String, String)]) -> Data {
        Data(pairs.map { "\($0.0)=\(ConsoleQueryEncoding.encode($0.1))" }.joined(separator: "&").utf8)
    }

    static func signIn(_ server: TestServer, token: String) async -> (cookie: String?, reply: RawHTTP.Reply?) {
        let reply = await RawHTTP.send(
            port: server.port, "POST", "/console/sign-in",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form([("token", token)]))
        let cookie = reply?.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        return (cookie, reply)
    }

    static func csrf(_ html: String) -> String? {
        guard let r = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aTokenBecomesASessionThatSignOutAndRevocationEnd() async throws {
        let server = try await TestServer.start()
        let token = try await server.operatorToken(["kisumu"])
        let anonymous = await RawHTTP.send(port: server.port, "GET", "/console/reports")
        #expect(anonymous?.status == 303 && anonymous?.headers["location"] == "/console/sign-in")
        #expect(await Self.signIn(server, token: "fso_wrong").reply?.status == 401)
        let (cookie, reply) = await Self.signIn(server, token: token)
        let setCookie = reply?.headers["set-cookie"] ?? ""
        #expect(reply?.status == 303 && reply?.headers["location"] == "/console/reports")
        #expect(
            setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict")
                && setCookie.contains("Path=/console"))
        #expect(!setCookie.contains("Secure"), "plain HTTP on loopback")
        let location = reply?.headers["location"] ?? ""
        #expect(location.range(of: token) == nil, "the token is never in an address")
        let cookieHeader = try #require(cookie)
        let page = await RawHTTP.send(port: server.port, "GET", "/console/reports", headers: ["Cookie": cookieHeader])
        #expect(page?.status == 200)
        #expect(page?.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(page?.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(page?.headers["x-frame-options"] == "DENY" && page?.headers["cache-control"] == "no-store")
        let html = String(decoding: page?.body ?? Data(), as: UTF8.self)
        #expect(!html.contains("<script>") && !html.contains(" style="), "no inline script or style")
        let csrf = try #require(Self.csrf(html))
        // A form without the session's token changes nothing.
        for sent in [[("csrf", "forged")], []] {
            let forged = await RawHTTP.send(
                port: server.port, "POST", "/console/sign-out",
                headers: ["Cookie": cookieHeader, "Content-Type": "application/x-www-form-urlencoded"],
                body: Self.form(sent))
            #expect(forged?.status == 403)
        }
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/console/reports", headers: ["Cookie": cookieHeader])?.status
                == 200)
        // Signing out ends the session.
        let out = await RawHTTP.send(
            port: server.port, "POST", "/console/sign-out",
            headers: ["Cookie": cookieHeader, "Content-Type": "application/x-www-form-urlencoded"],
            body: Self.form([("csrf", csrf)]))
        #expect(out?.status == 303 && out?.headers["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/console/reports", headers: ["Cookie": cookieHeader])?.status
                == 303)
        // Revoking the token ends a session too.
        let (second, _) = await Self.signIn(server, token: token)
        let secondCookie = try #require(second)
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/console/reports", headers: ["Cookie": secondCookie])?.status
                == 200)
        let all = try await server.service.operators(by: .currentShell)
        let me = try #require(all.first { $0.role == "operator" })
        _ = try await server.service.revokeOperator(me.operatorID, by: .currentShell)
        #expect(
            await RawHTTP.send(port: server.port, "GET", "/console/reports", headers: ["Cookie": secondCookie])?.status
                == 303)
        #expect(await Self.signIn(server, token: token).reply?.status == 401)
        // Sign-in and sign-out are audited.
        let actions = try await server.service.auditLog(AuditFilter(limit: 100), by: .currentShell).map(\.action)
        #expect(actions.contains(.signIn) && actions.contains(.signOut))
        await server.stop()
    }

    @Test func fieldWorkIsASignedServerChangeWithinTheOperatorsCounties() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-fw")
        _ = try await device.write([.create(county: "kisumu"), .set(field: .status, value: "open")], to: "fw-1")
        try await device.sync()
        let kisumu = try await server.service.authenticate("Bearer \(try await server.operatorToken(["kisumu"]))")
        let siaya = try await server.service.authenticate("Bearer \(try await server.operatorToken(["siaya"]))")
        let change = try await server.service.editReport(
            "fw-1", .init(status: "in_progress", assignee: "Otieno", priority: 2, note: "crew booked"), by: kisumu)
        #expect(change.report.rawValue == "fw-1" && change.ops.count == 4)
        for (edit, by, code) in [
            (SyncService.ReportEdit(priority: 9), kisumu, FieldSyncError.Code.invalidRequest),
            (SyncService.ReportEdit(status: "a\u{1B}[31m"), kisumu, .invalidRequest),
            (SyncService.ReportEdit(), kisumu, .invalidRequest),
            (SyncService.ReportEdit(status: "closed"), siaya, .notFound),
        ] {
            do {
                try await server.service.editReport("fw-1", edit, by: by)
                Issue.record("\(edit) was accepted")
            } catch {
                #expect(error.code == code)
            }
        }
        try await device.sync()
        let seen = try #require(try await device.store.report(ReportID(rawValue: "fw-1")!))
        #expect(seen.fields["status"] == .string("in_progress") && seen.fields["assignee"] == .string("Otieno"))
        #expect(seen.fields["priority"] == .int(2) && seen.notes.map(\.text) == ["crew booked"])
        let audit = try await server.service.auditLog(AuditFilter(limit: 100), by: .currentShell)
        #expect(audit.filter { $0.action == .editReport }.count == 1)
        await server.stop()
    }

    @Test func thePhotoMissingFilterFindsReportsWhoseFileHasNotArrived() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-pm")
        let absent = MediaRef(sha256: String(repeating: "ab", count: 32), contentType: "image/jpeg", size: 10)
        _ = try await device.write([.create(county: "kisumu"), .attachMedia(absent)], to: "pm-1")
        _ = try await device.write([.create(county: "kisumu")], to: "pm-2")
        for i in 0..<5 { _ = try await device.write([.create(county: "kisumu")], to: "pm-x\(i)") }
        try await device.sync()
        var filter = ReportFilter(county: "kisumu", limit: 50)
        filter.mediaMissing = true
        let missing = try await server.service.reports(filter, by: .currentShell).reports.map(\.id.rawValue)
        #expect(missing == ["pm-1"])
        filter.mediaMissing = false
        filter.hasMedia = false
        #expect(try await server.service.reports(filter, by: .currentShell).reports.count == 6)
        // The device's row says a photo waits.
        let devices = try await server.service.devices(county: nil, by: .currentShell)
        #expect(devices.first { $0.deviceID == "tab-pm" }?.mediaWaiting == 1)
        await server.stop()
    }

    @Test func anOperatorOfSeveralCountiesSeesTheFirstUntilChoosingAnother() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-two", county: "siaya")
        _ = try await device.write([.create(county: "siaya")], to: "two-1")
        try await device.sync()
        let token = try await server.operatorToken(["kisumu", "siaya"])
        let cookie = try #require(await Self.signIn(server, token: token).cookie)
        for path in [
            "/console/reports", "/console/conflicts", "/console/export.csv", "/console/devices", "/console/audit",
        ] {
            #expect(
                await RawHTTP.send(port: server.port, "GET", path, headers: ["Cookie": cookie])?.status == 200,
                "\(path)")
        }
        let siaya = await RawHTTP.send(
            port: server.port, "GET", "/console/reports?county=siaya", headers: ["Cookie": cookie])
        let siayaText = String(decoding: siaya?.body ?? Data(), as: UTF8.self)
        #expect(siayaText.contains("two-1"))
        let other = await RawHTTP.send(
            port: server.port, "GET", "/console/reports?county=mombasa", headers: ["Cookie": cookie])
        #expect(other?.status == 403)
        await server.stop()
    }

    @Test func devicesCannotSignInAndThePublicScorecardNeedsNoSession() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("tab-c1")
        #expect(await Self.signIn(server, token: device.token).cookie == nil)
        let card = await RawHTTP.send(port: server.port, "GET", "/console/scorecard?county=kisumu")
        #expect(card?.status == 200)
        let text = String(decoding: card?.body ?? Data(), as: UTF8.self)
        #expect(text.contains("Service scorecard"))
        let css = await RawHTTP.send(port: server.port, "GET", "/console/static/console.css")
        #expect(css?.status == 200 && (css?.headers["content-type"] ?? "").hasPrefix("text/css"))
        #expect(await RawHTTP.send(port: server.port, "GET", "/console/static/other.js")?.status == 404)
        await server.stop()
    }
}

/// Percent-encoding for the test's forms.
enum ConsoleQueryEncoding {
    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }
}
