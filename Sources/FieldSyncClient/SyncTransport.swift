public import FieldSyncCore
import FieldSyncProtocol
public import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange as bytes: what a transport sends.
public struct TransportRequest: Sendable, Hashable, Codable {
    /// `GET` or `POST`.
    public var method: String
    /// The path with query, e.g. `/v1/sync`.
    public var path: String
    /// Request headers.
    public var headers: [String: String]
    /// The body as sent on the wire (compressed if `Content-Encoding` says so).
    public var body: Data

    /// Creates a request.
    public init(method: String, path: String, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// What came back.
public struct TransportResponse: Sendable, Hashable, Codable {
    /// The HTTP status.
    public var status: Int
    /// Response headers (lower-cased names).
    public var headers: [String: String]
    /// The body (decompressed if the HTTP stack already did so).
    public var body: Data
    /// How many body bytes crossed the wire (the compressed size when the body was compressed).
    public var wireBytes: Int

    /// Creates a response.
    public init(status: Int, headers: [String: String], body: Data, wireBytes: Int? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.wireBytes = wireBytes ?? body.count
    }
}

/// The capability of carrying one request to a FieldSync server and bringing back the answer.
/// Link simulation and session recording wrap a transport.
public protocol SyncTransport: Sendable {
    /// Sends a request; throws only when no answer arrived (connection refused, cut, timeout).
    func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse
}

/// HTTP over `URLSession` (Foundation on Linux and Apple platforms alike).
public final class URLSessionTransport: SyncTransport {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    public let baseURL: URL
    private let session: URLSession

    /// Creates a transport to `baseURL`.
    public init(baseURL: URL, timeout: TimeInterval = 60) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpAdditionalHeaders = ["User-Agent": "fieldsync-client/1"]
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    public func send(_ request: TransportRequest) async throws(FieldSyncError) -> TransportResponse {
        guard let url = URL(string: request.path, relativeTo: baseURL) else {
            throw FieldSyncError(.invalidRequest, "bad path \(request.path)")
        }
        var r = URLRequest(url: url)
        r.httpMethod = request.method
        for (k, v) in request.headers { r.setValue(v, forHTTPHeaderField: k) }
        // libcurl (behind URLSession on Linux) otherwise sends "Expect: 100-continue" for larger
        // bodies and waits a second for an interim answer that HTTP/1.1 servers need not send.
        r.setValue("", forHTTPHeaderField: "Expect")
        if !request.body.isEmpty { r.httpBody = request.body }
        do {
            let (data, response) = try await session.data(for: r)
            guard let http = response as? HTTPURLResponse else {
                throw FieldSyncError(.internalError, "the server's answer is not HTTP")
            }
            var headers: [String: String] = [:]
            for (k, v) in http.allHeaderFields {
                if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
            }
            // libcurl behind URLSession on Linux decodes gzip itself and hands over the plain body;
            // the bytes that crossed the wire are then those of the same body compressed again
            // (the server uses the same zlib at the same level).
            var wire = data.count
            if let encoding = try? BodyCompression.from(contentEncoding: headers["content-encoding"]),
                let first = data.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
            {
                wire = encoding.compress(data).count
            }
            return TransportResponse(status: http.statusCode, headers: headers, body: data, wireBytes: wire)
        } catch let error as FieldSyncError {
            throw error
        } catch {
            throw FieldSyncError(
                .timeout,
                "no answer from \(baseURL.absoluteString): \(error.localizedDescription); check the connection and retry (syncing again is always safe)"
            )
        }
    }
}
