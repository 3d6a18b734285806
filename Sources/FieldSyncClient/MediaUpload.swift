public import FieldSyncCore
import FieldSyncSigning
public import FieldSyncStore
import Foundation

/// Sends the device's waiting media to the server, oldest first, after its changes: tus uploads
/// in pieces sized to the link — small at first, doubling while pieces get through, halving at
/// each cut — resumed from the server's offset (`HEAD`) after any cut or restart, each piece
/// with its SHA-256. A file the server already holds costs one round trip and no body bytes.
public struct MediaUpload: Sendable {
    /// The device's store (the queue lives in its settings).
    public let store: any DeviceStore
    /// The device's media area.
    public let media: DeviceMedia
    /// The link to the server.
    public let transport: any SyncTransport
    /// The device's bearer token.
    public let token: String
    /// The first piece's size; pieces grow to `maxPiece` and shrink to `minPiece`.
    public var firstPiece = 16 * 1024
    /// The largest piece.
    public var maxPiece = 1024 * 1024
    /// The smallest piece.
    public var minPiece = 4 * 1024
    /// How long one piece should take on the link, in seconds: pieces stop growing past what the
    /// last one's rate carries in this time, so a cut on a slow link loses little.
    public var pieceSeconds = 15.0
    /// Failed requests in a row after which the run stops (what is left waits for the next sync).
    public var maxFailuresInARow = 8

    /// An upload between `store`'s device and the server behind `transport`.
    public init(store: any DeviceStore, media: DeviceMedia, transport: any SyncTransport, token: String) {
        self.store = store
        self.media = media
        self.transport = transport
        self.token = token
    }

    /// Where one file has got to.
    public struct Progress: Sendable, Codable, Hashable {
        /// The file.
        public var sha256: String
        /// Bytes the server holds.
        public var sent: UInt64
        /// The file's size.
        public var total: UInt64
        /// Files done and files in this run.
        public var file: Int
        /// Files in this run.
        public var files: Int
    }

    /// What a run did.
    public struct Summary: Sendable, Codable, Hashable {
        /// Files the server now holds that it did not.
        public var uploaded = 0
        /// Files the server already held (no body bytes sent).
        public var alreadyHeld = 0
        /// Body bytes sent (pieces), including those a cut lost.
        public var bytesSent = 0
        /// Requests that got no answer (cuts, timeouts).
        public var cuts = 0
        /// Files still waiting (the change not yet on the server, or the run stopped).
        public var waiting = 0
        /// Files the server refused for good (dropped from the queue), with the reason.
        public var refused: [String] = []
    }

    /// Drains the queue as far as the link allows.
    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws(FieldSyncError) -> Summary {
        var summary = Summary()
        var queue = try await DeviceMedia.queue(store)
        let files = queue.count
        var index = 0
        var failures = 0
        while index < queue.count {
            var entry = queue[index]
            let outcome = try await send(
                &entry, file: files - queue.count + index + 1, files: files,
                failures: &failures, summary: &summary, progress: progress)
            switch outcome {
            case .done, .refused:
                queue.remove(at: index)
                if outcome == .done, entry.untilUploaded { media.remove(entry.sha256) }
            case .later:
                queue[index] = entry
                index += 1
            case .stopped:
                queue[index] = entry
                try await DeviceMedia.saveQueue(queue, to: store)
                summary.waiting = queue.count
                return summary
            }
            try await DeviceMedia.saveQueue(queue, to: store)
        }
        summary.waiting = queue.count
        return summary
    }

    enum Outcome { case done, later, refused, stopped }

    /// One file: create (or find where it got to), then pieces until the server holds it all.
    private func send(
        _ entry: inout DeviceMedia.Entry, file: Int, files: Int, failures: inout Int, summary: inout Summary,
        progress: (@Sendable (Progress) -> Void)?
    ) async throws(FieldSyncError) -> Outcome {
        guard media.holds(entry.sha256) else {
            summary.refused.append("\(entry.sha256.prefix(12))…: the file is no longer on this device")
            return .refused
        }
        var piece = firstPiece
        var offset: UInt64?
        var sentAny = false
        while true {
            if failures >= maxFailuresInARow { return .stopped }
            do {
                if offset == nil {
                    switch try await locate(&entry, summary: &summary) {
                    case .found(let at): offset = at
                    case .outcome(let outcome): return outcome
                    }
                }
                guard let at = offset, at < entry.size else {
                    if sentAny || entry.location != nil { summary.uploaded += 1 }
                    if !sentAny {
                        progress?(
                            Progress(
                                sha256: entry.sha256, sent: entry.size, total: entry.size, file: file, files: files))
                    }
                    return .done
                }
                let bytes = try media.read(entry.sha256, offset: at, length: piece)
                summary.bytesSent += bytes.count
                sentAny = true
                let started = ContinuousClock.now
                offset = try await patch(entry, at: at, bytes)
                failures = 0
                piece = nextPiece(after: piece, sent: bytes.count, in: ContinuousClock.now - started)
                progress?(
                    Progress(sha256: entry.sha256, sent: offset ?? at, total: entry.size, file: file, files: files))
            } catch {
                switch error.code {
                case .timeout, .overloaded, .internalError, .storage, .rateLimited, .uploadConflict, .checksumMismatch:
                    // No answer, or the offset moved under us: shrink, and ask where it got to.
                    if error.code == .timeout { summary.cuts += 1 }
                    failures += 1
                    piece = max(piece / 2, minPiece)
                    offset = nil
                case .notFound, .uploadExpired:
                    entry.location = nil
                    offset = nil
                    failures += 1
                case .mediaMismatch, .bodyTooLarge, .unsupportedContentType, .mediaPurged:
                    summary.refused.append("\(entry.sha256.prefix(12))…: \(error.code.rawValue): \(error.message)")
                    // A purged file (personal data) leaves this device too.
                    if error.code == .mediaPurged { try await media.forget([entry.sha256], in: store) }
                    return .refused
                default:
                    throw error
                }
            }
        }
    }

    /// Doubles the piece while pieces get through, up to `maxPiece` and to what the last piece's
    /// rate carries in `pieceSeconds`.
    func nextPiece(after piece: Int, sent: Int, in elapsed: Duration) -> Int {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var next = min(piece * 2, maxPiece)
        if seconds > 0.05 {
            let carried = Double(sent) / seconds * pieceSeconds
            next = min(next, max(minPiece, Int(carried)))
        }
        return next
    }

    enum Located { case found(UInt64), outcome(Outcome) }

    /// The server's offset for the file: from `HEAD` on a known upload, else a new upload.
    private func locate(
        _ entry: inout DeviceMedia.Entry, summary: inout Summary
    ) async throws(FieldSyncError) -> Located {
        if let location = entry.location {
            let reply = try await exchange("HEAD", location, [:], Data())
            if reply.status == 200, let at = reply.headers["upload-offset"].flatMap(UInt64.init) { return .found(at) }
            if reply.status != 404 && reply.status != 410 { throw Self.error(reply) }
            entry.location = nil
        }
        let metadata =
            "sha256 \(Data(entry.sha256.utf8).base64EncodedString()),content_type \(Data(entry.contentType.utf8).base64EncodedString())"
        let reply = try await exchange(
            "POST", "/v1/uploads", ["Upload-Length": "\(entry.size)", "Upload-Metadata": metadata], Data())
        if reply.status == 403, Self.code(reply) == FieldSyncError.Code.mediaNotReferenced.rawValue {
            return .outcome(.later)  // its change has not reached the server yet
        }
        guard reply.status == 201, let location = reply.headers["location"] else { throw Self.error(reply) }
        let at = reply.headers["upload-offset"].flatMap(UInt64.init) ?? 0
        if at >= entry.size {
            summary.alreadyHeld += 1
            return .found(at)
        }
        entry.location = location
        try await persist(entry)
        return .found(at)
    }

    /// Sends one piece; returns the server's new offset.
    private func patch(
        _ entry: DeviceMedia.Entry, at offset: UInt64, _ bytes: Data
    ) async throws(FieldSyncError) -> UInt64 {
        let reply = try await exchange(
            "PATCH", entry.location ?? "",
            [
                "Content-Type": "application/offset+octet-stream", "Upload-Offset": "\(offset)",
                "Upload-Checksum": "sha256 \(Digest.sha256(bytes).base64EncodedString())",
            ], bytes)
        guard reply.status == 204, let at = reply.headers["upload-offset"].flatMap(UInt64.init) else {
            throw Self.error(reply)
        }
        return at
    }

    /// Keeps an entry's upload location in the queue at once (a restart resumes it).
    private func persist(_ entry: DeviceMedia.Entry) async throws(FieldSyncError) {
        var queue = try await DeviceMedia.queue(store)
        if let i = queue.firstIndex(where: { $0.sha256 == entry.sha256 }) { queue[i] = entry }
        try await DeviceMedia.saveQueue(queue, to: store)
    }

    private func exchange(
        _ method: String, _ path: String, _ headers: [String: String], _ body: Data
    ) async throws(FieldSyncError) -> TransportResponse {
        var all = headers
        all["Tus-Resumable"] = "1.0.0"
        all["Authorization"] = "Bearer \(token)"
        return try await transport.send(TransportRequest(method: method, path: path, headers: all, body: body))
    }

    static func code(_ reply: TransportResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["code"] as? String
    }

    static func error(_ reply: TransportResponse) -> FieldSyncError {
        let code = code(reply).flatMap(FieldSyncError.Code.init(rawValue:))
        let message =
            (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["message"] as? String
            ?? "HTTP \(reply.status)"
        return FieldSyncError(code ?? (reply.status >= 500 ? .internalError : .invalidRequest), message)
    }
}
