import Prometheus
import FieldSyncCore
import FieldSyncProtocol
import FieldSyncStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Media over HTTP: tus 1.0 resumable uploads (core, creation, checksum, expiration,
/// termination) at `/v1/uploads`, and county-scoped downloads with `Range` at
/// `/v1/media/{sha256}`. An upload's metadata names the SHA-256 it delivers (`sha256`, hex) and
/// may name its type (`content_type`).
extension HTTPAPI {
    static let tusVersion = "1.0.0"
    static let tusExtensions = "creation,checksum,expiration,termination"

    func addMediaRoutes(to router: Router<FieldSyncRequestContext>) {
        router.on("/v1/uploads", method: .options) { _, _ in
            var headers = self.tusHeaders()
            headers[HTTPField.Name("Tus-Version")!] = Self.tusVersion
            headers[HTTPField.Name("Tus-Extension")!] = Self.tusExtensions
            headers[HTTPField.Name("Tus-Max-Size")!] = "\(self.service.configuration.maxMediaBytes)"
            headers[HTTPField.Name("Tus-Checksum-Algorithm")!] = "sha1,sha256"
            return Response(status: .noContent, headers: headers)
        }
        router.post("/v1/uploads") { request, context in
            try await self.timed {
                let device = try await self.uploader(request, context)
                let (sha, type) = try Self.uploadMetadata(request.headers[HTTPField.Name("Upload-Metadata")!])
                guard let length = request.headers[HTTPField.Name("Upload-Length")!].flatMap({ UInt64($0) }) else {
                    throw FieldSyncError(
                        .invalidRequest,
                        "Upload-Length is required (a whole number of bytes; deferred lengths are not supported)")
                }
                let record = try await self.service.createUpload(
                    sha256: sha, length: length, contentType: type, by: device)
                var headers = self.uploadHeaders(record)
                headers[.location] = "/v1/uploads/\(record.id)"
                return Response(status: .created, headers: headers)
            }
        }
        router.head("/v1/uploads/{id}") { request, context in
            try await self.timed {
                let record = try await self.service.uploadState(
                    try context.parameters.require("id"), by: try await self.uploader(request, context))
                var headers = self.uploadHeaders(record)
                headers[.cacheControl] = "no-store"
                return Response(status: .ok, headers: headers)
            }
        }
        router.patch("/v1/uploads/{id}") { request, context in
            // Not timed: a piece crosses a slow link in its own time, bounded by its size.
            var request = request
            let device = try await self.uploader(request, context)
            guard request.headers[.contentType]?.lowercased() == "application/offset+octet-stream" else {
                throw FieldSyncError(.unsupportedContentType, "a piece is sent as application/offset+octet-stream")
            }
            guard let offset = request.headers[HTTPField.Name("Upload-Offset")!].flatMap({ UInt64($0) }) else {
                throw FieldSyncError(.invalidRequest, "Upload-Offset is required: the offset the piece starts at")
            }
            let checksum = try Self.checksum(request.headers[HTTPField.Name("Upload-Checksum")!])
            let limit = self.service.configuration.maxUploadPieceBytes
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: limit) } catch {
                throw FieldSyncError(.bodyTooLarge, "a piece may have at most \(limit) bytes; send smaller pieces")
            }
            self.service.metrics.bytesIn.increment(by: Int64(body.readableBytes))
            let record = try await self.service.appendUpload(
                try context.parameters.require("id"), at: offset, Data(body.readableBytesView), checksum: checksum,
                by: device)
            return Response(status: .noContent, headers: self.uploadHeaders(record))
        }
        router.delete("/v1/uploads/{id}") { request, context in
            try await self.timed {
                try await self.service.deleteUpload(
                    try context.parameters.require("id"), by: try await self.uploader(request, context))
                return Response(status: .noContent, headers: self.tusHeaders())
            }
        }
        router.get("/v1/media") { request, context in
            try await self.timed {
                let q = try Self.query(request, allowed: ["missing", "county", "limit", "offset"])
                let missing: Bool
                switch q.get("missing") {
                case nil, "false": missing = false
                case "true": missing = true
                default: throw FieldSyncError(.invalidRequest, "missing must be true or false")
                }
                return try self.respond(
                    try await self.service.mediaList(
                        missing: missing, county: try Self.county(q.get("county")),
                        limit: try Self.int(q.get("limit"), "limit") ?? 100,
                        offset: try Self.int(q.get("offset"), "offset") ?? 0,
                        by: try await self.principal(request, context)), to: request)
            }
        }
        router.post("/v1/admin/media/{sha256}/purge") { request, context in
            try await self.timed {
                var request = request
                let caller = try await self.principal(request, context)
                let body = try await self.decode(PurgeRequest.self, from: &request, maxBytes: 4096)
                return try self.respond(
                    try await self.service.purgeMedia(
                        try context.parameters.require("sha256"), reason: body.reason, by: caller,
                        from: context.clientKey), to: request)
            }
        }
        router.get("/v1/media/{sha256}") { request, context in
            try await self.timed {
                let caller = try await self.principal(request, context)
                let info = try await self.service.media(try context.parameters.require("sha256"), by: caller)
                return try self.download(info, request)
            }
        }
    }

    // MARK: Helpers

    /// The device behind an upload request, after the tus version check.
    private func uploader(_ request: Request, _ context: FieldSyncRequestContext) async throws -> DeviceRecord {
        let version = request.headers[HTTPField.Name("Tus-Resumable")!]
        guard version == Self.tusVersion else {
            throw FieldSyncError(
                .unsupportedTusVersion,
                "this server speaks tus \(Self.tusVersion); send Tus-Resumable: \(Self.tusVersion)")
        }
        guard case .device(let device) = try await principal(request, context) else {
            throw FieldSyncError(.forbidden, "only devices upload media")
        }
        return device
    }

    private func tusHeaders() -> HTTPFields {
        [HTTPField.Name("Tus-Resumable")!: Self.tusVersion]
    }

    private func uploadHeaders(_ record: UploadRecord) -> HTTPFields {
        var headers = tusHeaders()
        headers[HTTPField.Name("Upload-Offset")!] = "\(record.offset)"
        headers[HTTPField.Name("Upload-Length")!] = "\(record.length)"
        if record.expiresMillis > record.createdMillis {
            headers[HTTPField.Name("Upload-Expires")!] = Self.httpDate(record.expiresMillis)
        }
        return headers
    }

    /// `sha256` (required, hex) and `content_type` from tus's `key base64,key base64` metadata.
    static func uploadMetadata(_ header: String?) throws(FieldSyncError) -> (String, String?) {
        var values: [String: String] = [:]
        for pair in (header ?? "").split(separator: ",").prefix(32) {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first, key.utf8.count <= 64 else { continue }
            let value =
                parts.count > 1 ? Data(base64Encoded: String(parts[1])).map { String(decoding: $0, as: UTF8.self) } : ""
            values[String(key)] = value.map { String($0.prefix(256)) }
        }
        guard let sha = values["sha256"]?.lowercased(), MediaRef.isValidSHA256(sha) else {
            throw FieldSyncError(
                .invalidRequest, "Upload-Metadata must name the file's sha256 (64 hex characters, base64-encoded)")
        }
        return (sha, values["content_type"] ?? values["filetype"])
    }

    /// `Upload-Checksum: <algorithm> <base64>`.
    static func checksum(_ header: String?) throws(FieldSyncError) -> (algorithm: String, digest: Data)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ")
        guard parts.count == 2, let digest = Data(base64Encoded: String(parts[1])) else {
            throw FieldSyncError(.invalidRequest, "Upload-Checksum is '<algorithm> <base64 digest>'")
        }
        return (String(parts[0]).lowercased(), digest)
    }

    static func httpDate(_ millis: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// The blob's bytes, whole or the one range asked for, streamed in 256 KiB pieces.
    func download(_ info: BlobInfo, _ request: Request) throws -> Response {
        let etag = "\"\(info.sha256)\""
        var headers: HTTPFields = [.eTag: etag, .acceptRanges: "bytes", .contentType: "application/octet-stream"]
        headers[.cacheControl] = "private, max-age=31536000, immutable"
        if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
        var range = 0..<info.size
        var status = HTTPResponse.Status.ok
        if let asked = request.headers[.range] {
            range = try Self.byteRange(asked, size: info.size)
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(info.size)"
        }
        let blobs = service.blobs
        let sha = info.sha256
        let wanted = range
        let body = ResponseBody(contentLength: Int(wanted.count)) { writer in
            var at = wanted.lowerBound
            while at < wanted.upperBound {
                let piece = try await blobs.read(sha, offset: at, length: Int(min(256 * 1024, wanted.upperBound - at)))
                guard !piece.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: piece))
                at += UInt64(piece.count)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `size`.
    static func byteRange(_ header: String, size: UInt64) throws(FieldSyncError) -> Range<UInt64> {
        let refuse = FieldSyncError(
            .rangeNotSatisfiable, "Range must be one of bytes=a-b, a- or -n within \(size) bytes")
        guard header.hasPrefix("bytes="), !header.contains(",") else { throw refuse }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { throw refuse }
        let first = UInt64(spec[0]), last = UInt64(spec[1])
        switch (spec[0].isEmpty, spec[1].isEmpty) {
        case (false, _):
            guard let a = first, a < size, spec[1].isEmpty || last != nil else { throw refuse }
            let end = min(last.map { $0 &+ 1 } ?? size, size)
            guard end > a else { throw refuse }
            return a..<end
        case (true, false):
            guard let n = last, n > 0, size > 0 else { throw refuse }
            return (size - min(n, size))..<size
        default:
            throw refuse
        }
    }
}
