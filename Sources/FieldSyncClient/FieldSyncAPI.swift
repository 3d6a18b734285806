public import FieldSyncCore
public import FieldSyncProtocol
public import Foundation

/// Typed calls to a FieldSync server over any transport: JSON bodies, gzip both ways, errors
/// turned back into `FieldSyncError` with the server's code and message.
public struct FieldSyncAPI: Sendable {
    /// The transport.
    public let transport: any SyncTransport
    /// The bearer token, once enrolled.
    public var token: String?
    /// Compress request bodies larger than this (gzip).
    public var compressAboveBytes = 512
    let codec = JSONWireCodec()

    /// Creates a client.
    public init(transport: any SyncTransport, token: String? = nil) {
        self.transport = transport
        self.token = token
    }

    /// Bytes sent and received on the wire by one call.
    public struct Traffic: Sendable, Hashable {
        public var sent = 0
        public var received = 0

        /// No traffic yet.
        public init() {}
    }

    /// Sends a body and decodes the answer.
    public func call<Body: Encodable, Answer: Decodable>(
        _ method: String, _ path: String, body: Body?, as: Answer.Type,
        traffic: inout Traffic
    ) async throws(FieldSyncError) -> Answer {
        var headers = ["Accept": "application/json", "Accept-Encoding": "gzip"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        var data = Data()
        if let body {
            data = try codec.encode(body)
            headers["Content-Type"] = codec.contentType
            if data.count > compressAboveBytes {
                data = BodyCompression.gzip.compress(data)
                headers["Content-Encoding"] = "gzip"
            }
        }
        let response = try await transport.send(
            TransportRequest(method: method, path: path, headers: headers, body: data))
        traffic.sent += data.count
        traffic.received += response.wireBytes
        var payload = response.body
        if let encoding = try? BodyCompression.from(contentEncoding: response.headers["content-encoding"]),
            let first = payload.first, first != UInt8(ascii: "{"), first != UInt8(ascii: "[")
        {
            payload = try encoding.decompress(payload, maxBytes: 256 * 1024 * 1024)
        }
        guard (200..<300).contains(response.status) else {
            if let error = try? codec.decode(ErrorBody.self, from: payload) {
                throw FieldSyncError(FieldSyncError.Code(rawValue: error.code) ?? .internalError, error.message)
            }
            throw FieldSyncError(.internalError, "the server answered HTTP \(response.status) without an error body")
        }
        return try codec.decode(Answer.self, from: payload)
    }

    /// Sends a GET and decodes the answer.
    public func get<Answer: Decodable>(_ path: String, as type: Answer.Type) async throws(FieldSyncError) -> Answer {
        var traffic = Traffic()
        return try await call("GET", path, body: Optional<Empty>.none, as: type, traffic: &traffic)
    }

    /// Sends a POST and decodes the answer.
    public func post<Body: Encodable, Answer: Decodable>(
        _ path: String, _ body: Body, as type: Answer.Type
    ) async throws(FieldSyncError) -> Answer {
        var traffic = Traffic()
        return try await call("POST", path, body: body, as: type, traffic: &traffic)
    }

    /// An empty body.
    public struct Empty: Codable, Sendable {}

    // MARK: Endpoints

    /// Redeems an enrollment token with the device's public key.
    public func register(enrollmentToken: String, publicKey: Data) async throws(FieldSyncError) -> RegisterResponse {
        try await post(
            "/v1/devices/register",
            RegisterRequest(enrollmentToken: enrollmentToken, publicKey: publicKey.base64EncodedString()),
            as: RegisterResponse.self)
    }

    /// One sync round trip.
    public func sync(_ request: SyncRequest, traffic: inout Traffic) async throws(FieldSyncError) -> SyncResponse {
        try await call("POST", "/v1/sync", body: request, as: SyncResponse.self, traffic: &traffic)
    }

    /// Reports (operators).
    public func reports(query: [String: String] = [:]) async throws(FieldSyncError) -> ReportList {
        try await get("/v1/reports" + Self.query(query), as: ReportList.self)
    }

    /// The county's service scorecard (operators).
    public func scorecard(query: [String: String] = [:]) async throws(FieldSyncError) -> ScorecardResponse {
        try await get("/v1/scorecard" + Self.query(query), as: ScorecardResponse.self)
    }

    /// One report with history (operators).
    public func report(_ id: String) async throws(FieldSyncError) -> ReportDetail {
        try await get("/v1/reports/\(Self.escape(id))", as: ReportDetail.self)
    }

    /// Conflicts (operators).
    public func conflicts(query: [String: String] = [:]) async throws(FieldSyncError) -> ConflictList {
        try await get("/v1/conflicts" + Self.query(query), as: ConflictList.self)
    }

    /// The refusals quarantine (operators).
    public func refusals(query: [String: String] = [:]) async throws(FieldSyncError) -> RefusalList {
        try await get("/v1/refusals" + Self.query(query), as: RefusalList.self)
    }

    /// One conflict record (operators): `id` is `report/field` or `report/field/device:seq`.
    public func conflict(_ id: String) async throws(FieldSyncError) -> Conflict {
        try await get(
            "/v1/conflicts/" + id.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/"),
            as: Conflict.self)
    }

    /// Resolves an open conflict `report/field` (operators).
    public func resolve(_ id: String, _ request: ResolveRequest) async throws(FieldSyncError) -> ResolveResponse {
        let path =
            "/v1/conflicts/" + id.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/")
            + "/resolve"
        return try await post(path, request, as: ResolveResponse.self)
    }

    /// Prepares a device enrollment (admins).
    public func enroll(_ request: EnrollmentRequest) async throws(FieldSyncError) -> EnrollmentResponse {
        try await post("/v1/admin/enrollments", request, as: EnrollmentResponse.self)
    }

    /// Creates an operator (admins).
    public func createOperator(_ request: OperatorRequest) async throws(FieldSyncError) -> OperatorResponse {
        try await post("/v1/admin/operators", request, as: OperatorResponse.self)
    }

    /// Revokes a device (admins).
    public func revoke(device: String) async throws(FieldSyncError) -> DeviceInfo {
        try await post("/v1/admin/devices/\(Self.escape(device))/revoke", Empty(), as: DeviceInfo.self)
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? s
    }

    static func query(_ q: [String: String]) -> String {
        guard !q.isEmpty else { return "" }
        return "?"
            + q.sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? $0.value)"
            }.joined(separator: "&")
    }
}
