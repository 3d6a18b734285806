import FieldSyncCore
import FieldSyncProtocol
import FieldSyncSigning
import FieldSyncStore
import Foundation

/// What the daemon does, independent of HTTP: enrollment, authentication, sync, operator
/// queries and resolutions, administration. Every method checks the caller's scope.
public struct SyncService: Sendable {
    /// The store holding every log and the directory (SQLite or PostgreSQL).
    public let store: any ServerStore
    /// Limits and policies.
    public let configuration: ServerConfiguration
    /// The metrics.
    public let metrics: ServerMetrics
    /// The server's own signing key (it signs operators' resolutions and revocation lists); nil
    /// when it is kept outside the database and was not given (administration from the shell).
    public let signingKey: DeviceKey?
    /// The server's public key (what devices verify its signatures with).
    public let serverPublicKey: Data
    /// The server's author id.
    public let serverID: DeviceID
    /// The clock, in milliseconds since the epoch.
    public let now: @Sendable () -> UInt64
    /// Failed sign-ins per client address (token guessing).
    public let signIns: SignInLimiter
    /// The database's epoch, read at start: part of every cursor issued.
    public let epoch: String
    /// Devices' syncs, recorded for the IT desk (`GET /v1/admin/devices`).
    public let health = DeviceHealthRecorder()
    /// Operators' sign-ins, recorded in the audit log at most once an hour per address.
    let signInAudit = SignInAudit()

    /// Opens the service on a store: loads or creates the server's signing identity (the
    /// database's key, or `signingKey` kept outside it: `ServerSigningKey`).
    public init(
        store: any ServerStore, configuration: ServerConfiguration = ServerConfiguration(),
        metrics: ServerMetrics = ServerMetrics(),
        signingKey: DeviceKey? = nil, requireSigningKey: Bool = true,
        now: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
    ) async throws(FieldSyncError) {
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.now = now
        signIns = SignInLimiter(
            maxFailures: configuration.maxFailedSignIns, maxGlobalFailures: configuration.maxGlobalFailedSignIns,
            windowSeconds: configuration.signInWindowSeconds)
        (self.signingKey, serverPublicKey) = try await ServerSigningKey.load(
            from: store, external: signingKey, required: requireSigningKey)
        serverID = try DeviceID(validating: configuration.serverDeviceID)
        try await store.setIdentity(serverID)
        epoch = try await store.epoch()
    }

    // MARK: Authentication

    /// The caller named by an `Authorization: Bearer …` header value.
    /// `client` (the caller's address) is limited to a number of failed sign-ins per window.
    /// Tokens are looked up by their SHA-256 hash: the lookup's timing depends on the hash, not on
    /// how much of a token an attacker has guessed right.
    public func authenticate(_ authorization: String?, client: String? = nil) async throws(FieldSyncError) -> Principal
    {
        // Only a presented token is a guess; a request without one is refused without counting.
        guard let client, authorization?.isEmpty == false else { return try await authenticateToken(authorization) }
        let principal: Principal
        do {
            principal = try await authenticateToken(authorization)
        } catch  where error.code == .unauthorized {
            throw failedSignIn(error, client: client)
        }
        if case .operator(let op) = principal, signInAudit.isDue(op.id, address: client, now: now()) {
            try await audit(
                .signIn, by: principal, from: client, county: nil, subject: op.id,
                detail: "\(op.role) token used from \(client)")
        }
        return principal
    }

    private func authenticateToken(_ authorization: String?) async throws(FieldSyncError) -> Principal {
        guard let authorization, authorization.lowercased().hasPrefix("bearer "), authorization.count > 7 else {
            throw FieldSyncError(
                .unauthorized,
                "send 'Authorization: Bearer <token>' with the token you received at enrollment or from an admin")
        }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let hash = Tokens.hash(token)
        if token.hasPrefix("fsd_"), let device = try await store.device(tokenHash: hash) {
            guard device.status == .active else {
                // A lost phone that keeps trying shows on the desk (`admin devices`, last error).
                await health.record(
                    device.id, error: FieldSyncError.Code.deviceRevoked.rawValue, client: nil, service: self)
                throw FieldSyncError.revokedDevice(device.id.rawValue)
            }
            return .device(device)
        }
        // Admin tokens are `fsa_`; admins made before the prefix existed keep their `fso_` token.
        if token.hasPrefix("fsa_") || token.hasPrefix("fso_"), let op = try await store.operatorRecord(tokenHash: hash),
            op.role == .admin || token.hasPrefix("fso_")
        {
            guard !op.revoked else {
                throw FieldSyncError(
                    .unauthorized, "this \(op.role) token has been revoked; ask an admin for a new one")
            }
            guard !op.expired(at: now()) else {
                throw FieldSyncError(
                    .unauthorized,
                    "this \(op.role) token expired at \(op.expiresMillis ?? 0) ms; ask an admin for a new one")
            }
            return .operator(op)
        }
        throw FieldSyncError(.unauthorized, "the bearer token is not valid; check it, or enroll again")
    }

    // MARK: Enrollment

    /// Redeems an enrollment token: registers the device key and issues its bearer token.
    public func register(
        _ request: RegisterRequest, client: String? = nil
    ) async throws(FieldSyncError) -> RegisterResponse {
        guard let client else { return try await redeem(request, from: nil) }
        do {
            return try await redeem(request, from: client)
        } catch  where error.code != .storage && error.code != .internalError {
            throw failedSignIn(error, client: client)
        }
    }

    /// Counts a failed sign-in or registration of `client`: the error to answer, or
    /// `rate_limited` once the address or the whole server is over its budget.
    public func failedSignIn(_ error: FieldSyncError, client: String) -> FieldSyncError {
        let answer = signIns.refuse(error, client: client, now: now())
        metrics.signInFailed(limited: answer.code == .rateLimited)
        return answer
    }

    private func redeem(
        _ request: RegisterRequest, from address: String?
    ) async throws(FieldSyncError) -> RegisterResponse {
        guard let key = Data(base64Encoded: request.publicKey), key.count == 32, ChangeSignature.isValidPublicKey(key)
        else {
            throw FieldSyncError(.invalidRequest, "public_key must be a base64 Ed25519 public key (32 bytes)")
        }
        let token = Tokens.generate(prefix: "fsd")
        let device = try await store.completeEnrollment(
            tokenHash: Tokens.hash(request.enrollmentToken), publicKey: key,
            bearerHash: Tokens.hash(token), nowMillis: now())
        try await audit(
            .register, by: .device(device), from: address, county: device.county, subject: device.id.rawValue,
            detail: "registered its key and received its token")
        return RegisterResponse(
            deviceID: device.id.rawValue, county: device.county, token: token,
            serverDeviceID: serverID.rawValue, serverPublicKey: serverPublicKey.base64EncodedString())
    }

    /// Prepares a device's enrollment (admins only): returns the one-time token.
    public func enroll(
        _ request: EnrollmentRequest, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> EnrollmentResponse {
        try requireAdmin(caller)
        guard Identifier.isValid(request.county) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "county '\(request.county.prefix(64))' is not a valid identifier (1–64 of A–Z a–z 0–9 - _ .)")
        }
        let device = try DeviceID(validating: request.deviceID ?? "dev-\(UUID().uuidString.prefix(8).lowercased())")
        guard device != serverID else {
            throw FieldSyncError(.invalidEnrollment, "device id \(device) is reserved for the server")
        }
        let hours = request.expiresInHours ?? configuration.enrollmentHours
        guard (1...24 * 90).contains(hours) else {
            throw FieldSyncError(.invalidRequest, "expires_in_hours must be between 1 and 2160")
        }
        let token = Tokens.generate(prefix: "fse")
        let expires = now() + UInt64(hours) * 3_600_000
        try await store.createEnrollment(
            tokenHash: Tokens.hash(token), device: device, county: request.county, expiresMillis: expires,
            nowMillis: now())
        try await audit(
            .enroll, by: caller, from: address, county: request.county, subject: device.rawValue,
            detail: "enrollment token issued, valid \(hours) h")
        return EnrollmentResponse(
            enrollmentToken: token, deviceID: device.rawValue, county: request.county, expiresAtMillis: expires)
    }

    /// Creates an operator or admin (admins only, or the shell when `caller` is nil).
    public func createOperator(
        _ request: OperatorRequest, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> OperatorResponse {
        try requireAdmin(caller)
        guard let role = OperatorRole(rawValue: request.role) else {
            throw FieldSyncError(.invalidRequest, "role must be 'operator' or 'admin'")
        }
        guard (1...47).contains(request.counties.count),
            request.counties.allSatisfy({ $0 == "*" || Identifier.isValid($0) })
        else {
            throw FieldSyncError(.invalidRequest, "counties must list 1 to 47 county ids, or '*' for all")
        }
        guard !request.name.isEmpty, request.name.utf8.count <= 128 else {
            throw FieldSyncError(.invalidRequest, "name must have 1 to 128 bytes")
        }
        if let days = request.expiresInDays, !(1...3_650).contains(days) {
            throw FieldSyncError(
                .invalidRequest, "expires_in_days must be between 1 and 3650 (omit it for a token that does not expire)"
            )
        }
        let token = Tokens.generate(prefix: role.tokenPrefix)
        let id = "op-\(UUID().uuidString.prefix(8).lowercased())"
        let expires = request.expiresInDays.map { now() + UInt64($0) * 86_400_000 }
        try await store.createOperator(
            OperatorRecord(
                id: id, name: request.name, role: role, counties: request.counties,
                revoked: false, expiresMillis: expires),
            tokenHash: Tokens.hash(token), nowMillis: now())
        try await audit(
            .createOperator, by: caller, from: address, county: nil, subject: id,
            detail:
                "\(request.role) for \(request.counties.joined(separator: ",")); token issued\(request.expiresInDays.map { ", expires in \($0) days" } ?? "")"
        )
        return OperatorResponse(
            operatorID: id, role: request.role, counties: request.counties, token: token, expiresAtMillis: expires)
    }

    /// Every operator and admin (admins only, or the shell): never their tokens.
    public func operators(by caller: Principal) async throws(FieldSyncError) -> [OperatorInfo] {
        try requireAdmin(caller)
        return try await store.operators().map(Self.info)
    }

    /// Revokes an operator's or admin's token at once (admins only, or the shell). The last
    /// admin who can still sign in is not revoked: create another first.
    public func revokeOperator(
        _ id: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> OperatorInfo {
        try requireAdmin(caller)
        let all = try await store.operators()
        guard let target = all.first(where: { $0.id == id }) else {
            throw FieldSyncError(
                .notFound,
                "no operator '\(id.prefix(64))'; list them with GET /v1/admin/operators or fieldsyncd admin operators")
        }
        let activeAdmins = all.filter { $0.role == .admin && !$0.revoked && !$0.expired(at: now()) }
        if target.role == .admin, !target.revoked, activeAdmins.map(\.id) == [target.id] {
            throw FieldSyncError(
                .forbidden, "\(target.id) is the last admin who can sign in; create another admin before revoking it")
        }
        guard let revoked = try await store.revokeOperator(id, nowMillis: now()) else {
            throw FieldSyncError(.notFound, "no operator '\(id.prefix(64))'")
        }
        try await audit(
            .revokeOperator, by: caller, from: address, county: nil, subject: revoked.id,
            detail: "\(revoked.role) token revoked")
        return Self.info(revoked)
    }

    static func info(_ op: OperatorRecord) -> OperatorInfo {
        OperatorInfo(
            operatorID: op.id, name: op.name, role: op.role.rawValue, counties: op.counties, revoked: op.revoked,
            expiresAtMillis: op.expiresMillis)
    }

    /// Revokes a device (admins only, or the shell).
    public func revoke(
        _ id: String, by caller: Principal, from address: String? = nil
    ) async throws(FieldSyncError) -> DeviceInfo {
        try requireAdmin(caller)
        let device = try DeviceID(validating: id)
        guard try await store.revokeDevice(device, nowMillis: now()), let record = try await store.device(device) else {
            throw FieldSyncError(.notFound, "no device \(device) is enrolled")
        }
        try await audit(
            .revokeDevice, by: caller, from: address, county: record.county, subject: device.rawValue,
            detail: "device revoked")
        return DeviceInfo(deviceID: record.id.rawValue, county: record.county, status: record.status.rawValue)
    }

    /// Lists devices (admins: all; operators: their counties).
    public func devices(
        county: String?, by caller: Principal, silentDays: Int? = nil
    ) async throws(FieldSyncError) -> [DeviceInfo] {
        let op = try requireOperator(caller)
        if let county { try requireCounty(op, county) }
        let health = try await store.deviceHealth()
        let cutoff = silentDays.map { now() &- UInt64(max(0, $0)) * 86_400_000 }
        return try await store.devices(county: county).filter { op.covers($0.county) }.compactMap { d in
            let h = health[d.id]
            // Silent: active, and no successful sync since the cutoff.
            if let cutoff, d.status != .active || (h?.lastSyncMillis ?? 0) >= cutoff { return nil }
            return DeviceInfo(
                deviceID: d.id.rawValue, county: d.county, status: d.status.rawValue, lastSyncMillis: h?.lastSyncMillis,
                lastError: h?.lastError, lastErrorMillis: h?.lastErrorMillis, client: h?.client,
                pending: h?.pending, refused: h?.refused)
        }
    }

    // MARK: Operators

    /// Reports an operator may see, filtered.
    public func reports(_ filter: ReportFilter, by caller: Principal) async throws(FieldSyncError) -> ReportList {
        let op = try requireOperator(caller)
        var filter = filter
        guard (1...500).contains(filter.limit), (0...1_000_000_000).contains(filter.offset) else {
            throw FieldSyncError(.invalidRequest, "limit must be 1–500 and offset 0–1,000,000,000")
        }
        if let county = filter.county {
            try requireCounty(op, county)
            return try await page(filter)
        }
        if op.role == .admin || op.counties.contains("*") { return try await page(filter) }
        guard op.counties.count == 1 else {
            throw FieldSyncError(
                .invalidRequest,
                "you cover several counties (\(op.counties.joined(separator: ", "))); name one with county=")
        }
        filter.county = op.counties[0]
        return try await page(filter)
    }

    private func page(_ filter: ReportFilter) async throws(FieldSyncError) -> ReportList {
        var probe = filter
        probe.limit += 1
        var reports = try await store.reports(probe)
        let more = reports.count > filter.limit
        if more { reports.removeLast() }
        return ReportList(reports: reports, nextOffset: more ? filter.offset + filter.limit : nil)
    }

    /// One report with its history.
    public func report(_ id: String, by caller: Principal) async throws(FieldSyncError) -> ReportDetail {
        let op = try requireOperator(caller)
        let rid = try ReportID(validating: id)
        guard let report = try await store.report(rid), op.covers(report.county) else {
            throw FieldSyncError(.notFound, "no report \(rid) in your counties")
        }
        return ReportDetail(report: report, history: try await store.history(of: rid))
    }

    /// Conflict records an operator may see, filtered.
    public func conflicts(_ filter: ConflictFilter, by caller: Principal) async throws(FieldSyncError) -> ConflictList {
        let op = try requireOperator(caller)
        guard (1...500).contains(filter.limit), (0...1_000_000_000).contains(filter.offset) else {
            throw FieldSyncError(.invalidRequest, "limit must be 1–500 and offset 0–1,000,000,000")
        }
        var filter = filter
        if let county = filter.county {
            try requireCounty(op, county)
        } else if !(op.role == .admin || op.counties.contains("*")) {
            guard op.counties.count == 1 else {
                throw FieldSyncError(
                    .invalidRequest,
                    "you cover several counties (\(op.counties.joined(separator: ", "))); name one with county=")
            }
            filter.county = op.counties[0]
        }
        var probe = filter
        probe.limit += 1
        var list = try await store.conflicts(probe)
        let more = list.count > filter.limit
        if more { list.removeLast() }
        return ConflictList(conflicts: list, nextOffset: more ? filter.offset + filter.limit : nil)
    }

    /// One conflict record: open (`resolver` nil) or resolved by `resolver` (`device:seq`).
    public func conflict(
        report: String, field: String, resolver: String?, by caller: Principal
    ) async throws(FieldSyncError) -> Conflict {
        let op = try requireOperator(caller)
        let rid = try ReportID(validating: report)
        let id = resolver.map { "\(rid.rawValue)/\(field)/\($0)" } ?? "\(rid.rawValue)/\(field)"
        let found = try await store.conflicts(ConflictFilter(report: rid, limit: 1_000)).first { $0.id == id }
        guard let found, op.covers(found.county) else {
            throw FieldSyncError(.notFound, "no conflict \(id) in your counties")
        }
        return found
    }

    /// Resolves an open conflict by keeping a candidate's value or writing a new one. The
    /// resolution is a change authored and signed by the server; it syncs to every device.
    public func resolve(
        report: String, field: String, _ request: ResolveRequest, by caller: Principal,
        from address: String? = nil
    ) async throws(FieldSyncError) -> ResolveResponse {
        let op = try requireOperator(caller)
        let open = try await conflict(report: report, field: field, resolver: nil, by: caller)
        guard op.covers(open.county) else { throw FieldSyncError(.notFound, "no conflict \(open.id) in your counties") }
        let value: FieldValue
        switch (request.choose, request.value) {
        case (let choose?, nil):
            guard let candidate = open.candidates.first(where: { $0.dot.description == choose }) else {
                throw FieldSyncError(
                    .invalidRequest,
                    "'\(choose.prefix(80))' is not a candidate of \(open.id); choose one of \(open.candidates.map(\.dot.description).joined(separator: ", "))"
                )
            }
            value = candidate.value
        case (nil, let v?):
            value = v  // `null` included: the field cleared
        case (nil, nil):
            throw FieldSyncError(
                .invalidRequest,
                "send 'choose' (a candidate as device:seq) or 'value' (a new value, null to clear the field)")
        case (_?, _?):
            throw FieldSyncError(
                .invalidRequest, "send either 'choose' (a candidate as device:seq) or 'value' (a new value), not both")
        }
        let operation: ReportOperation
        if open.field == .lifecycle {
            switch value {
            case Lifecycle.withdrawn: operation = .withdraw(reason: "withdrawal confirmed by operator \(op.id)")
            case Lifecycle.active: operation = .restore
            default: throw FieldSyncError(.invalidRequest, "a lifecycle conflict resolves to 'active' or 'withdrawn'")
            }
        } else {
            operation = .set(field: open.field, value: value)
        }
        let key = try signer()
        // The change names the operator (a note in the report's history, synced to every device).
        let note = ReportOperation.appendNote(text: "conflict on \(open.field) resolved by operator \(op.id)")
        let change = try await store.write(
            [operation, note], to: open.report, county: open.county, wallMillis: now(), signer: { key.sign($0) })
        metrics.changesIngested.increment()
        metrics.conflictsResolved.increment()
        try await audit(
            .resolve, by: caller, from: address, county: open.county, subject: open.id,
            detail: "\(request.choose.map { "kept \($0)" } ?? "wrote a new value") with change \(change.dot)")
        let record = try await store.conflicts(ConflictFilter(report: open.report, limit: 1_000)).first {
            $0.resolution?.dot == change.dot
        }
        return ResolveResponse(change: change, conflict: record)
    }

    /// The refusals quarantine, of the operator's counties (admins: all, or one with `county`).
    public func refusals(_ filter: RefusalFilter, by caller: Principal) async throws(FieldSyncError) -> RefusalList {
        let op = try requireOperator(caller)
        guard (1...500).contains(filter.limit), (0...1_000_000_000).contains(filter.offset) else {
            throw FieldSyncError(.invalidRequest, "limit must be 1–500 and offset 0–1,000,000,000")
        }
        var filter = filter
        if let counties = filter.counties {
            for county in counties { try requireCounty(op, county) }
        } else if !(op.role == .admin || op.counties.contains("*")) {
            filter.counties = op.counties
        }
        var probe = filter
        probe.limit += 1
        var list = try await store.refusals(probe)
        let more = list.count > filter.limit
        if more { list.removeLast() }
        let summary = op.role == .admin ? try await store.refusalSummary() : nil
        return RefusalList(
            refusals: list, nextOffset: more ? filter.offset + filter.limit : nil,
            stored: summary?.stored, dropped: summary?.dropped)
    }

    // MARK: Scope

    /// The signing key, or why this process cannot sign.
    func signer() throws(FieldSyncError) -> DeviceKey {
        guard let signingKey else {
            throw FieldSyncError(
                .internalError,
                "this fieldsyncd was started without the server's signing key (kept outside the database); give it --signing-key-file"
            )
        }
        return signingKey
    }

    func requireOperator(_ caller: Principal) throws(FieldSyncError) -> OperatorRecord {
        guard let op = caller.asOperator else {
            throw FieldSyncError(.forbidden, "this endpoint is for operators; devices sync through /v1/sync")
        }
        return op
    }

    func requireAdmin(_ caller: Principal) throws(FieldSyncError) {
        guard caller.isAdmin else { throw FieldSyncError(.forbidden, "this endpoint is for admins") }
    }

    func requireCounty(_ op: OperatorRecord, _ county: String) throws(FieldSyncError) {
        guard op.covers(county) else {
            throw FieldSyncError(
                .wrongCounty,
                "you may not read county '\(county.prefix(64))'; your counties: \(op.counties.joined(separator: ", "))")
        }
    }
}
