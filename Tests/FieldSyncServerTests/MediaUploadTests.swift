import FieldSyncCore
import FieldSyncSigning
import FieldSyncTestSupport
import Foundation
import Testing

/// Media over HTTP against a real daemon: tus uploads in pieces with checksums, a file already
/// held completing at once, downloads with ranges and ETags, county scope, and every lie an
/// uploader can tell refused with nothing stored.
@Suite(.serialized) struct MediaUploadTests {
    static func photo(_ n: Int, seed: UInt64) -> Data {
        var rng = SplitMix64(seed: seed)
        return Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    /// A device of `county` whose report attaches `file` (synced, so the server knows the reference).
    static func attach(
        _ file: Data, on server: TestServer, device id: String, county: String = "kisumu"
    )
        async throws -> TestDevice
    {
        let device = try await server.device(id, county: county)
        try await device.create("r-\(id)")
        try await device.write(
            [
                .attachMedia(
                    MediaRef(sha256: Digest.sha256Hex(file), contentType: "image/jpeg", size: UInt64(file.count)))
            ],
            to: "r-\(id)")
        try await device.sync()
        return device
    }

    static func tus(_ token: String, _ more: [String: String] = [:]) -> [String: String] {
        ["Tus-Resumable": "1.0.0", "Authorization": "Bearer \(token)"].merging(more) { $1 }
    }

    static func metadata(_ file: Data) -> String {
        "sha256 \(Data(Digest.sha256Hex(file).utf8).base64EncodedString()),filename \(Data("p.jpg".utf8).base64EncodedString())"
    }

    static func create(_ port: Int, _ token: String, _ file: Data, length: Int? = nil) async throws -> RawHTTP.Reply {
        try #require(
            await RawHTTP.send(
                port: port, "POST", "/v1/uploads",
                headers: tus(token, ["Upload-Length": "\(length ?? file.count)", "Upload-Metadata": metadata(file)])))
    }

    static func patch(
        _ port: Int, _ token: String, _ location: String, offset: Int, _ piece: Data, checksum: String? = nil
    ) async throws -> RawHTTP.Reply {
        var headers = tus(token, ["Upload-Offset": "\(offset)", "Content-Type": "application/offset+octet-stream"])
        if let checksum { headers["Upload-Checksum"] = checksum }
        return try #require(await RawHTTP.send(port: port, "PATCH", location, headers: headers, body: piece))
    }

    @Test func aPhotoUploadedInPiecesArrivesOnceAndDownloadsWithRanges() async throws {
        let server = try await TestServer.start()
        let file = Self.photo(200_000, seed: 1)
        let device = try await Self.attach(file, on: server, device: "cam-1")
        let options = try #require(await RawHTTP.send(port: server.port, "OPTIONS", "/v1/uploads"))
        #expect(options.status == 204 && options.headers["tus-version"] == "1.0.0")
        #expect(options.headers["tus-extension"]?.contains("checksum") == true)
        let created = try await Self.create(server.port, device.token, file)
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        let location = try #require(created.headers["location"])
        #expect(created.headers["upload-offset"] == "0" && created.headers["upload-expires"] != nil)
        var offset = 0
        for size in [1_000, 50_000, 149_000] {
            let piece = file[offset..<offset + size]
            let sum = "sha1 \(Digest.sha1(Data(piece)).base64EncodedString())"
            let reply = try await Self.patch(
                server.port, device.token, location, offset: offset, Data(piece), checksum: sum)
            #expect(reply.status == 204, "\(String(decoding: reply.body, as: UTF8.self))")
            offset += size
            #expect(reply.headers["upload-offset"] == "\(offset)")
        }
        let sha = Digest.sha256Hex(file)
        let desk = try await server.operatorToken(["kisumu"])
        let whole = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/media/\(sha)", headers: ["Authorization": "Bearer \(desk)"]))
        #expect(whole.status == 200 && whole.body == file && whole.headers["etag"] == "\"\(sha)\"")
        let part = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/media/\(sha)",
                headers: ["Authorization": "Bearer \(desk)", "Range": "bytes=100-199"]))
        #expect(part.status == 206 && part.body == file[100..<200])
        #expect(part.headers["content-range"] == "bytes 100-199/200000")
        let tail = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/media/\(sha)",
                headers: ["Authorization": "Bearer \(device.token)", "Range": "bytes=-10"]))
        #expect(tail.status == 206 && tail.body == file.suffix(10))
        let same = try #require(
            await RawHTTP.send(
                port: server.port, "GET", "/v1/media/\(sha)",
                headers: ["Authorization": "Bearer \(desk)", "If-None-Match": "\"\(sha)\""]))
        #expect(same.status == 304 && same.body.isEmpty)
        // A second device attaching the same photo sends nothing: the server holds it.
        let other = try await Self.attach(file, on: server, device: "cam-2")
        let again = try await Self.create(server.port, other.token, file)
        #expect(again.status == 201 && again.headers["upload-offset"] == "\(file.count)")
        let heldAt = try #require(again.headers["location"])
        let head = try #require(
            await RawHTTP.send(port: server.port, "HEAD", heldAt, headers: Self.tus(other.token)))
        #expect(head.status == 200 && head.headers["upload-offset"] == "\(file.count)")
        #expect(head.headers["cache-control"] == "no-store")
        await server.stop()
    }

    @Test func everyLieIsRefusedAndNothingIsStored() async throws {
        let server = try await TestServer.start()
        let file = Self.photo(10_000, seed: 2)
        let sha = Digest.sha256Hex(file)
        let device = try await Self.attach(file, on: server, device: "cam-3")
        let port = server.port
        // A lie about the length, a 2 GiB claim, a hash no report of the county attaches.
        #expect(try await Self.create(port, device.token, file, length: 9_999).status == 400)
        #expect(try await Self.create(port, device.token, file, length: 2 << 30).status == 413)
        let nairobi = try await server.device("cam-4", county: "nairobi")
        let foreign = try await Self.create(port, nairobi.token, file)
        #expect(foreign.status == 403 && String(decoding: foreign.body, as: UTF8.self).contains("media_not_referenced"))
        // No tus version, or another one.
        let noVersion = try #require(
            await RawHTTP.send(
                port: port, "POST", "/v1/uploads",
                headers: [
                    "Authorization": "Bearer \(device.token)", "Upload-Length": "10000",
                    "Upload-Metadata": Self.metadata(file),
                ]))
        #expect(noVersion.status == 412)
        let created = try await Self.create(port, device.token, file)
        let location = try #require(created.headers["location"])
        // A wrong offset, a piece past the end, a bad checksum, the wrong content type.
        #expect(try await Self.patch(port, device.token, location, offset: 5, file.prefix(10)).status == 409)
        #expect(try await Self.patch(port, device.token, location, offset: 0, file + file).status == 400)
        let badSum = try await Self.patch(
            port, device.token, location, offset: 0, file.prefix(100),
            checksum: "sha1 \(Digest.sha1(Data("other".utf8)).base64EncodedString())")
        #expect(badSum.status == 460)
        var wrongType = Self.tus(device.token, ["Upload-Offset": "0", "Content-Type": "application/json"])
        wrongType["Content-Length"] = nil
        #expect(await RawHTTP.send(port: port, "PATCH", location, headers: wrongType, body: file)?.status == 415)
        let head = try #require(await RawHTTP.send(port: port, "HEAD", location, headers: Self.tus(device.token)))
        #expect(head.headers["upload-offset"] == "0", "refused pieces wrote nothing")
        // Someone else's upload is not found; the whole file with other bytes is discarded.
        #expect(await RawHTTP.send(port: port, "HEAD", location, headers: Self.tus(nairobi.token))?.status == 404)
        var forged = file
        forged[5_000] ^= 0xFF
        let last = try await Self.patch(port, device.token, location, offset: 0, forged)
        #expect(last.status == 460 && String(decoding: last.body, as: UTF8.self).contains("media_mismatch"))
        #expect(await RawHTTP.send(port: port, "HEAD", location, headers: Self.tus(device.token))?.status == 404)
        let desk = try await server.operatorToken(["kisumu"])
        let get = await RawHTTP.send(
            port: port, "GET", "/v1/media/\(sha)", headers: ["Authorization": "Bearer \(desk)"])
        #expect(get?.status == 404, "a discarded upload stored nothing")
        await server.stop()
    }

    @Test func openUploadsAreBoundedPerDeviceAndTerminationFreesThem() async throws {
        let server = try await TestServer.start()
        let device = try await server.device("cam-5")
        try await device.create("r-many")
        var files: [Data] = []
        for i in 0..<21 {
            let file = Self.photo(100, seed: 100 + UInt64(i))
            files.append(file)
            try await device.write(
                [.attachMedia(MediaRef(sha256: Digest.sha256Hex(file), contentType: "image/png", size: 100))],
                to: "r-many")
        }
        try await device.sync()
        var locations: [String] = []
        for file in files.prefix(20) {
            let reply = try await Self.create(server.port, device.token, file)
            #expect(reply.status == 201)
            locations.append(reply.headers["location"] ?? "")
        }
        #expect(try await Self.create(server.port, device.token, files[20]).status == 429)
        let deleted = await RawHTTP.send(port: server.port, "DELETE", locations[0], headers: Self.tus(device.token))
        #expect(deleted?.status == 204)
        #expect(try await Self.create(server.port, device.token, files[20]).status == 201)
        await server.stop()
    }

    @Test func operatorsSeeWhatArrivedAndAnAdminCanPurge() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let arrived = Self.photo(3_000, seed: 40)
        let pending = Self.photo(3_000, seed: 41)
        let a = try await Self.attach(arrived, on: server, device: "cam-6")
        let b = try await Self.attach(pending, on: server, device: "cam-7")
        let created = try await Self.create(port, a.token, arrived)
        let location = try #require(created.headers["location"])
        #expect(try await Self.patch(port, a.token, location, offset: 0, arrived).status == 204)
        let desk = try await server.operatorToken(["kisumu"])
        func get(_ path: String, _ token: String) async throws -> [String: Any] {
            let reply = try #require(
                await RawHTTP.send(port: port, "GET", path, headers: ["Authorization": "Bearer \(token)"]))
            #expect(reply.status == 200, "\(path): \(String(decoding: reply.body, as: UTF8.self))")
            return try #require(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])
        }
        func states(_ report: String) async throws -> [String] {
            ((try await get("/v1/reports/\(report)", desk))["media"] as? [[String: Any]] ?? []).compactMap {
                $0["state"] as? String
            }
        }
        #expect(try await states("r-cam-6") == ["arrived"])
        #expect(try await states("r-cam-7") == ["missing"])
        let missing = (try await get("/v1/media?missing=true", desk))["media"] as? [[String: Any]] ?? []
        #expect(missing.compactMap { $0["sha256"] as? String } == [Digest.sha256Hex(pending)])
        #expect(missing.first?["report"] as? String == "r-cam-7")
        let all = (try await get("/v1/media", desk))["media"] as? [[String: Any]] ?? []
        #expect(all.count == 2)
        _ = b
        // Purge: operators may not; an admin may, with a reason; the bytes are gone, the reason shown.
        let sha = Digest.sha256Hex(arrived)
        let body = Data(#"{"reason":"a face in the photo"}"#.utf8)
        let path = "/v1/admin/media/\(sha)/purge"
        let byOperator = await RawHTTP.send(
            port: port, "POST", path, headers: ["Authorization": "Bearer \(desk)", "Content-Type": "application/json"],
            body: body)
        #expect(byOperator?.status == 403)
        let admin = ["Authorization": "Bearer \(server.adminToken)", "Content-Type": "application/json"]
        #expect(await RawHTTP.send(port: port, "POST", path, headers: admin, body: body)?.status == 200)
        let unknown = "/v1/admin/media/\(String(repeating: "e", count: 64))/purge"
        #expect(await RawHTTP.send(port: port, "POST", unknown, headers: admin, body: body)?.status == 404)
        let gone = await RawHTTP.send(
            port: port, "GET", "/v1/media/\(sha)", headers: ["Authorization": "Bearer \(desk)"])
        #expect(gone?.status == 410)
        #expect(try await states("r-cam-6") == ["purged"])
        let again = try await Self.create(port, a.token, arrived)
        #expect(again.status == 410, "a purged file is not uploaded again")
        let audit = (try await get("/v1/audit?action=purge_media", server.adminToken))["entries"] as? [[String: Any]]
        #expect(audit?.first?["detail"] as? String == "a face in the photo")
        await server.stop()
    }
}
