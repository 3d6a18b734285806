public import FieldSyncCore
public import Foundation
import Synchronization

/// A recorded sync session (QA): who synced, and every exchange with its timing and link
/// events. Stored as JSON Lines — a header line, then one line per exchange — so a recording cut
/// short by a crash is still readable. `protocol/recording.md` documents the format.
public struct Recording: Sendable, Codable, Hashable {
    /// The first line of a recording file.
    public struct Header: Sendable, Codable, Hashable {
        public var format = "fieldsync-recording"
        public var version = 1
        /// The device whose session this is.
        public var deviceID: String
        /// Its county.
        public var county: String
        /// Its public key (base64), so that a fresh server can enroll it for a replay.
        public var publicKey: String
        /// The server recorded against.
        public var server: String
        /// When recording started (ms since epoch).
        public var startedAtMillis: UInt64
        /// The link profile, if one was simulated.
        public var link: String?

        /// Creates a header.
        public init(
            deviceID: String, county: String, publicKey: String, server: String, startedAtMillis: UInt64, link: String?
        ) {
            self.deviceID = deviceID
            self.county = county
            self.publicKey = publicKey
            self.server = server
            self.startedAtMillis = startedAtMillis
            self.link = link
        }
    }

    /// One request and what came of it.
    public struct Exchange: Sendable, Codable, Hashable {
        /// Position in the session, from 1.
        public var index: Int
        /// Milliseconds since the recording started.
        public var atMillis: Double
        /// How long the exchange took (wall clock), milliseconds.
        public var durationMillis: Double
        /// The request, without its Authorization header.
        public var request: TransportRequest
        /// The response, if one arrived.
        public var response: TransportResponse?
        /// The error, if none arrived.
        public var error: String?
        /// What the simulated link did (cuts, losses).
        public var linkEvents: [String]
    }

    public var header: Header
    public var exchanges: [Exchange]

    /// Reads a recording file.
    public static func read(_ path: String) throws(FieldSyncError) -> Recording {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FieldSyncError(.notFound, "cannot read recording '\(path)'")
        }
        return try parse(data, source: path)
    }

    /// Parses the bytes of a recording (JSON Lines: a header, then one exchange per line).
    public static func parse(_ data: Data, source path: String = "recording") throws(FieldSyncError) -> Recording {
        guard let text = String(data: data, encoding: .utf8) else {
            throw FieldSyncError(.malformed, "'\(path)' is not UTF-8 text, so not a FieldSync recording")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let decoder = JSONDecoder()
        guard let first = lines.first, let header = try? decoder.decode(Header.self, from: Data(first.utf8)),
            header.format == "fieldsync-recording"
        else {
            throw FieldSyncError(
                .malformed, "'\(path)' is not a FieldSync recording (its first line must be the header)")
        }
        guard header.version == 1 else {
            throw FieldSyncError(
                .malformed, "recording version \(header.version) is not supported (this build reads version 1)")
        }
        var exchanges: [Exchange] = []
        for (i, line) in lines.dropFirst().enumerated() {
            guard let e = try? decoder.decode(Exchange.self, from: Data(line.utf8)) else {
                throw FieldSyncError(.malformed, "line \(i + 2) of '\(path)' is not a recorded exchange")
            }
            exchanges.append(e)
        }
        return Recording(header: header, exchanges: exchanges)
    }
}

/// A transport that writes every exchange through it to a recording file.
public final class RecordingTransport: SyncTransport {
    let inner: any SyncTransport
    let link: SimulatedLink?
    let handle: FileHandle
    let started = ContinuousClock.now
    private let counter = Mutex(0)

    /// Records exchanges through `inner` into `path` (created or truncated).
    public init(
        _ inner: any SyncTransport, path: String, header: Recording.Header, link: SimulatedLink? = nil
    ) throws(FieldSyncError) {
        self.inner = inner
        self.link = link
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path)
        else {
            throw FieldSyncError(.invalidRequest, "cannot write recording '\(path)'")
        }
        handle = h
        try write(header)
    }

    deinit { try? handle.close() }

    public func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        let index = counter.withLock { n in
            n += 1; return n
        }
        let begin = ContinuousClock.now
        var stored = request
        stored.headers.removeValue(forKey: "Authorization")
        do {
            let response = try await inner.send(request)
            try write(
                Recording.Exchange(
                    index: index, atMillis: Self.millis(begin - started),
                    durationMillis: Self.millis(ContinuousClock.now - begin),
                    request: stored, response: response, error: nil, linkEvents: link?.drainEvents() ?? []))
            return response
        } catch {
            try write(
                Recording.Exchange(
                    index: index, atMillis: Self.millis(begin - started),
                    durationMillis: Self.millis(ContinuousClock.now - begin),
                    request: stored, response: nil, error: "\(error.code.rawValue): \(error.message)",
                    linkEvents: link?.drainEvents() ?? []))
            throw error
        }
    }

    private func write<T: Encodable>(_ value: T) throws(FieldSyncError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            throw FieldSyncError(.internalError, "cannot encode a recording line")
        }
        handle.write(data + Data("\n".utf8))
    }

    static func millis(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
